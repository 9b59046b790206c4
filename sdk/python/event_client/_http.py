"""HTTP transport: one request with retries, JSON in and out, typed errors.

Standard library only (:mod:`urllib.request`). Thread-safe: it keeps no
per-request state.
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Collection, Dict, Mapping, Optional, Tuple

from .errors import EventClientError, ServerUnavailableError, error_from_response
from .retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after

logger = logging.getLogger("event_client")

# Errors meaning "no usable answer": the request may or may not have reached the
# server; every call of this client is safe to replay.
_CONNECTION_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)


class Transport:
    """Sends JSON requests to ``base_url`` with authentication and retries."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: Optional[str],
        timeout: float,
        retry: RetryPolicy,
        user_agent: str,
        opener: Optional[urllib.request.OpenerDirector] = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._opener = opener or urllib.request.build_opener()

    def url(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        """Absolute URL of ``path`` with the non-``None`` ``query`` parameters."""
        url = self.base_url + path
        if query:
            params = {k: v for k, v in query.items() if v is not None}
            if params:
                url += "?" + urllib.parse.urlencode(params)
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        json_body: Any = None,
        raw_json: Optional[bytes] = None,
        compress: bool = False,
        retry: bool = True,
        ok_statuses: Collection[int] = (),
    ) -> Tuple[int, Any]:
        """Send a request and return ``(status, decoded JSON body)``.

        The body is ``json_body`` encoded as JSON, or ``raw_json`` (already
        encoded JSON bytes); ``compress`` gzips it. Retries per :attr:`retry`
        on retryable statuses and connection errors (unless ``retry`` is
        false). Statuses outside 2xx and ``ok_statuses`` raise the matching
        :class:`~event_client.errors.EventClientError` subclass.
        """
        url = self.url(path, query)
        headers = dict(self._headers)
        data: Optional[bytes] = raw_json
        if json_body is not None:
            data = encode_json(json_body)
        if data is not None:
            headers["Content-Type"] = "application/json"
            if compress:
                data = gzip.compress(data)
                headers["Content-Encoding"] = "gzip"

        attempt = 0
        while True:
            try:
                status, retry_after_header, body, reason = self._send(method, url, data, headers)
            except _CONNECTION_ERRORS as exc:
                error: EventClientError = ServerUnavailableError(
                    f"{method} {url}: {_describe(exc)}", code="connection_error"
                )
                error.__cause__ = exc
                retry_after = None
            else:
                if 200 <= status < 300 or status in ok_statuses:
                    return status, _decode_json(body, status)
                retry_after = parse_retry_after(retry_after_header)
                error = error_from_response(status, body, reason=reason, retry_after=retry_after)
                if status not in RETRYABLE_STATUSES:
                    raise error
            if not retry or attempt >= self.retry.max_retries:
                raise error
            delay = self.retry.backoff(attempt, retry_after)
            attempt += 1
            logger.debug(
                "%s %s failed (%s); retry %d/%d in %.3fs",
                method,
                url,
                error,
                attempt,
                self.retry.max_retries,
                delay,
            )
            self.retry.sleep(delay)

    def _send(
        self, method: str, url: str, data: Optional[bytes], headers: Dict[str, str]
    ) -> Tuple[int, Optional[str], bytes, str]:
        """One attempt: ``(status, Retry-After header, body, reason)``."""
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.headers.get("Retry-After"), resp.read(), resp.reason or ""
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read()
            except _CONNECTION_ERRORS:
                body = b""
            finally:
                exc.close()
            retry_after = exc.headers.get("Retry-After") if exc.headers is not None else None
            return exc.code, retry_after, body, str(exc.reason or "")


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; ``TypeError``/``ValueError`` for what JSON cannot hold (NaN, ...)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def _decode_json(body: bytes, status: int) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise EventClientError(
            f"response is not valid JSON: {body[:200]!r}", status=status, code="invalid_response"
        ) from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and exc.reason is not None:
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
        if isinstance(exc, urllib.error.URLError):
            return str(exc.reason)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
