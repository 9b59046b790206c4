"""The synchronous API against the stub server: requests sent, answers returned."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from event_client import EventClient, NotFoundError, RetryPolicy, new_event_id

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


def test_original_readme_snippet_runs_unchanged(stub):
    days = [{"date": f"2026-11-{d}", "errors": 0} for d in range(18, 25)]
    sessions_data = [{"conversation_id": "conv_123", "errors": 1, "total": 1, "error_rate": 1.0}]

    def analytics(req):
        if req.path == "/analytics/errors":
            return 200, {"event_name": "event_a", "days": 7, "data": days}, {}
        if req.path == "/analytics/sessions/top-errors":
            return 200, {"data": sessions_data}, {}
        return stub.builtin_reply(req)

    stub.default = analytics
    namespace: dict = {}
    exec(ORIGINAL_README_SNIPPET.replace("http://localhost:8080", stub.url), namespace)

    create, update, delete, errors_req, sessions_req = stub.requests
    assert (create.method, create.path) == ("POST", "/event/")
    assert create.json == {
        "id": namespace["event_id"],
        "conversation_id": "conv_123",
        "event_name": "event_a",
        "input": "What is the weather?",
        "output": "It's sunny!",
        "latency": 142.5,
    }
    assert (update.method, update.path) == ("PUT", f"/event/{namespace['event_id']}")
    assert update.json == {"error": "timeout", "latency": 5000.0}
    assert (delete.method, delete.path, delete.body) == (
        "DELETE",
        f"/event/{namespace['event_id']}",
        b"",
    )
    assert errors_req.query == {"event_name": ["event_a"], "days": ["7"]}
    assert sessions_req.query == {"limit": ["10"]}
    assert namespace["errors"] == days
    assert namespace["sessions"] == sessions_data


def test_track_event_sends_fields_and_returns_server_id(stub):
    stub.script((202, {"id": "server-id"}, {}))
    client = EventClient(stub.url)
    event_id = client.track_event(
        "conv_1",
        "event_a",
        input="in",
        output="out",
        latency=1.5,
        error="boom",
        timestamp="2026-11-24T10:00:00.123Z",
        id="my-key",
        attributes={"model": "gpt-x"},
    )
    assert event_id == "server-id"
    (req,) = stub.requests
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["User-Agent"].startswith("event-client-python/")
    assert "Authorization" not in req.headers
    assert req.json == {
        "conversation_id": "conv_1",
        "event_name": "event_a",
        "input": "in",
        "output": "out",
        "latency": 1.5,
        "error": "boom",
        "timestamp": "2026-11-24T10:00:00.123Z",
        "id": "my-key",
        "attributes": {"model": "gpt-x"},
    }


def test_track_event_sends_llm_fields(stub):
    client = EventClient(stub.url)
    client.track_event(
        "conv_1",
        "chat",
        id="k",
        model="gpt-4o-mini",
        provider="openai",
        operation="chat",
        input_tokens=11,
        output_tokens=7,
        cache_read_tokens=3,
        cache_creation_tokens=0,
        reasoning_tokens=1,
        time_to_first_token=120.5,
        finish_reason="stop",
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
    )
    (req,) = stub.requests
    assert req.json == {
        "conversation_id": "conv_1",
        "event_name": "chat",
        "id": "k",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "operation": "chat",
        "input_tokens": 11,
        "output_tokens": 7,
        "cache_read_tokens": 3,
        "cache_creation_tokens": 0,
        "reasoning_tokens": 1,
        "time_to_first_token": 120.5,
        "finish_reason": "stop",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
    }


def test_track_event_generates_uuid7_id_and_omits_unset_fields(stub):
    client = EventClient(stub.url)
    event_id = client.track_event("conv_1", "event_a")
    (req,) = stub.requests
    assert req.json == {"conversation_id": "conv_1", "event_name": "event_a", "id": event_id}
    parsed = uuid.UUID(event_id)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


@pytest.mark.parametrize(
    "value, sent",
    [
        (datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=timezone.utc), "2026-11-24T10:00:00.123Z"),
        (
            datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-24T10:00:00.000Z",
        ),
        (1795431234567, 1795431234567),
        ("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"),
    ],
)
def test_track_event_timestamp_forms(stub, value, sent):
    EventClient(stub.url).track_event("c", "e", timestamp=value)
    assert stub.requests[0].json["timestamp"] == sent


def test_naive_datetime_is_local_time(stub):
    naive = datetime(2026, 11, 24, 10, 0, 0)
    EventClient(stub.url).track_event("c", "e", timestamp=naive)
    expected = naive.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert stub.requests[0].json["timestamp"] == expected


def test_track_event_rejects_bad_timestamp_type_without_request(stub):
    with pytest.raises(TypeError):
        EventClient(stub.url).track_event("c", "e", timestamp=[2026])
    assert stub.requests == []


def test_api_key_is_sent_as_bearer_token(stub):
    stub.script((200, {"data": []}, {}))
    EventClient(stub.url, api_key="s3cret").get_latency()
    assert stub.requests[0].headers["Authorization"] == "Bearer s3cret"


def test_update_event_sends_only_given_fields(stub):
    client = EventClient(stub.url)
    assert client.update_event("ev/1 x", error="timeout", attributes={"a": "b"}) == "ev/1 x"
    (req,) = stub.requests
    assert (req.method, req.path) == ("PUT", "/event/ev%2F1%20x")
    assert req.json == {"error": "timeout", "attributes": {"a": "b"}}


def test_delete_event(stub):
    assert EventClient(stub.url).delete_event("ev1") == "ev1"
    (req,) = stub.requests
    assert (req.method, req.path) == ("DELETE", "/event/ev1")


@pytest.mark.parametrize("bad", ["", None])
def test_empty_event_id_is_rejected_locally(stub, bad):
    client = EventClient(stub.url)
    for call in (client.get_event, client.delete_event, client.update_event):
        with pytest.raises(ValueError):
            call(bad)
    assert stub.requests == []


def test_get_event_returns_the_event(stub):
    event = {
        "id": "ev1",
        "conversation_id": "c",
        "event_name": "e",
        "input": "",
        "output": "",
        "latency": 0,
        "error": "",
        "timestamp": "2026-11-24T10:00:00.000Z",
        "attributes": {},
        "version": 1,
    }
    stub.script((200, event, {}))
    assert EventClient(stub.url).get_event("ev1") == event
    assert stub.requests[0].path == "/event/ev1"


def test_get_event_unknown_raises_not_found(stub):
    with pytest.raises(NotFoundError) as info:
        EventClient(stub.url).get_event("nope")
    assert info.value.code == "not_found" and info.value.status == 404


def test_get_conversation_follows_cursors(stub):
    stub.script(
        (
            200,
            {"conversation_id": "c 1", "events": [{"id": "1"}, {"id": "2"}], "next_cursor": "A"},
            {},
        ),
        (
            200,
            {"conversation_id": "c 1", "events": [{"id": "3"}, {"id": "4"}], "next_cursor": "B"},
            {},
        ),
        (200, {"conversation_id": "c 1", "events": [{"id": "5"}], "next_cursor": None}, {}),
    )
    events = EventClient(stub.url).get_conversation("c 1", limit=2)
    assert [e["id"] for e in events] == ["1", "2", "3", "4", "5"]
    assert [r.path for r in stub.requests] == ["/events/conversation/c%201"] * 3
    assert [r.query for r in stub.requests] == [
        {"limit": ["2"]},
        {"limit": ["2"], "cursor": ["A"]},
        {"limit": ["2"], "cursor": ["B"]},
    ]


def test_get_conversation_max_events_stops_early(stub):
    stub.script(
        (200, {"events": [{"id": "1"}, {"id": "2"}], "next_cursor": "A"}, {}),
        (200, {"events": [{"id": "3"}, {"id": "4"}], "next_cursor": "B"}, {}),
    )
    events = EventClient(stub.url).get_conversation("c", max_events=3)
    assert [e["id"] for e in events] == ["1", "2", "3"]
    assert len(stub.requests) == 2


def test_analytics_calls_and_defaults(stub):
    stub.script(
        (200, {"event_name": "e", "days": 7, "data": [{"date": "2026-11-24", "errors": 2}]}, {}),
        (
            200,
            {"data": [{"event_name": "e", "conversation_id": "c", "p95_latency": 1.0, "count": 1}]},
            {},
        ),
        (
            200,
            {"data": [{"event_name": "e", "conversation_id": "c", "p95_latency": 1.0, "count": 1}]},
            {},
        ),
        (200, {"data": [{"conversation_id": "c", "errors": 1, "total": 2, "error_rate": 0.5}]}, {}),
        (200, {"data": []}, {}),
    )
    client = EventClient(stub.url)
    assert client.get_error_counts("e") == [{"date": "2026-11-24", "errors": 2}]
    assert client.get_latency()[0]["p95_latency"] == 1.0
    assert client.get_latency(5, event_name="e", days=3)[0]["count"] == 1
    assert client.get_top_error_sessions()[0]["error_rate"] == 0.5
    assert client.get_top_error_sessions(limit=3, min_events=4) == []
    assert [(r.path, r.query) for r in stub.requests] == [
        ("/analytics/errors", {"event_name": ["e"], "days": ["7"]}),
        ("/analytics/latency", {"limit": ["50"]}),
        ("/analytics/latency", {"limit": ["5"], "event_name": ["e"], "days": ["3"]}),
        ("/analytics/sessions/top-errors", {"limit": ["10"]}),
        ("/analytics/sessions/top-errors", {"limit": ["3"], "min_events": ["4"]}),
    ]


def test_health(stub):
    stub.script((200, {"status": "ok", "clickhouse": "ok"}, {}))
    assert EventClient(stub.url).health() == {"status": "ok", "clickhouse": "ok"}


def test_base_url_with_trailing_slash_and_prefix(stub):
    stub.script((202, {"id": "x"}, {}))
    client = EventClient(stub.url + "/prefix/")
    assert client.base_url == stub.url + "/prefix"
    client.delete_event("x")
    assert stub.requests[0].path == "/prefix/event/x"


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://host", ""])
def test_invalid_base_url(url):
    with pytest.raises(ValueError):
        EventClient(url)


def test_new_event_id_is_time_ordered_uuid7():
    ids = [new_event_id() for _ in range(200)]
    assert len(set(ids)) == 200
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    first, last = uuid.UUID(ids[0]).int >> 80, uuid.UUID(ids[-1]).int >> 80
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    assert first <= last and abs(last - now_ms) < 60_000


def test_context_manager_without_batching_is_harmless(stub):
    with EventClient(stub.url, retry=RetryPolicy(max_retries=0)) as client:
        client.track_event("c", "e")
    assert client.flush() is True and client.close() is True
    assert len(stub.requests) == 1


def test_llm_analytics_reads(stub):
    usage = [{"date": "2026-11-24", "model": "gpt-4o", "calls": 2, "cost": 0.001}]
    latency = [{"model": "gpt-4o", "p50_latency": 1.0, "p95_latency": 2.0, "calls": 2, "errors": 1, "error_rate": 0.5}]
    top = [{"conversation_id": "c", "cost": 0.001, "calls": 2, "input_tokens": 10, "output_tokens": 5}]
    stub.script(
        (200, {"days": 7, "data": usage}, {}),
        (200, {"days": 1, "model": "gpt-4o", "data": usage}, {}),
        (200, {"data": latency}, {}),
        (200, {"data": top}, {}),
    )
    client = EventClient(stub.url)
    assert client.get_model_usage() == usage
    assert client.get_model_usage(1, model="gpt-4o") == usage
    assert client.get_model_latency(30) == latency
    assert client.get_top_cost_conversations(5) == top
    assert [(r.path, r.query) for r in stub.requests] == [
        ("/analytics/models/usage", {"days": ["7"]}),
        ("/analytics/models/usage", {"days": ["1"], "model": ["gpt-4o"]}),
        ("/analytics/models/latency", {"days": ["30"]}),
        ("/analytics/conversations/top-cost", {"limit": ["5"]}),
    ]
