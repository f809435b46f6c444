"""Mocks for tests, built with the library the fixtures use (:mod:`mockserver.testing`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from mockserver.state import MockState
from mockserver.testing import InProcessMock, ServedMock
from tests.support.chat import CHAT_PATH, HEADERS


def new_mock(**settings: Any) -> AINativeMock:
    """A fresh mock built from ``MockConfig(**settings)``."""
    return AINativeMock(MockConfig(**settings))


def served_mock(**settings: Any) -> ServedMock:
    """A :class:`ServedMock` of ``MockConfig(**settings)``, not started yet (use it as a context manager)."""
    return ServedMock(MockConfig(**settings))


@dataclass
class Mock:
    """An :class:`InProcessMock` and a Starlette TestClient on its app (server errors come back as 500s)."""

    controller: InProcessMock
    client: TestClient

    @classmethod
    def build(cls, **settings: Any) -> Mock:
        """An in-process mock of ``MockConfig(**settings)`` with its client on ``http://mock.test``."""
        controller = InProcessMock(MockConfig(**settings))
        return cls(
            controller, TestClient(controller.mock.app, base_url="http://mock.test", raise_server_exceptions=False)
        )

    @property
    def mock(self) -> AINativeMock:
        """The mock (its ``app`` and ``state``)."""
        return self.controller.mock

    @property
    def state(self) -> MockState:
        """The mock's state."""
        return self.controller.state

    def post(self, body: Any = None, path: str = CHAT_PATH, **kwargs: Any) -> Any:
        """POST ``body`` as JSON (authenticated unless ``headers`` are given)."""
        kwargs.setdefault("headers", HEADERS)
        if body is not None:
            kwargs["json"] = body
        return self.client.post(path, **kwargs)

    def close(self) -> None:
        """Close the client and the controller's transports."""
        self.client.close()
        self.controller.stop()


MockFactory = Callable[..., Mock]
"""``make_mock(**MockConfig fields)`` -> :class:`Mock`."""
ServeFactory = Callable[..., ServedMock]
"""``serve(**MockConfig fields)`` -> a started :class:`ServedMock`, stopped at teardown."""
