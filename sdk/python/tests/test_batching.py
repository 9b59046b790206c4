"""The background batching sender."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from event_client import (
    EventClient,
    EventClientError,
    QueueFullError,
    RetryPolicy,
    ServerUnavailableError,
    ValidationError,
)
from stubserver import error_body

SDK_DIR = Path(__file__).resolve().parents[1]


class Errors:
    """An ``on_error`` callback that records what it is given."""

    def __init__(self) -> None:
        self.calls = []

    def __call__(self, error, operation):
        self.calls.append((error, operation))


@pytest.fixture
def errors():
    return Errors()


@pytest.fixture
def make_client(stub, sleeps):
    clients = []

    def make(**kwargs):
        kwargs.setdefault("retry", RetryPolicy(sleep=sleeps, jitter=0))
        kwargs.setdefault("flush_interval", 60.0)
        client = EventClient(stub.url, batching=True, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=5)


def batch_ops(req):
    assert (req.method, req.path) == ("POST", "/events/batch")
    assert req.headers["Content-Type"] == "application/json"
    return req.json


def test_flush_by_size(stub, make_client):
    client = make_client(batch_size=3)
    ids = [client.track_event("conv", "e", latency=i) for i in range(7)]
    assert stub.wait_for_requests(2)
    time.sleep(0.2)
    assert len(stub.requests) == 2  # the 7th waits for more, or for the interval
    assert [[op["latency"] for op in batch_ops(r)] for r in stub.requests] == [[0, 1, 2], [3, 4, 5]]
    assert client.flush(timeout=5) is True
    assert [op["id"] for op in batch_ops(stub.requests[2])] == ids[6:]
    assert [op["op"] for r in stub.requests for op in r.json] == ["create"] * 7
    assert [op["id"] for r in stub.requests for op in r.json] == ids


def test_flush_by_interval(stub, make_client):
    client = make_client(batch_size=100, flush_interval=0.3)
    started = time.monotonic()
    client.track_event("conv", "e")
    client.track_event("conv", "e")
    assert stub.wait_for_requests(1, timeout=5)
    waited = stub.requests[0].received_at - started
    assert 0.25 <= waited < 3
    assert len(batch_ops(stub.requests[0])) == 2


def test_track_returns_client_id_and_operations_keep_order(stub, make_client):
    client = make_client()
    event_id = client.track_event(
        "conv", "e", input="hi", attributes={"k": "v"}, timestamp=1795431234567
    )
    assert client.update_event(event_id, error="timeout") == event_id
    assert client.delete_event(event_id) == event_id
    assert stub.requests == []  # nothing sent before a flush
    assert client.flush(timeout=5)
    (req,) = stub.requests
    assert batch_ops(req) == [
        {
            "op": "create",
            "conversation_id": "conv",
            "event_name": "e",
            "id": event_id,
            "input": "hi",
            "attributes": {"k": "v"},
            "timestamp": 1795431234567,
        },
        {"op": "update", "id": event_id, "error": "timeout"},
        {"op": "delete", "id": event_id},
    ]


def test_update_cannot_change_op_or_id(make_client):
    client = make_client()
    with pytest.raises(ValueError):
        client.update_event("x", op="delete")
    with pytest.raises(ValueError):
        client.update_event("x", id="y")


def test_flush_with_nothing_queued_returns_at_once(stub, make_client):
    assert make_client().flush(timeout=1) is True
    assert stub.requests == []


def test_close_drains_queue_and_refuses_later_writes(stub, make_client):
    client = make_client()
    for _ in range(5):
        client.track_event("conv", "e")
    assert client.close(timeout=5) is True
    assert [len(r.json) for r in stub.requests] == [5]
    with pytest.raises(EventClientError) as info:
        client.track_event("conv", "e")
    assert info.value.code == "closed"
    assert client.close() is True  # idempotent


def test_context_manager_closes(stub, sleeps):
    with EventClient(
        stub.url, batching=True, flush_interval=60, retry=RetryPolicy(sleep=sleeps)
    ) as client:
        client.track_event("conv", "e")
        assert stub.requests == []
    assert len(stub.requests) == 1
    with pytest.raises(EventClientError):
        client.delete_event("x")


def test_rejected_items_are_reported_not_retried(stub, make_client, errors, sleeps):
    def partial(req):
        ops = req.json
        return (
            202,
            {
                "accepted": 2,
                "rejected": 1,
                "results": [
                    {"index": 0, "status": 202, "id": ops[0]["id"]},
                    {
                        "index": 1,
                        "status": 400,
                        "error": {
                            "code": "invalid_field",
                            "message": "latency: must be a number >= 0",
                        },
                    },
                    {"index": 2, "status": 202, "id": ops[2]["id"]},
                ],
            },
            {},
        )

    stub.script(partial)
    client = make_client(on_error=errors)
    client.track_event("conv", "e", latency=1)
    bad_id = client.track_event("conv", "e", latency=-1)
    client.track_event("conv", "e", latency=2)
    assert client.flush(timeout=5)
    time.sleep(0.1)
    assert len(stub.requests) == 1 and sleeps.delays == []
    ((error, operation),) = errors.calls
    assert isinstance(error, ValidationError)
    assert (error.status, error.code, error.message) == (
        400,
        "invalid_field",
        "latency: must be a number >= 0",
    )
    assert operation["id"] == bad_id and operation["latency"] == -1 and operation["op"] == "create"


def test_batch_refused_whole_with_400_reports_every_item(stub, make_client, errors):
    stub.script(
        (
            400,
            {
                "accepted": 0,
                "rejected": 2,
                "results": [
                    {
                        "index": 0,
                        "status": 400,
                        "error": {"code": "missing_field", "message": "event_name: required"},
                    },
                    {
                        "index": 1,
                        "status": 400,
                        "error": {"code": "missing_field", "message": "event_name: required"},
                    },
                ],
            },
            {},
        )
    )
    client = make_client(on_error=errors)
    client.track_event("conv", "")
    client.track_event("conv", "")
    assert client.flush(timeout=5)
    assert [(e.code, op["event_name"]) for e, op in errors.calls] == [("missing_field", "")] * 2
    assert len(stub.requests) == 1


def test_batch_level_error_without_results_reports_every_item(stub, make_client, errors):
    stub.script((415, error_body("unsupported_media_type", "nope"), {}))
    client = make_client(on_error=errors)
    client.track_event("conv", "e")
    client.delete_event("x")
    assert client.flush(timeout=5)
    assert [(type(e), e.code, op["op"]) for e, op in errors.calls] == [
        (ValidationError, "unsupported_media_type", "create"),
        (ValidationError, "unsupported_media_type", "delete"),
    ]


def test_503_retries_the_whole_batch_with_the_same_ids(stub, make_client, errors, sleeps):
    stub.script(
        (503, error_body("unavailable", "exporter down"), {"Retry-After": "3"}),
        (429, error_body("overloaded", "queue full"), {}),
        "drop",
    )
    client = make_client(on_error=errors)
    ids = [client.track_event("conv", "e") for _ in range(4)]
    assert client.flush(timeout=5)
    assert len(stub.requests) == 4
    assert len({r.body for r in stub.requests}) == 1
    assert [op["id"] for op in stub.requests[-1].json] == ids
    assert sleeps.delays == [3.0, 1.0, 2.0]
    assert errors.calls == []


def test_exhausted_retries_report_every_item(stub, make_client, errors):
    stub.default = lambda req: (503, error_body("unavailable", "down"), {})
    client = make_client(on_error=errors, retry=RetryPolicy(max_retries=2, sleep=lambda s: None))
    ids = [client.track_event("conv", "e") for _ in range(3)]
    assert client.flush(timeout=5)
    assert len(stub.requests) == 3
    assert [op["id"] for _, op in errors.calls] == ids
    assert all(
        isinstance(e, ServerUnavailableError) and e.code == "unavailable" for e, _ in errors.calls
    )


def test_failures_are_logged_without_on_error(stub, make_client, caplog):
    stub.script((400, error_body("invalid_json", "bad"), {}))
    client = make_client()
    event_id = client.track_event("conv", "e")
    with caplog.at_level(logging.WARNING, logger="event_client"):
        assert client.flush(timeout=5)
    assert any(
        event_id in r.getMessage() and "invalid_json" in r.getMessage() for r in caplog.records
    )


def test_a_raising_on_error_does_not_stop_the_sender(stub, make_client, caplog):
    def explode(error, operation):
        raise RuntimeError("callback bug")

    stub.script((400, error_body("invalid_json", "bad"), {}))
    client = make_client(on_error=explode)
    client.track_event("conv", "e")
    with caplog.at_level(logging.ERROR, logger="event_client"):
        assert client.flush(timeout=5)
    client.track_event("conv", "e")
    assert client.flush(timeout=5)
    assert len(stub.requests) == 2
    assert any("on_error" in r.getMessage() for r in caplog.records)


def test_413_splits_the_batch(stub, make_client, errors):
    def limit_two(req):
        if len(req.json) > 2:
            return 413, error_body("too_large", "batch exceeds max_batch_items"), {}
        return stub.builtin_reply(req)

    stub.default = limit_two
    client = make_client(on_error=errors)
    ids = [client.track_event("conv", "e") for _ in range(5)]
    assert client.flush(timeout=5)
    accepted = [op["id"] for r in stub.requests if len(r.json) <= 2 for op in r.json]
    assert accepted == ids and errors.calls == []


def test_large_batches_are_gzipped(stub, make_client):
    client = make_client()
    client.track_event("conv", "e", input="x" * 2000)
    assert client.flush(timeout=5)
    client.track_event("conv", "e", input="small")
    assert client.flush(timeout=5)
    big, small = stub.requests
    assert big.headers.get("Content-Encoding") == "gzip" and len(big.raw_body) < len(big.body)
    assert big.json[0]["input"] == "x" * 2000
    assert "Content-Encoding" not in small.headers and small.json[0]["input"] == "small"


def test_compression_can_be_disabled(stub, make_client):
    client = make_client(compress=False)
    client.track_event("conv", "e", input="x" * 2000)
    assert client.flush(timeout=5)
    assert "Content-Encoding" not in stub.requests[0].headers


def test_full_queue_blocks_then_raises_or_proceeds(stub, make_client):
    gate = threading.Event()

    def held(req):
        gate.wait(10)
        return stub.builtin_reply(req)

    stub.default = held
    client = make_client(batch_size=10, flush_interval=0, max_queue_size=2, enqueue_timeout=0.5)
    client.track_event("conv", "e", input="1")  # taken by the worker, held in flight
    assert stub.wait_for_requests(1)
    client.track_event("conv", "e", input="2")
    client.track_event("conv", "e", input="3")  # the queue is now full

    started = time.monotonic()
    with pytest.raises(QueueFullError) as info:
        client.track_event("conv", "e", input="dropped")
    assert 0.45 <= time.monotonic() - started < 3
    assert info.value.code == "queue_full"

    outcome = {}

    def blocked_producer():
        try:
            client.track_event("conv", "e", input="4")
            outcome["ok"] = True
        except Exception as exc:  # pragma: no cover - reported below
            outcome["error"] = exc

    producer = threading.Thread(target=blocked_producer)
    producer.start()
    time.sleep(0.1)
    assert producer.is_alive()  # blocked: no room yet
    gate.set()  # the in-flight batch completes, the worker takes 2 and 3
    producer.join(5)
    assert outcome == {"ok": True}
    assert client.flush(timeout=5)
    sent = [op["input"] for r in stub.requests for op in r.json]
    assert sent == ["1", "2", "3", "4"]


def test_full_queue_with_zero_enqueue_timeout_raises_at_once(stub, make_client):
    gate = threading.Event()
    stub.default = lambda req: (gate.wait(10), stub.builtin_reply(req))[1]
    client = make_client(flush_interval=0, max_queue_size=1, enqueue_timeout=0)
    client.track_event("conv", "e", input="in flight")
    assert stub.wait_for_requests(1)
    client.track_event("conv", "e", input="queued")
    started = time.monotonic()
    with pytest.raises(QueueFullError):
        client.track_event("conv", "e", input="refused")
    assert time.monotonic() - started < 0.2
    gate.set()
    assert client.flush(timeout=5)
    assert [op["input"] for r in stub.requests for op in r.json] == ["in flight", "queued"]


def test_flush_times_out_while_the_server_holds_the_batch(stub, make_client):
    gate = threading.Event()
    stub.default = lambda req: (gate.wait(10), stub.builtin_reply(req))[1]
    client = make_client()
    client.track_event("conv", "e")
    assert client.flush(timeout=0.2) is False
    gate.set()
    assert client.flush(timeout=5) is True


def test_flush_from_on_error_is_refused(stub, make_client):
    seen = []

    def callback(error, operation):
        try:
            client.flush()
        except RuntimeError as exc:
            seen.append(exc)

    stub.script((400, error_body("invalid_json", "bad"), {}))
    client = make_client(on_error=callback)
    client.track_event("conv", "e")
    assert client.flush(timeout=5)
    assert len(seen) == 1


def _run_script(code: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(SDK_DIR) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_queue_is_flushed_at_interpreter_exit(stub):
    proc = _run_script(f"""
        from event_client import EventClient
        client = EventClient({stub.url!r}, batching=True, flush_interval=3600)
        for i in range(3):
            client.track_event("conv_exit", "e", latency=i)
        print("queued")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "queued"
    assert stub.wait_for_requests(1)
    (req,) = stub.requests
    assert [(op["conversation_id"], op["latency"]) for op in req.json] == [
        ("conv_exit", 0),
        ("conv_exit", 1),
        ("conv_exit", 2),
    ]


