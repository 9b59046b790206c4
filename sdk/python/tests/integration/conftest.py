"""Integration fixtures: the real collector, started once per test session.

Environment:

- ``EVENTS_BASE_URL``: use this running server instead of starting one
  (``EVENTS_API_KEY`` is then sent as the bearer token if set).
- ``OTELCOL_EVENTS_BIN``: the collector binary (default ``<repo>/bin/otelcol-events``).
- ``OTELCOL_EVENTS_CONFIG``: its configuration (default ``<repo>/config/single-node.yaml``).
- ``CHDB_LIB``: path of libchdb.so, passed to the collector (required).
- ``EVENTS_POLL_TIMEOUT``: seconds to wait for a write to become visible (default 10).

The collector runs its configuration with ``API_PORT``,
``OTLP_GRPC_PORT``, ``OTLP_HTTP_PORT``, ``HEALTH_PORT``, ``METRICS_PORT`` and
``QUERY_PORT`` set to free ports on 127.0.0.1 (``API_HOST=127.0.0.1``) and
``DATA_DIR`` to a temporary directory. A missing
binary or ``CHDB_LIB`` fails the session: these tests never skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from event_client import EventClient

REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_BIN = REPO_ROOT / "bin" / "otelcol-events"
DEFAULT_CONFIG = REPO_ROOT / "config" / "single-node.yaml"
STARTUP_TIMEOUT = 60.0
# QUERY_PORT: the eventsquery extension's own listener (its routes are also
# mounted on API_PORT); set so that it cannot collide with anything else.
PORT_VARS = (
    "API_PORT",
    "OTLP_GRPC_PORT",
    "OTLP_HTTP_PORT",
    "HEALTH_PORT",
    "METRICS_PORT",
    "QUERY_PORT",
)

_collector_log: Optional[Path] = None  # shown in the summary when a test failed


def _free_ports(count: int) -> List[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(path: Optional[Path], lines: int = 60) -> str:
    if path is None or not path.exists():
        return "(no collector output)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(collector output is empty)"


def _health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running collector (``EVENTS_BASE_URL`` or one started here)."""
    global _collector_log
    external = os.environ.get("EVENTS_BASE_URL")
    if external:
        yield external.rstrip("/")
        return

    binary = Path(os.environ.get("OTELCOL_EVENTS_BIN") or DEFAULT_BIN)
    config = Path(os.environ.get("OTELCOL_EVENTS_CONFIG") or DEFAULT_CONFIG)
    problems = []
    if not binary.is_file():
        problems.append(
            f"collector binary {binary} does not exist (build it, or set OTELCOL_EVENTS_BIN)"
        )
    if not os.environ.get("CHDB_LIB"):
        problems.append("CHDB_LIB is not set (the path of libchdb.so for the embedded engine)")
    if not config.is_file():
        problems.append(f"collector config {config} does not exist")
    if problems:
        pytest.fail(
            "cannot start the collector for the integration tests: "
            + "; ".join(problems)
            + " (or set EVENTS_BASE_URL to use a running server)",
            pytrace=False,
        )

    workdir = tmp_path_factory.mktemp("collector")
    data_dir = workdir / "data"
    data_dir.mkdir()
    _collector_log = workdir / "collector.log"
    ports: Dict[str, str] = dict(zip(PORT_VARS, map(str, _free_ports(len(PORT_VARS)))))
    env = dict(os.environ, API_HOST="127.0.0.1", DATA_DIR=str(data_dir), **ports)
    url = f"http://127.0.0.1:{ports['API_PORT']}"

    with open(_collector_log, "wb") as log:
        proc = subprocess.Popen(
            [str(binary), f"--config={config}"],
            cwd=str(REPO_ROOT),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _health_ok(url + "/health"):
            if proc.poll() is not None:
                pytest.fail(
                    f"the collector exited with status {proc.returncode} before "
                    f"{url}/health answered 200; its output ends with:\n{_tail(_collector_log)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{url}/health did not answer 200 within {STARTUP_TIMEOUT:.0f}s; "
                    f"the collector's output ends with:\n{_tail(_collector_log)}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield url
    finally:
        _stop(proc)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _collector_log is None:
        return
    if terminalreporter.stats.get("failed") or terminalreporter.stats.get("error"):
        terminalreporter.section("collector output (tail)")
        terminalreporter.write_line(_tail(_collector_log, 200))


@pytest.fixture
def client(base_url: str) -> Iterator[EventClient]:
    with EventClient(base_url, api_key=os.environ.get("EVENTS_API_KEY") or None) as c:
        yield c
