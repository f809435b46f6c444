"""Fixtures of the mock-server tests: in-process mocks (TestClient) and mocks served on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from mockserver_support import Mock, MockFactory, Served

from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from mockserver.server import ServerThread


@pytest.fixture
def make_mock() -> Iterator[MockFactory]:
    """Factory of in-process mocks: ``make_mock(**MockConfig fields)`` -> Mock (TestClient inside)."""
    clients: list[TestClient] = []

    def build(**settings: Any) -> Mock:
        mock = AINativeMock(MockConfig(**settings))
        client = TestClient(mock.app, base_url="http://mock.test", raise_server_exceptions=False)
        clients.append(client)
        return Mock(mock, client)

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def mock(make_mock: MockFactory) -> Mock:
    """An in-process mock with the default config."""
    return make_mock()


@pytest.fixture
def serve_mock() -> Iterator[Callable[..., Served]]:
    """Factory of served mocks: ``serve_mock(**MockConfig fields)`` -> Served, stopped at teardown."""
    servers: list[ServerThread] = []

    def build(**settings: Any) -> Served:
        mock = AINativeMock(MockConfig(**settings))
        server = ServerThread(mock.app).start()
        servers.append(server)
        return Served(mock, server)

    yield build
    for server in servers:
        server.stop()


@pytest.fixture
def served(serve_mock: Callable[..., Served]) -> Served:
    """A mock with the default config, served on 127.0.0.1 port 0."""
    return serve_mock()
