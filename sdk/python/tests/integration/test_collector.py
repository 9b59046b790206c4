"""End to end against the real collector (single-node configuration).

Writes are asynchronous: a 202 means durable, visible to reads a moment later,
so every read of a fresh write polls (``eventually``).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Tuple, TypeVar

import pytest

from event_client import EventClient, EventClientError, NotFoundError, ValidationError

pytestmark = pytest.mark.integration

POLL_TIMEOUT = float(os.environ.get("EVENTS_POLL_TIMEOUT") or 10)
T = TypeVar("T")

ORIGINAL_README_SNIPPET = """
from event_client import EventClient

client = EventClient("http://localhost:8080")

# Track an event
event_id = client.track_event(
    conversation_id="conv_123",
    event_name="event_a",
    input="What is the weather?",
    output="It's sunny!",
    latency=142.5,
)

# Update it
client.update_event(event_id, error="timeout", latency=5000.0)

# Delete it
client.delete_event(event_id)

# Analytics
errors = client.get_error_counts("event_a", days=7)
sessions = client.get_top_error_sessions(limit=10)
"""


def eventually(check: Callable[[], T], timeout: float = POLL_TIMEOUT) -> T:
    """Call ``check`` until it returns without AssertionError/NotFoundError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, NotFoundError) as exc:
            if time.monotonic() >= deadline:
                raise AssertionError(f"still failing after {timeout:.0f}s: {exc!r}") from exc
        time.sleep(0.1)


def expect_not_found(client: EventClient, event_id: str) -> NotFoundError:
    """The NotFoundError of ``get_event``; AssertionError while the event is visible."""
    try:
        event = client.get_event(event_id)
    except NotFoundError as exc:
        return exc
    raise AssertionError(f"event {event_id} is still visible: {event}")


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def parse_ts(value: str) -> datetime:
    """RFC 3339 (any fraction length, ``Z`` or offset) to an aware datetime."""
    match = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", value)
    assert match, f"not RFC 3339: {value!r}"
    base, fraction, zone = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}.{micros}{zone}")


def now_ms() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def test_original_readme_snippet(base_url: str, client: EventClient) -> None:
    namespace: dict = {}
    exec(ORIGINAL_README_SNIPPET.replace("http://localhost:8080", base_url), namespace)

    event_id = namespace["event_id"]
    assert isinstance(event_id, str) and event_id
    errors = namespace["errors"]
    assert len(errors) == 7
    assert [row["date"] for row in errors] == sorted(row["date"] for row in errors)
    assert errors[-1]["date"] == datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert all(isinstance(row["errors"], int) and row["errors"] >= 0 for row in errors)
    sessions = namespace["sessions"]
    assert isinstance(sessions, list) and len(sessions) <= 10
    for row in sessions:
        assert {"conversation_id", "errors", "total", "error_rate"} <= row.keys()
    # the snippet deleted its event
    eventually(lambda: expect_not_found(client, event_id))
    assert event_id not in [e["id"] for e in client.get_conversation("conv_123")]


def test_track_then_get_event(client: EventClient) -> None:
    conv, when = unique("conv"), now_ms()
    event_id = client.track_event(
        conversation_id=conv,
        event_name="sdk_track",
        input="What is the weather?",
        output="It's sunny!",
        latency=142.5,
        timestamp=when,
        attributes={"model": "gpt-x"},
    )
    event = eventually(lambda: client.get_event(event_id))
    assert event["id"] == event_id
    assert event["conversation_id"] == conv
    assert event["event_name"] == "sdk_track"
    assert event["input"] == "What is the weather?"
    assert event["output"] == "It's sunny!"
    assert event["latency"] == 142.5
    assert event["error"] == ""
    assert event["attributes"] == {"model": "gpt-x"}
    assert parse_ts(event["timestamp"]) == when
    assert isinstance(event["version"], int)


