"""Fixtures of the reliability tests: mocks served on 127.0.0.1, a capture of server-side log records."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.testing import ServedMock
from tests.support.mocks import ServeFactory, served_mock
from tests.support.server_insides import LogCapture, LogsFactory, connection_count, wait_for

SERVER_LOGGERS = ("mockserver", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@pytest.fixture
def serve() -> Iterator[ServeFactory]:
    """Factory of mocks served on 127.0.0.1: ``serve(**MockConfig fields)`` -> a started ServedMock."""
    started: list[ServedMock] = []

    def build(**settings: Any) -> ServedMock:
        mock = served_mock(**settings).start()
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
