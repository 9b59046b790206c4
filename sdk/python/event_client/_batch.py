"""Background batching sender: a bounded queue drained by one worker thread
into ``POST /events/batch``."""

from __future__ import annotations

import atexit
import functools
import json
import logging
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, NamedTuple, Optional

from ._http import Transport, encode_json
from .errors import EventClientError, QueueFullError, ValidationError, error_from_response

logger = logging.getLogger("event_client")

#: ``on_error(error, operation)``: called from the worker thread for every
#: operation the server did not accept, with the typed error and the operation
#: as sent (a dict with ``op``, ``id`` and the event fields).
ErrorCallback = Callable[[EventClientError, Dict[str, Any]], None]

_GZIP_MIN_BYTES = 1024


class _Item(NamedTuple):
    seq: int
    enqueued_at: float
    body: bytes


class BatchSender:
    """Queues operations and sends them in batches from a daemon thread.

    A batch leaves when ``batch_size`` operations are queued, when the oldest
    queued operation has waited ``flush_interval`` seconds, on :meth:`flush`
    and on :meth:`close` (also run at interpreter exit). Operations keep their
    order: one worker sends one batch at a time.

    When the queue holds ``max_queue_size`` operations, :meth:`enqueue` blocks
    up to ``enqueue_timeout`` seconds for room, then raises
    :class:`~event_client.errors.QueueFullError`.

    A batch answered ``429``/``503`` or lost to a connection error is retried
    whole, with the same ids, per the transport's retry policy. Operations the
    server rejects (``400`` per item), and whole batches still failing after the
    last retry, are passed to ``on_error`` or, without one, logged as warnings
    on the ``event_client`` logger; they are never retried. A ``413`` for a
    batch of several operations splits it in two halves.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
        enqueue_timeout: float = 5.0,
        on_error: Optional[ErrorCallback] = None,
        compress: bool = True,
        shutdown_timeout: Optional[float] = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if max_queue_size < 1:
            raise ValueError("max_queue_size must be >= 1")
        if flush_interval < 0 or enqueue_timeout < 0:
            raise ValueError("flush_interval and enqueue_timeout must be >= 0")
        self._transport = transport
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue_size = max_queue_size
        self._enqueue_timeout = enqueue_timeout
        self._on_error = on_error
        self._compress = compress
        self._clock = clock

        self._cond = threading.Condition()
        self._items: Deque[_Item] = deque()
        self._seq = 0  # sequence number of the last queued operation
        self._taken = 0  # ... of the last operation taken by the worker
        self._done = 0  # ... of the last operation sent (or reported)
        self._flush_upto = 0  # flush requested up to this sequence number
        self._closed = False

        self._thread = threading.Thread(target=self._run, name="event-client-batch", daemon=True)
        self._thread.start()
        # Flush at interpreter exit (the worker is a daemon thread, still running
        # when atexit hooks run). A partial so that unregister() removes only
        # this sender's hook.
        self._atexit_hook = functools.partial(self.close, shutdown_timeout)
        atexit.register(self._atexit_hook)

    # -- producer side -----------------------------------------------------

    def enqueue(self, operation: Dict[str, Any]) -> None:
        """Queue one batch operation (``{"op": ..., "id": ..., ...}``).

        Raises:
            TypeError, ValueError: the operation cannot be encoded as JSON.
            QueueFullError: no room within ``enqueue_timeout`` seconds.
            EventClientError: the sender is closed (code ``"closed"``).
        """
        body = encode_json(operation)
        with self._cond:
            self._check_open()
            if len(self._items) >= self._max_queue_size:
                deadline = self._clock() + self._enqueue_timeout
                while len(self._items) >= self._max_queue_size:
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        raise QueueFullError(
                            f"batch queue full ({self._max_queue_size} operations) for "
                            f"{self._enqueue_timeout}s",
                            code="queue_full",
                        )
                    self._cond.wait(remaining)
                    self._check_open()
            self._seq += 1
            self._items.append(_Item(self._seq, self._clock(), body))
            if len(self._items) == 1 or len(self._items) >= self._batch_size:
                self._cond.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise EventClientError("the batching sender is closed", code="closed")

    @property
    def pending(self) -> int:
        """Operations queued or in flight (not yet sent or reported)."""
        with self._cond:
            return self._seq - self._done

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send everything queued so far and wait until it is sent or reported.

        Returns ``True`` when done, ``False`` if ``timeout`` seconds passed first.
        Must not be called from ``on_error`` (the worker thread).
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("flush() cannot be called from the sender's own thread")
        with self._cond:
            target = self._seq
            if self._done >= target:
                return True
            self._flush_upto = max(self._flush_upto, target)
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: Optional[float] = None) -> bool:
        """Stop accepting operations, send the queued ones and stop the worker.

        Returns ``True`` when everything was sent or reported, ``False`` if
        ``timeout`` seconds passed first (the rest is then logged as a warning
        and, at interpreter exit, lost). Idempotent.
        """
        atexit.unregister(self._atexit_hook)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("event_client: closing with %d operation(s) not yet sent", self.pending)
            return False
        return True

    # -- worker side -------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._items:
                        if (
                            self._closed
                            or len(self._items) >= self._batch_size
                            or self._flush_upto > self._taken
                        ):
                            break
                        remaining = (
                            self._items[0].enqueued_at + self._flush_interval - self._clock()
                        )
                        if remaining <= 0:
                            break
                        self._cond.wait(remaining)
                    elif self._closed:
                        return
                    else:
                        self._cond.wait()
                count = min(self._batch_size, len(self._items))
                batch = [self._items.popleft() for _ in range(count)]
                self._taken = batch[-1].seq
                self._cond.notify_all()  # room for blocked producers
            try:
                self._send(batch)
            except Exception:  # never let the worker die
                logger.exception("event_client: unexpected error sending a batch")
            with self._cond:
                self._done = batch[-1].seq
                self._cond.notify_all()

    def _send(self, batch: List[_Item]) -> None:
        body = b"[" + b",".join(item.body for item in batch) + b"]"
        try:
            status, data = self._transport.request(
                "POST",
                "/events/batch",
                raw_json=body,
                compress=self._compress and len(body) >= _GZIP_MIN_BYTES,
                ok_statuses=(400,),
            )
        except ValidationError as exc:
            if exc.status == 413 and len(batch) > 1:
                half = len(batch) // 2
                self._send(batch[:half])
                self._send(batch[half:])
                return
            self._report_all(batch, exc)
            return
        except EventClientError as exc:
            self._report_all(batch, exc)
            return

        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            if status >= 400:  # e.g. 400 invalid_json: the whole batch was refused
                self._report_all(batch, error_from_response(status, data))
            return
        for position, result in enumerate(results):
            if not isinstance(result, dict):
                continue
            item_status = result.get("status")
            if isinstance(item_status, int) and 200 <= item_status < 300:
                continue
            index = result.get("index", position)
            if not isinstance(index, int) or not 0 <= index < len(batch):
                continue
            code = item_status if isinstance(item_status, int) else status
            self._report(batch[index], error_from_response(code, result))

    def _report_all(self, batch: List[_Item], error: EventClientError) -> None:
        for item in batch:
            self._report(item, error)

    def _report(self, item: _Item, error: EventClientError) -> None:
        operation = json.loads(item.body)
        if self._on_error is None:
            logger.warning(
                "event_client: %s of event %s failed: %s",
                operation.get("op", "create"),
                operation.get("id"),
                error,
            )
            return
        try:
            self._on_error(error, operation)
        except Exception:
            logger.exception("event_client: on_error callback raised")
