"""A scripted stub HTTP server (standard library) for the unit tests."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union


@dataclass
class Recorded:
    """One request the stub received."""

    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Dict[str, str]
    raw_body: bytes
    body: bytes  # gunzipped when Content-Encoding: gzip
    received_at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


#: A scripted answer: (status, JSON body or bytes, headers), ``"drop"`` (close
#: the connection without answering) or a callable computing either from the
#: request.
Reply = Union[Tuple[int, Any, Dict[str, str]], str, Callable[[Recorded], Any]]


@dataclass
class StubServer:
    """A scripted HTTP server on 127.0.0.1 for unit tests.

    Scripted replies (``script``) are used first, in order; then ``default``.
    The built-in default answers like the real server: 202 with the id for
    writes, per-item results for batches, 404 for anything else.
    """

    url: str = ""
    requests: List[Recorded] = field(default_factory=list)
    replies: List[Reply] = field(default_factory=list)
    default: Optional[Callable[[Recorded], Any]] = None
    cond: threading.Condition = field(default_factory=threading.Condition)

    def script(self, *replies: Reply) -> None:
        with self.cond:
            self.replies.extend(replies)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.requests) >= count, timeout)

    @staticmethod
    def builtin_reply(req: Recorded) -> Tuple[int, Any, Dict[str, str]]:
        """The built-in default answer (for custom defaults to fall back on)."""
        return default_reply(req)

    def next_reply(self, req: Recorded) -> Any:
        with self.cond:
            self.requests.append(req)
            self.cond.notify_all()
            reply = self.replies.pop(0) if self.replies else (self.default or default_reply)
        while callable(reply):
            reply = reply(req)
        return reply


def error_body(code: str, message: str) -> Dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def default_reply(req: Recorded) -> Tuple[int, Any, Dict[str, str]]:
    if req.method == "POST" and req.path == "/events/batch":
        ops = req.json
        results = [
            {"index": i, "status": 202, "id": op.get("id") or f"gen-{i}"}
            for i, op in enumerate(ops)
        ]
        return 202, {"accepted": len(ops), "rejected": 0, "results": results}, {}
    if req.method == "POST" and req.path in ("/event", "/event/"):
        return 202, {"id": req.json.get("id") or "generated"}, {}
    if req.method in ("PUT", "DELETE") and req.path.startswith("/event/"):
        return 202, {"id": urllib.parse.unquote(req.path[len("/event/") :])}, {}
    return 404, error_body("not_found", "no such thing"), {}


class _Handler(BaseHTTPRequestHandler):
    server_version = "stub/1"
    stub: StubServer  # set on the subclass

    def _handle(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
        req = Recorded(
            method=self.command,
            path=parsed.path,
            query=urllib.parse.parse_qs(parsed.query),
            headers={k: v for k, v in self.headers.items()},
            raw_body=raw,
            body=body,
            received_at=time.monotonic(),
        )
        reply = self.stub.next_reply(req)
        if reply == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, payload, headers = reply
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # "drop" replies make the handler fail on purpose


@contextlib.contextmanager
def running_stub() -> Iterator[StubServer]:
    """Serve a new :class:`StubServer` on 127.0.0.1 (a free port) in a thread."""
    state = StubServer()
    handler = type("Handler", (_Handler,), {"stub": state})
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


class SleepRecorder:
    """A ``sleep`` for :class:`RetryPolicy` that records delays and returns at once."""

    def __init__(self) -> None:
        self.delays: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
