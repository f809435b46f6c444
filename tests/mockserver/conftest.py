"""Fixtures of the mock-server tests: in-process mocks (TestClient) and mocks served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.testing import ServedMock
from tests.support.mocks import Mock, MockFactory, ServeFactory, served_mock


@pytest.fixture
def make_mock() -> Iterator[MockFactory]:
    """Factory of in-process mocks: ``make_mock(**MockConfig fields)`` -> Mock (TestClient inside)."""
    built: list[Mock] = []

    def build(**settings: Any) -> Mock:
        built.append(Mock.build(**settings))
        return built[-1]

    yield build
    for mock in built:
        mock.close()


@pytest.fixture
def mock(make_mock: MockFactory) -> Mock:
    """An in-process mock with the default config."""
    return make_mock()


@pytest.fixture
def serve_mock() -> Iterator[ServeFactory]:
    """Factory of served mocks: ``serve_mock(**MockConfig fields)`` -> a started ServedMock, stopped at teardown."""
    started: list[ServedMock] = []

    def build(**settings: Any) -> ServedMock:
        started.append(served_mock(**settings).start())
        return started[-1]

    yield build
    for served in started:
        served.stop()


@pytest.fixture
def served(serve_mock: ServeFactory) -> ServedMock:
    """A mock with the default config, served on 127.0.0.1 port 0."""
    return serve_mock()
