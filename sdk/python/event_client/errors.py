"""Typed exceptions raised by :mod:`event_client`.

Every exception derives from :class:`EventClientError` and carries what the
server said: the HTTP ``status``, the stable error ``code`` from the body
``{"error": {"code": ..., "message": ...}}`` and its ``message``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple, Type

__all__ = [
    "EventClientError",
    "ValidationError",
    "NotFoundError",
    "AuthError",
    "ServerUnavailableError",
    "QueueFullError",
    "error_from_response",
]


class EventClientError(Exception):
    """Base class of every error raised by the client.

    Attributes:
        message: human readable description (the server's ``message`` when
            there is one).
        status: HTTP status code, or ``None`` when no response was received
            (connection error, timeout) or the error is local.
        code: the server's stable error code (``"invalid_field"``,
            ``"not_found"``, ...), a local code such as
            ``"connection_error"``, or ``None``.
        retry_after: seconds the server asked to wait (``Retry-After``), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.code else self.message
        if self.status is not None:
            text += f" (HTTP {self.status})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r})"
        )

    def __reduce__(self) -> Any:  # keep keyword arguments when pickled
        return (
            _rebuild,
            (type(self), self.message, self.status, self.code, self.retry_after),
        )


def _rebuild(
    cls: Type[EventClientError],
    message: str,
    status: Optional[int],
    code: Optional[str],
    retry_after: Optional[float],
) -> EventClientError:
    return cls(message, status=status, code=code, retry_after=retry_after)


class ValidationError(EventClientError):
    """The server rejected the request as invalid (400, 413, 415).

    ``code`` is one of ``invalid_json``, ``invalid_utf8``, ``missing_field``,
    ``invalid_field``, ``unknown_field``, ``immutable_field``,
    ``invalid_parameter``, ``too_large``, ``unsupported_media_type``.
    Never retried: sending the same request again gives the same answer.
    """


class NotFoundError(EventClientError):
    """The event is unknown or deleted, or the route does not exist (404)."""


class AuthError(EventClientError):
    """The server's authenticator refused the request (401, 403)."""


class ServerUnavailableError(EventClientError):
    """The server could not take the request (429, 502, 503, 504) or could not
    be reached (connection refused or reset, timeout), and retries were
    exhausted. Nothing of the request was accepted; it is safe to send again.
    """


class QueueFullError(EventClientError):
    """The batching sender's in-memory queue stayed full for ``enqueue_timeout``
    seconds; the operation was not queued."""


_BY_STATUS: Dict[int, Type[EventClientError]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    413: ValidationError,
    415: ValidationError,
    422: ValidationError,
    429: ServerUnavailableError,
    502: ServerUnavailableError,
    503: ServerUnavailableError,
    504: ServerUnavailableError,
}


def error_class_for_status(status: int) -> Type[EventClientError]:
    """The exception class for an HTTP error status."""
    return _BY_STATUS.get(status, EventClientError)


def parse_error_body(body: Any) -> Tuple[Optional[str], Optional[str]]:
    """Extract ``(code, message)`` from an error body (bytes, str or decoded JSON)."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            text = body.strip()
            return None, (text[:500] or None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            code = err.get("code")
            message = err.get("message")
            return (
                code if isinstance(code, str) else None,
                message if isinstance(message, str) else None,
            )
        if isinstance(err, str):
            return None, err
    return None, None


def error_from_response(
    status: int,
    body: Any,
    *,
    reason: str = "",
    retry_after: Optional[float] = None,
) -> EventClientError:
    """Build the typed exception for an error response.

    Args:
        status: HTTP status code.
        body: raw body (bytes/str) or already decoded JSON.
        reason: HTTP reason phrase, used when the body has no message.
        retry_after: parsed ``Retry-After`` header, if any.
    """
    code, message = parse_error_body(body)
    if not message:
        message = reason or f"HTTP {status}"
    cls = error_class_for_status(status)
    return cls(message, status=status, code=code, retry_after=retry_after)
