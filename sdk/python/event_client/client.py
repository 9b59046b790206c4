"""The :class:`EventClient`."""

from __future__ import annotations

import os
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Union

from ._batch import BatchSender, ErrorCallback
from ._http import Transport
from .errors import EventClientError
from .retry import RetryPolicy

__all__ = ["EventClient", "new_event_id", "Timestamp"]

#: An event time: a :class:`~datetime.datetime` (naive means local time, as in
#: :meth:`datetime.timestamp`), an RFC 3339 string, or epoch milliseconds.
Timestamp = Union[datetime, str, int, float]

Event = Dict[str, Any]


def new_event_id() -> str:
    """A new UUIDv7 string (time-ordered, 74 random bits), as the server makes."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76  # version 7
        | (rand >> 68) << 64  # 12 random bits
        | 0b10 << 62  # RFC 9562 variant
        | rand & ((1 << 62) - 1)  # 62 random bits
    )
    return str(uuid.UUID(int=value))


def _format_timestamp(value: Timestamp) -> Union[str, int, float]:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()  # naive: local time
        utc = value.astimezone(timezone.utc)
        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(
            "timestamp must be a datetime, an RFC 3339 string or epoch milliseconds, "
            f"not {type(value).__name__}"
        )
    return value


def _event_path(event_id: str) -> str:
    if not isinstance(event_id, str) or not event_id:
        raise ValueError("event_id must be a non-empty string")
    return "/event/" + urllib.parse.quote(event_id, safe="")


class EventClient:
    """Client of the otelcol-events HTTP API.

    Example::

        from event_client import EventClient

        client = EventClient("http://localhost:8080")
        event_id = client.track_event(
            conversation_id="conv_123", event_name="event_a",
            input="What is the weather?", output="It's sunny!", latency=142.5,
        )
        client.update_event(event_id, error="timeout", latency=5000.0)
        client.delete_event(event_id)

    Writes are asynchronous on the server: a write is durable once acknowledged
    but visible to reads a moment later.

    By default every call is one HTTP request, retried on ``429``/``503`` and
    connection errors (see :class:`RetryPolicy`). With ``batching=True``,
    :meth:`track_event`, :meth:`update_event` and :meth:`delete_event` queue the
    operation and return at once; a background thread sends the queue through
    ``POST /events/batch`` (see :class:`~event_client._batch.BatchSender`), and
    errors are reported to ``on_error`` instead of raised. Call :meth:`close`
    (or use the client as a context manager) when done; it also runs at
    interpreter exit.

    Args:
        base_url: the server's URL, e.g. ``"http://localhost:8080"``.
        api_key: sent as ``Authorization: Bearer <api_key>`` when set.
        timeout: socket timeout in seconds (connect, and each read) of one HTTP
            attempt; a timed-out attempt is retried like a connection error.
        retry: the retry policy (default :class:`RetryPolicy()`; use
            ``RetryPolicy(max_retries=0)`` to disable retries).
        batching: queue writes and send them in batches from a background thread.
        batch_size: operations per batch (batching only).
        flush_interval: seconds an operation may wait in the queue before its
            batch is sent (batching only).
        max_queue_size: bound of the in-memory queue (batching only).
        enqueue_timeout: seconds a write waits for room in a full queue before
            raising :class:`QueueFullError` (batching only).
        on_error: ``on_error(error, operation)``, called from the background
            thread for each operation the server did not accept (batching only);
            without it such failures are logged on the ``event_client`` logger.
        compress: gzip batch bodies of 1 KiB or more (batching only).
        shutdown_timeout: seconds the exit hook waits for the queue to drain.
    """

    def __init__(
        self,
        base_url: str = "http://localhost:8080",
        api_key: Optional[str] = None,
        timeout: float = 10.0,
        *,
        retry: Optional[RetryPolicy] = None,
        batching: bool = False,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
        enqueue_timeout: float = 5.0,
        on_error: Optional[ErrorCallback] = None,
        compress: bool = True,
        shutdown_timeout: Optional[float] = 10.0,
    ) -> None:
        from . import __version__

        self._transport = Transport(
            base_url,
            api_key=api_key,
            timeout=timeout,
            retry=retry if retry is not None else RetryPolicy(),
            user_agent=f"event-client-python/{__version__}",
        )
        self._sender: Optional[BatchSender] = None
        if batching:
            self._sender = BatchSender(
                self._transport,
                batch_size=batch_size,
                flush_interval=flush_interval,
                max_queue_size=max_queue_size,
                enqueue_timeout=enqueue_timeout,
                on_error=on_error,
                compress=compress,
                shutdown_timeout=shutdown_timeout,
            )

    @property
    def base_url(self) -> str:
        """The server's base URL, without a trailing slash."""
        return self._transport.base_url

    @property
    def batching(self) -> bool:
        """Whether writes go through the background batching sender."""
        return self._sender is not None

    # -- writes ----------------------------------------------------------

    def track_event(
        self,
        conversation_id: str,
        event_name: str,
        input: Optional[str] = None,
        output: Optional[str] = None,
        latency: Optional[float] = None,
        error: Optional[str] = None,
        timestamp: Optional[Timestamp] = None,
        id: Optional[str] = None,
        attributes: Optional[Dict[str, str]] = None,
        *,
        model: Optional[str] = None,
        provider: Optional[str] = None,
        operation: Optional[str] = None,
        input_tokens: Optional[int] = None,
        output_tokens: Optional[int] = None,
        cache_read_tokens: Optional[int] = None,
        cache_creation_tokens: Optional[int] = None,
        reasoning_tokens: Optional[int] = None,
        time_to_first_token: Optional[float] = None,
        finish_reason: Optional[str] = None,
        trace_id: Optional[str] = None,
        span_id: Optional[str] = None,
    ) -> str:
        """Create an event and return its id.

        Fields left to ``None`` take the server's defaults (``""``, ``0``, the
        arrival time). Without ``id`` a UUIDv7 is made here, so that retries
        (and replays) of this call are idempotent.

        Args:
            conversation_id: the session the event belongs to (required).
            event_name: the event type (required).
            input: the input text, e.g. a prompt.
            output: the output text, e.g. a completion.
            latency: milliseconds, ``>= 0``.
            error: an error message; ``""`` means no error.
            timestamp: when it happened (datetime, RFC 3339 string or epoch ms).
            id: the event id (1..128 bytes), also the idempotency key.
            attributes: string to string map.
            model, provider, operation: the LLM call's model (the response's,
                else the request's), provider (``openai``) and operation
                (``chat``).
            input_tokens, output_tokens, cache_read_tokens,
                cache_creation_tokens, reasoning_tokens: token counts
                (non-negative integers; cached tokens are part of the input,
                reasoning tokens part of the output).
            time_to_first_token: milliseconds to the first chunk of a stream.
            finish_reason: why the model stopped (``stop``, ``length``, ...).
            trace_id, span_id: the trace context of the call, lowercase hex.

        The server computes the call's ``cost`` (USD) from the model and the
        token counts with its price table; it is returned by the reads.

        Returns:
            The event id (in batching mode, the id the operation was queued with).

        Raises:
            ValidationError: the server rejected the event (``code`` says why).
            AuthError, ServerUnavailableError, EventClientError: see the errors.
            QueueFullError: batching mode, the queue stayed full.
        """
        event: Event = {
            "conversation_id": conversation_id,
            "event_name": event_name,
            "id": id if id is not None else new_event_id(),
        }
        optional = {
            "input": input,
            "output": output,
            "latency": latency,
            "error": error,
            "attributes": attributes,
            "model": model,
            "provider": provider,
            "operation": operation,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": cache_read_tokens,
            "cache_creation_tokens": cache_creation_tokens,
            "reasoning_tokens": reasoning_tokens,
            "time_to_first_token": time_to_first_token,
            "finish_reason": finish_reason,
            "trace_id": trace_id,
            "span_id": span_id,
        }
        event.update({k: v for k, v in optional.items() if v is not None})
        if timestamp is not None:
            event["timestamp"] = _format_timestamp(timestamp)
        if self._sender is not None:
            self._sender.enqueue({"op": "create", **event})
            return str(event["id"])
        _, body = self._transport.request("POST", "/event/", json_body=event)
        return _id_from(body, event["id"])

    def update_event(self, event_id: str, **fields: Any) -> str:
        """Change some fields of an event (a merge patch: the others are kept).

        Allowed fields: ``event_name``, ``input``, ``output``, ``latency``,
        ``error``, ``attributes`` (replaces the whole map), and the LLM call
        fields of :meth:`track_event` (``model``, ``input_tokens``, ...). ``conversation_id``,
        ``timestamp`` and ``id`` are immutable (``ValidationError`` with code
        ``immutable_field``). An update may precede the create it applies to.

        Returns:
            The event id.
        """
        path = _event_path(event_id)
        if self._sender is not None:
            reserved = sorted({"op", "id"} & fields.keys())
            if reserved:
                raise ValueError(f"update_event cannot change {', '.join(reserved)}")
            self._sender.enqueue({**fields, "op": "update", "id": event_id})
            return event_id
        _, body = self._transport.request("PUT", path, json_body=fields)
        return _id_from(body, event_id)

    def delete_event(self, event_id: str) -> str:
        """Delete an event (soft and final: it disappears from reads and analytics).

        Returns:
            The event id.
        """
        path = _event_path(event_id)
        if self._sender is not None:
            self._sender.enqueue({"op": "delete", "id": event_id})
            return event_id
        _, body = self._transport.request("DELETE", path)
        return _id_from(body, event_id)

    # -- reads -----------------------------------------------------------

    def get_event(self, event_id: str) -> Event:
        """The current state of an event.

        Returns:
            A dict with ``id``, ``conversation_id``, ``event_name``, ``input``,
            ``output``, ``latency``, ``error``, ``timestamp``, ``attributes`` and
            ``version``; an LLM call also has those of ``model``, ``provider``,
            ``operation``, ``input_tokens``, ``output_tokens``,
            ``cache_read_tokens``, ``cache_creation_tokens``,
            ``reasoning_tokens``, ``time_to_first_token``, ``finish_reason``,
            ``cost``, ``trace_id`` and ``span_id`` that are known (the others
            are absent).

        Raises:
            NotFoundError: unknown or deleted (or not stored yet: writes become
                visible shortly after they are acknowledged).
        """
        return self._get(_event_path(event_id))

    def get_conversation(
        self,
        conversation_id: str,
        *,
        limit: Optional[int] = None,
        max_events: Optional[int] = None,
    ) -> List[Event]:
        """The events of a conversation, ordered by timestamp then id.

        Follows the server's pages (``next_cursor``) until the last one.

        Args:
            conversation_id: the conversation.
            limit: events per page (1..1000, server default 100).
            max_events: stop after this many events.
        """
        if not conversation_id:
            raise ValueError("conversation_id must be a non-empty string")
        path = "/events/conversation/" + urllib.parse.quote(conversation_id, safe="")
        events: List[Event] = []
        cursor: Optional[str] = None
        while max_events is None or len(events) < max_events:
            body = self._get(path, {"limit": limit, "cursor": cursor})
            events.extend(body.get("events") or [])
            next_cursor = body.get("next_cursor")
            if not next_cursor or next_cursor == cursor:
                break
            cursor = next_cursor
        return events if max_events is None else events[:max_events]

    def get_error_counts(self, event_name: str, days: int = 7) -> List[Dict[str, Any]]:
        """Errors of ``event_name`` per UTC day over the last ``days`` days.

        Returns:
            ``[{"date": "2026-11-18", "errors": 0}, ...]``, oldest first, today
            included, days without errors present with ``0``.
        """
        return self._data("/analytics/errors", {"event_name": event_name, "days": days})

    def get_latency(
        self,
        limit: int = 50,
        *,
        event_name: Optional[str] = None,
        days: Optional[int] = None,
    ) -> List[Dict[str, Any]]:
        """p95 latency (ms) per event name and conversation, highest first.

        Returns:
            ``[{"event_name": ..., "conversation_id": ..., "p95_latency": 150.5,
            "count": 3}, ...]``.
        """
        return self._data(
            "/analytics/latency", {"limit": limit, "event_name": event_name, "days": days}
        )

    def get_top_error_sessions(
        self, limit: int = 10, *, min_events: Optional[int] = None
    ) -> List[Dict[str, Any]]:
        """Conversations ranked by error rate, then by number of errors.

        Args:
            limit: how many (1..1000).
            min_events: only conversations with at least this many events.

        Returns:
            ``[{"conversation_id": ..., "errors": 2, "total": 4,
            "error_rate": 0.5}, ...]``.
        """
        return self._data(
            "/analytics/sessions/top-errors", {"limit": limit, "min_events": min_events}
        )

    def get_model_usage(
        self, days: int = 7, *, model: Optional[str] = None
    ) -> List[Dict[str, Any]]:
        """Tokens and cost of the LLM calls per model per UTC day (last ``days`` days).

        Returns:
            ``[{"date": "2026-11-24", "model": "gpt-4o-mini", "calls": 3,
            "input_tokens": ..., "output_tokens": ..., "cache_read_tokens": ...,
            "cache_creation_tokens": ..., "reasoning_tokens": ..., "cost": 0.0012},
            ...]``, oldest day first; days without calls are absent.
        """
        return self._data("/analytics/models/usage", {"days": days, "model": model})

    def get_model_latency(
        self, days: Optional[int] = None, *, limit: Optional[int] = None
    ) -> List[Dict[str, Any]]:
        """p50/p95 latency (ms) and error rate of the LLM calls per model.

        Returns:
            ``[{"model": ..., "p50_latency": ..., "p95_latency": ..., "calls": 3,
            "errors": 1, "error_rate": 0.33}, ...]``.
        """
        return self._data("/analytics/models/latency", {"days": days, "limit": limit})

    def get_top_cost_conversations(self, limit: int = 10) -> List[Dict[str, Any]]:
        """Conversations ranked by the total cost (USD) of their LLM calls.

        Returns:
            ``[{"conversation_id": ..., "cost": 0.42, "calls": 7,
            "input_tokens": ..., "output_tokens": ...}, ...]``.
        """
        return self._data("/analytics/conversations/top-cost", {"limit": limit})

    def health(self) -> Dict[str, Any]:
        """``GET /health`` without retries: ``{"status": "ok", ...}``.

        Raises:
            ServerUnavailableError: the server (or its ClickHouse) is down.
        """
        return self._get("/health", retry=False)

    def _get(
        self, path: str, query: Optional[Dict[str, Any]] = None, *, retry: bool = True
    ) -> Dict[str, Any]:
        _, body = self._transport.request("GET", path, query=query, retry=retry)
        if not isinstance(body, dict):
            raise EventClientError(
                f"GET {path}: expected a JSON object, got {type(body).__name__}",
                code="invalid_response",
            )
        return body

    def _data(self, path: str, query: Dict[str, Any]) -> List[Dict[str, Any]]:
        data = self._get(path, query).get("data")
        if not isinstance(data, list):
            raise EventClientError(
                f'GET {path}: no "data" list in the response', code="invalid_response"
            )
        return data

    # -- lifecycle ---------------------------------------------------------

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Batching mode: send every queued operation and wait for the answers.

        Returns ``True`` when all were sent (or reported to ``on_error``),
        ``False`` if ``timeout`` passed first. Without batching: ``True``.
        """
        return self._sender.flush(timeout) if self._sender is not None else True

    def close(self, timeout: Optional[float] = None) -> bool:
        """Flush and stop the batching sender (later batched writes raise).

        Idempotent; without batching there is nothing to do.

        Returns ``False`` if ``timeout`` passed before the queue was drained.
        """
        return self._sender.close(timeout) if self._sender is not None else True

    def __enter__(self) -> "EventClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventClient({self.base_url!r}, batching={self.batching})"


def _id_from(body: Any, default: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("id"), str) and body["id"]:
        return str(body["id"])
    return str(default)
