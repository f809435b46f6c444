"""Fixtures of the client matrix: one served mock per module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.config import MockConfig
from mockserver.testing import ServedMock
from tests.clients.clients_support import KEY


@pytest.fixture(scope="module")
def served() -> Iterator[ServedMock]:
    """A mock on 127.0.0.1 (real socket) with plenty of credits, shared by one module's tests."""
    with ServedMock(MockConfig(credits=10**9), api_key=KEY) as mock:
        yield mock


@pytest.fixture(autouse=True)
def fresh(served: ServedMock) -> None:
    """Each test starts from the startup state (journal, balances, queued replies)."""
    served.reset()
