"""Retry policy: exponential backoff with jitter, honouring ``Retry-After``."""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

__all__ = ["RetryPolicy", "RETRYABLE_STATUSES", "parse_retry_after"]

#: HTTP statuses after which a request is sent again. ``429`` and ``503`` are
#: the server's "nothing was accepted, retry after ``Retry-After``" answers;
#: ``502`` and ``504`` come from proxies in front of it.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    A request is retried on a retryable status (see :data:`RETRYABLE_STATUSES`),
    a connection error or a timeout, at most ``max_retries`` times. Before
    retry ``n`` (0-based) the client waits the server's ``Retry-After`` when it
    sent one, otherwise ``min(max_backoff, initial_backoff * multiplier**n)``
    randomised by ``± jitter`` (a fraction: ``0.2`` means ±20 %).

    Other errors (400 validation errors, 401, 404, 500, ...) are never retried.
    Retries are safe: creates carry a client-side ``id`` so a replay changes
    nothing, updates and deletes are idempotent.

    ``sleep`` and ``random`` exist so tests can observe the delays without
    waiting.
    """

    max_retries: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoff durations must be >= 0")
        if self.multiplier < 1:
            raise ValueError("multiplier must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be within [0, 1]")

    def backoff(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        delay = min(self.max_backoff, self.initial_backoff * (self.multiplier**attempt))
        if self.jitter:
            delay *= 1.0 + self.jitter * (2.0 * self.random() - 1.0)
        return max(0.0, delay)


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Parse a ``Retry-After`` header (delay in seconds or an HTTP date).

    Returns the delay in seconds, or ``None`` when absent or unparseable.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
