"""Shared fixtures: the ``integration`` marker, the stub server, a recording sleep."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Iterator

import pytest

SDK_DIR = Path(__file__).resolve().parents[1]
if str(SDK_DIR) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(SDK_DIR))

from stubserver import SleepRecorder, StubServer, running_stub  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: runs against the real collector (started by the test session, "
        "or EVENTS_BASE_URL)",
    )


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """A scripted HTTP server on 127.0.0.1; see :class:`stubserver.StubServer`."""
    with running_stub() as server:
        yield server


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
