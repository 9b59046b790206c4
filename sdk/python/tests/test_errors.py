"""HTTP errors become typed exceptions carrying the server's code and message."""

from __future__ import annotations

import pickle

import pytest

from event_client import (
    AuthError,
    EventClient,
    EventClientError,
    NotFoundError,
    QueueFullError,
    RetryPolicy,
    ServerUnavailableError,
    ValidationError,
)
from stubserver import error_body


def client_for(stub, sleeps, **kwargs):
    return EventClient(stub.url, retry=RetryPolicy(sleep=sleeps, jitter=0, **kwargs))


@pytest.mark.parametrize(
    "status, code, cls",
    [
        (400, "invalid_field", ValidationError),
        (400, "missing_field", ValidationError),
        (400, "unknown_field", ValidationError),
        (400, "immutable_field", ValidationError),
        (413, "too_large", ValidationError),
        (415, "unsupported_media_type", ValidationError),
        (401, "unauthorized", AuthError),
        (403, "forbidden", AuthError),
        (404, "not_found", NotFoundError),
        (405, "method_not_allowed", EventClientError),
        (500, "internal", EventClientError),
    ],
)
def test_error_status_maps_to_type_and_is_not_retried(stub, sleeps, status, code, cls):
    stub.script((status, error_body(code, "the message"), {}))
    with pytest.raises(EventClientError) as info:
        client_for(stub, sleeps).track_event("c", "e", latency=-1)
    err = info.value
    assert type(err) is cls
    assert (err.status, err.code, err.message) == (status, code, "the message")
    assert str(err) == f"{code}: the message (HTTP {status})"
    assert len(stub.requests) == 1 and sleeps.delays == []


def test_validation_error_carries_server_code_and_message(stub, sleeps):
    stub.script((400, error_body("invalid_field", "latency: must be a number >= 0"), {}))
    with pytest.raises(ValidationError) as info:
        client_for(stub, sleeps).track_event("c", "e", latency=-1)
    assert info.value.code == "invalid_field"
    assert info.value.message == "latency: must be a number >= 0"


def test_exception_hierarchy():
    for cls in (ValidationError, NotFoundError, AuthError, ServerUnavailableError, QueueFullError):
        assert issubclass(cls, EventClientError)
    assert issubclass(EventClientError, Exception)


def test_non_json_error_body_keeps_the_text(stub, sleeps):
    stub.script((500, b"upstream exploded", {}))
    with pytest.raises(EventClientError) as info:
        client_for(stub, sleeps).get_event("x")
    assert info.value.status == 500 and info.value.code is None
    assert info.value.message == "upstream exploded"


def test_empty_error_body_uses_reason(stub, sleeps):
    stub.script((404, b"", {}))
    with pytest.raises(NotFoundError) as info:
        client_for(stub, sleeps).get_event("x")
    assert info.value.message == "Not Found"


def test_invalid_json_in_success_response(stub, sleeps):
    stub.script((200, b"{not json", {}))
    with pytest.raises(EventClientError) as info:
        client_for(stub, sleeps).get_event("x")
    assert info.value.code == "invalid_response"


def test_overloaded_after_retries_is_server_unavailable(stub, sleeps):
    stub.default = lambda req: (429, error_body("overloaded", "queue full"), {"Retry-After": "1"})
    with pytest.raises(ServerUnavailableError) as info:
        client_for(stub, sleeps, max_retries=2).track_event("c", "e")
    err = info.value
    assert (err.status, err.code, err.message, err.retry_after) == (
        429,
        "overloaded",
        "queue full",
        1.0,
    )
    assert len(stub.requests) == 3


def test_connection_refused_is_server_unavailable(closed_port, sleeps):
    client = EventClient(
        f"http://127.0.0.1:{closed_port}", retry=RetryPolicy(max_retries=1, sleep=sleeps)
    )
    with pytest.raises(ServerUnavailableError) as info:
        client.get_latency()
    assert info.value.code == "connection_error" and info.value.status is None
    assert "127.0.0.1" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert len(sleeps.delays) == 1


def test_exceptions_survive_pickling():
    err = ValidationError("bad", status=400, code="invalid_field", retry_after=None)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ValidationError
    assert (copy.message, copy.status, copy.code) == ("bad", 400, "invalid_field")


def test_unexpected_success_shape_is_reported(stub, sleeps):
    stub.script((200, {"rows": []}, {}), (200, [1, 2], {}))
    client = client_for(stub, sleeps)
    with pytest.raises(EventClientError) as info:
        client.get_latency()
    assert info.value.code == "invalid_response"
    with pytest.raises(EventClientError) as info:
        client.get_event("x")
    assert info.value.code == "invalid_response"