def test_llm_call_fields_cost_and_model_analytics(client: EventClient) -> None:
    conv = unique("conv")
    event_id = client.track_event(
        conv,
        "chat",
        input="Say hello",
        output="Hello!",
        latency=812.0,
        model="gpt-4o-mini-2024-07-18",
        provider="openai",
        operation="chat",
        input_tokens=1000,
        output_tokens=200,
        cache_read_tokens=400,
        time_to_first_token=120.5,
        finish_reason="stop",
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
    )
    event = eventually(lambda: client.get_event(event_id))
    assert event["model"] == "gpt-4o-mini-2024-07-18"
    assert (event["input_tokens"], event["output_tokens"], event["cache_read_tokens"]) == (1000, 200, 400)
    assert event["time_to_first_token"] == 120.5
    assert event["finish_reason"] == "stop" and event["provider"] == "openai"
    # gpt-4o-mini by prefix: 600 input at 0.15, 400 cached at 0.075, 200 output at 0.6 per million.
    assert abs(event["cost"] - (600 * 0.15 + 400 * 0.075 + 200 * 0.6) / 1e6) < 1e-12
    client.update_event(event_id, output_tokens=300)
    updated = eventually(lambda: _with(client.get_event(event_id), lambda e: e["output_tokens"] == 300))
    assert abs(updated["cost"] - (600 * 0.15 + 400 * 0.075 + 300 * 0.6) / 1e6) < 1e-12
    top = client.get_top_cost_conversations(limit=1000)
    assert any(row["conversation_id"] == conv and row["calls"] == 1 for row in top)
    usage = client.get_model_usage(1, model="gpt-4o-mini-2024-07-18")
    assert usage and all(row["model"] == "gpt-4o-mini-2024-07-18" for row in usage)
    assert any(row["model"] == "gpt-4o-mini-2024-07-18" for row in client.get_model_latency())


def _with(value: T, ok: Callable[[T], bool]) -> T:
    if not ok(value):
        raise AssertionError(f"not yet: {value}")
    return value


def test_client_chosen_id_is_used_and_replays_are_idempotent(client: EventClient) -> None:
    conv, event_id = unique("conv"), unique("my-key")
    assert client.track_event(conv, "sdk_idem", input="one", id=event_id) == event_id
    assert client.track_event(conv, "sdk_idem", input="one", id=event_id) == event_id
    marker = client.track_event(conv, "sdk_idem", input="marker")

    def both_visible() -> List[dict]:
        events = client.get_conversation(conv)
        assert marker in [e["id"] for e in events]
        return events

    events = eventually(both_visible)
    assert sorted(e["id"] for e in events) == sorted([event_id, marker])


def test_partial_update_keeps_other_fields(client: EventClient) -> None:
    conv = unique("conv")
    event_id = client.track_event(
        conv, "sdk_update", input="keep in", output="keep out", latency=10.0, attributes={"a": "1"}
    )
    before = eventually(lambda: client.get_event(event_id))
    assert client.update_event(event_id, error="timeout") == event_id

    def updated() -> dict:
        event = client.get_event(event_id)
        assert event["error"] == "timeout"
        return event

    after = eventually(updated)
    for field in (
        "conversation_id",
        "event_name",
        "input",
        "output",
        "latency",
        "attributes",
        "timestamp",
    ):
        assert after[field] == before[field], field
    assert after["version"] > before["version"]


def test_update_before_create_is_applied(client: EventClient) -> None:
    conv, event_id = unique("conv"), unique("early")
    client.update_event(event_id, error="late create")
    client.track_event(conv, "sdk_early", input="x", id=event_id)

    def applied() -> dict:
        event = client.get_event(event_id)
        assert event["error"] == "late create"
        return event

    assert eventually(applied)["input"] == "x"


def test_delete_then_get_event_raises_not_found(client: EventClient) -> None:
    conv = unique("conv")
    event_id = client.track_event(conv, "sdk_delete", latency=5)
    eventually(lambda: client.get_event(event_id))
    assert client.delete_event(event_id) == event_id

    error = eventually(lambda: expect_not_found(client, event_id))
    assert (error.status, error.code) == (404, "not_found")
    assert client.get_conversation(conv) == []


def test_unknown_event_is_not_found(client: EventClient) -> None:
    with pytest.raises(NotFoundError) as info:
        client.get_event(unique("never"))
    assert (info.value.status, info.value.code) == (404, "not_found")