def test_exit_is_bounded_when_the_server_never_accepts(stub):
    stub.default = lambda req: (503, error_body("unavailable", "down"), {})
    started = time.monotonic()
    proc = _run_script(f"""
        from event_client import EventClient, RetryPolicy
        client = EventClient({stub.url!r}, batching=True, flush_interval=3600,
                             shutdown_timeout=0.5,
                             retry=RetryPolicy(max_retries=10**6, initial_backoff=0.05,
                                               max_backoff=0.05))
        client.track_event("conv_exit", "e")
    """)
    assert time.monotonic() - started < 20
    assert proc.returncode == 0, proc.stderr
    assert "not yet sent" in proc.stderr
    assert len(stub.requests) >= 2  # it did retry until the deadline


def test_pending_counts_unsent_operations(stub, make_client):
    client = make_client()
    sender = client._sender
    client.track_event("conv", "e")
    client.track_event("conv", "e")
    assert sender.pending == 2
    assert client.flush(timeout=5)
    assert sender.pending == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"batch_size": 0}, {"max_queue_size": 0}, {"flush_interval": -1}, {"enqueue_timeout": -1}],
)
def test_invalid_batching_options(stub, kwargs):
    with pytest.raises(ValueError):
        EventClient(stub.url, batching=True, **kwargs)


def test_unencodable_operation_raises_at_the_call(make_client, stub):
    client = make_client()
    with pytest.raises(TypeError):
        client.track_event("conv", "e", attributes={"when": object()})
    with pytest.raises(ValueError):
        client.track_event("conv", "e", latency=float("nan"))
    assert client.flush(timeout=5) and stub.requests == []
