"""Fixtures of the reliability tests: mocks served on 127.0.0.1, a capture of server-side log records.

Helpers live in ``reliability_support.py`` (put on ``sys.path`` here).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reliability_support import LogCapture, LogsFactory, ServeFactory, connection_count, wait_for

from mockserver.config import MockConfig
from mockserver.testing import ServedMock

SERVER_LOGGERS = ("mockserver", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@pytest.fixture
def serve() -> Iterator[ServeFactory]:
    """Factory of mocks served on 127.0.0.1: ``serve(**MockConfig fields)`` -> a started ServedMock."""
    started: list[ServedMock] = []

    def build(**settings: Any) -> ServedMock:
        mock = ServedMock(MockConfig(**settings)).start()
        started.append(mock)
        return mock

    yield build
    for mock in started:
        # A server that cannot shut down has leaked a connection: say so rather than hang.
        left = wait_for(lambda mock=mock: connection_count(mock.server), lambda n: n == 0, timeout=3)
        mock.stop()
        assert left == 0, f"{left} connection(s) still open on {mock.base_url} at teardown"


@pytest.fixture
def server_logs() -> Iterator[LogsFactory]:
    """``server_logs()`` starts capturing the mock's and uvicorn's log records at DEBUG (call it after ``serve``).

    uvicorn configures its loggers (and drops foreign handlers) whenever a server is created,
    so capture starts when called, not when the fixture is set up.
    """
    capture = LogCapture()
    saved: dict[str, int] = {}

    def start() -> LogCapture:
        for name in SERVER_LOGGERS:
            logger = logging.getLogger(name)
            saved.setdefault(name, logger.level)
            logger.setLevel(logging.DEBUG)
            logger.addHandler(capture)
        return capture

    yield start
    for name, level in saved.items():
        logger = logging.getLogger(name)
        logger.removeHandler(capture)
        logger.setLevel(level)
