"""Retries: which failures, how long between attempts, same request every time."""

from __future__ import annotations

import email.utils
import time

import pytest

from event_client import EventClient, RetryPolicy, ServerUnavailableError, ValidationError
from event_client.retry import parse_retry_after
from stubserver import error_body


def client_for(stub, sleeps, **kwargs):
    kwargs.setdefault("jitter", 0)
    return EventClient(stub.url, retry=RetryPolicy(sleep=sleeps, **kwargs))


def test_503_with_retry_after_then_202_honours_retry_after(stub, sleeps):
    stub.script(
        (503, error_body("unavailable", "memory limiter"), {"Retry-After": "2"}),
        (202, {"id": "ok"}, {}),
    )
    assert client_for(stub, sleeps).track_event("c", "e") == "ok"
    assert sleeps.delays == [2.0]
    assert len(stub.requests) == 2


def test_retries_reuse_the_client_side_id(stub, sleeps):
    stub.script(
        (429, error_body("overloaded", "full"), {"Retry-After": "0"}),
        "drop",
        (503, error_body("unavailable", "down"), {}),
    )
    event_id = client_for(stub, sleeps).track_event("c", "e", input="x")
    bodies = [r.body for r in stub.requests]
    assert len(bodies) == 4
    assert len(set(bodies)) == 1  # byte-identical: same id, same fields
    assert stub.requests[0].json["id"] == event_id


def test_exponential_backoff_without_retry_after(stub, sleeps):
    stub.default = lambda req: (503, error_body("unavailable", "down"), {})
    with pytest.raises(ServerUnavailableError):
        client_for(stub, sleeps, max_retries=5, initial_backoff=0.5, max_backoff=3.0).get_latency()
    assert sleeps.delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert len(stub.requests) == 6


def test_jitter_spreads_delays_within_bounds():
    for rnd, expected in ((0.0, 0.8), (0.5, 1.0), (1.0, 1.2)):
        policy = RetryPolicy(initial_backoff=1.0, jitter=0.2, random=lambda r=rnd: r)
        assert policy.backoff(0) == pytest.approx(expected)
    real = RetryPolicy(initial_backoff=1.0, jitter=0.5)
    delays = {real.backoff(1) for _ in range(50)}
    assert all(1.0 <= d <= 3.0 for d in delays) and len(delays) > 1


def test_retry_after_overrides_backoff():
    policy = RetryPolicy(initial_backoff=10, jitter=0.5)
    assert policy.backoff(3, retry_after=1.5) == 1.5


def test_no_retry_on_400(stub, sleeps):
    stub.script((400, error_body("invalid_field", "latency: must be a number >= 0"), {}))
    with pytest.raises(ValidationError):
        client_for(stub, sleeps).track_event("c", "e", latency=-5)
    assert len(stub.requests) == 1 and sleeps.delays == []


def test_no_retry_on_500(stub, sleeps):
    stub.script((500, error_body("internal", "bug"), {}))
    with pytest.raises(Exception) as info:
        client_for(stub, sleeps).track_event("c", "e")
    assert info.value.status == 500
    assert len(stub.requests) == 1


def test_connection_drop_is_retried(stub, sleeps):
    stub.script("drop", "drop", (202, {"id": "ok"}, {}))
    assert client_for(stub, sleeps).track_event("c", "e") == "ok"
    assert sleeps.delays == [0.5, 1.0]


def test_timeout_is_retried(stub, sleeps):
    def slow(req):
        time.sleep(0.5)
        return 202, {"id": "late"}, {}

    stub.script(slow, (202, {"id": "ok"}, {}))
    client = EventClient(stub.url, timeout=0.1, retry=RetryPolicy(sleep=sleeps, jitter=0))
    started = time.monotonic()
    assert client.track_event("c", "e") == "ok"
    assert time.monotonic() - started < 0.45
    assert len(stub.requests) == 2 and len(sleeps.delays) == 1


def test_max_retries_zero_disables_retries(stub, sleeps):
    stub.script((503, error_body("unavailable", "down"), {"Retry-After": "1"}))
    with pytest.raises(ServerUnavailableError) as info:
        client_for(stub, sleeps, max_retries=0).delete_event("x")
    assert info.value.retry_after == 1.0
    assert len(stub.requests) == 1 and sleeps.delays == []


def test_health_is_not_retried(stub, sleeps):
    stub.script((503, {"status": "error", "clickhouse": "connection refused"}, {}))
    with pytest.raises(ServerUnavailableError):
        client_for(stub, sleeps).health()
    assert len(stub.requests) == 1


def test_reads_are_retried_too(stub, sleeps):
    stub.script(
        (503, error_body("unavailable", "x"), {"Retry-After": "0.25"}),
        (200, {"data": [{"date": "2026-11-24", "errors": 1}]}, {}),
    )
    assert client_for(stub, sleeps).get_error_counts("e", days=1) == [
        {"date": "2026-11-24", "errors": 1}
    ]
    assert sleeps.delays == [0.25]


def test_parse_retry_after():
    now = 1_800_000_000.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-1") == 0.0
    assert parse_retry_after("inf") is None
    assert parse_retry_after("soon") is None
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [{"max_retries": -1}, {"initial_backoff": -1}, {"multiplier": 0.5}, {"jitter": 1.5}],
)
def test_retry_policy_validation(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