def test_conversation_is_ordered_and_paged(client: EventClient) -> None:
    conv, start = unique("conv"), now_ms() - timedelta(minutes=5)
    order = [3, 0, 4, 1, 2]
    ids = {
        i: client.track_event(
            conv, "sdk_page", input=str(i), timestamp=start + timedelta(seconds=i)
        )
        for i in order
    }

    def complete() -> List[dict]:
        events = client.get_conversation(conv, limit=2)
        assert len(events) == 5
        return events

    events = eventually(complete)
    assert [e["id"] for e in events] == [ids[i] for i in range(5)]
    assert [e["input"] for e in events] == ["0", "1", "2", "3", "4"]
    assert [e["id"] for e in client.get_conversation(conv, limit=2, max_events=3)] == [
        ids[0],
        ids[1],
        ids[2],
    ]


def test_analytics_reflect_tracked_events(client: EventClient) -> None:
    conv, name = unique("conv"), unique("sdk_an")
    for latency, error in ((10.0, "boom"), (20.0, ""), (30.0, "bad")):
        client.track_event(conv, name, latency=latency, error=error)

    def errors_counted() -> list:
        data = client.get_error_counts(name, days=1)
        assert len(data) == 1 and data[0]["errors"] == 2
        return data

    eventually(errors_counted)
    assert [row["errors"] for row in client.get_error_counts(name, days=3)][-1] == 2

    def latency_row() -> dict:
        rows = [
            r
            for r in client.get_latency(limit=1000, event_name=name)
            if r["conversation_id"] == conv
        ]
        assert len(rows) == 1 and rows[0]["count"] == 3
        return rows[0]

    row = eventually(latency_row)
    assert row["event_name"] == name and 10.0 <= row["p95_latency"] <= 30.0

    def session_row() -> dict:
        rows = [
            r
            for r in client.get_top_error_sessions(limit=1000, min_events=3)
            if r["conversation_id"] == conv
        ]
        assert len(rows) == 1
        return rows[0]

    session = eventually(session_row)
    assert (session["errors"], session["total"]) == (2, 3)
    assert session["error_rate"] == pytest.approx(2 / 3)


def test_batching_sender_end_to_end(base_url: str, client: EventClient) -> None:
    conv, start = unique("conv"), now_ms() - timedelta(minutes=1)
    failures: List[Tuple[EventClientError, dict]] = []
    with EventClient(
        base_url,
        api_key=os.environ.get("EVENTS_API_KEY") or None,
        batching=True,
        batch_size=10,
        flush_interval=0.2,
        on_error=lambda err, op: failures.append((err, op)),
    ) as batched:
        ids = [
            batched.track_event(
                conv, "sdk_batch", latency=float(i), timestamp=start + timedelta(milliseconds=i)
            )
            for i in range(25)
        ]
        big = batched.track_event(
            conv,
            "sdk_batch",
            input="x" * 5000,  # a gzipped batch
            timestamp=start + timedelta(seconds=1),
        )
        bad = batched.track_event(conv, "sdk_batch", latency=-1)
        batched.update_event(ids[0], error="boom")
        batched.delete_event(ids[1])
        assert batched.flush(timeout=60)

    assert [(type(e), e.code, op["id"]) for e, op in failures] == [
        (ValidationError, "invalid_field", bad)
    ]
    expected = [ids[0]] + ids[2:] + [big]

    def all_visible() -> List[dict]:
        events = client.get_conversation(conv)
        assert [e["id"] for e in events] == expected
        assert events[0]["error"] == "boom"
        return events

    events = eventually(all_visible)
    assert events[-1]["input"] == "x" * 5000
    assert [e["latency"] for e in events[:-1]] == [0.0] + [float(i) for i in range(2, 25)]


def test_validation_errors_carry_the_server_code(client: EventClient) -> None:
    with pytest.raises(ValidationError) as info:
        client.track_event(unique("conv"), "sdk_bad", latency=-1)
    assert (info.value.status, info.value.code) == (400, "invalid_field")
    assert info.value.message

    with pytest.raises(ValidationError) as info:
        client.track_event(unique("conv"), "")
    assert info.value.code == "missing_field"

    with pytest.raises(ValidationError) as info:
        client.update_event(unique("ev"), no_such_field="x")
    assert info.value.code == "unknown_field"

    with pytest.raises(ValidationError) as info:
        client.update_event(unique("ev"), conversation_id="other")
    assert info.value.code == "immutable_field"

    with pytest.raises(ValidationError) as info:
        client.get_error_counts("sdk_bad", days=0)
    assert info.value.code == "invalid_parameter"


def test_health(client: EventClient) -> None:
    assert client.health()["status"] == "ok"
