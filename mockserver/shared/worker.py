"""The app each worker process serves: built in the worker from the config the parent parsed.

uvicorn starts workers with ``spawn`` and pickles their config; :class:`WorkerApp` travels as the
:class:`~mockserver.config.MockConfig` alone and builds the mock (on shared state) inside the
worker, so no import string or environment hand-off is needed.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.config import MockConfig

__all__ = ["WorkerApp", "enable_batching"]


def enable_batching(mock: Any) -> None:
    """Let ``mock`` (an :class:`~mockserver.app.AINativeMock` on shared state) batch its Redis commands.

    For a mock served by one long-lived event loop: see :mod:`mockserver.shared.batch`.
    """
    store = getattr(mock.state, "store", None)
    if store is not None:
        store.batching = True


class WorkerApp:
    """An ASGI app that is the mock for ``config``, built on first use in the process that serves it."""

    def __init__(self, config: MockConfig, *, console: bool = False) -> None:
        self.config = config
        self.console = console
        self._app: ASGIApp | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "console": self.console}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config = state["config"]
        self.console = state["console"]
        self._app = None

    def build(self) -> ASGIApp:
        """The mock's app (built once)."""
        if self._app is None:
            import sys

            from mockserver.app import AINativeMock
            from mockserver.console import ConsoleLog

            mock = AINativeMock(self.config)
            enable_batching(mock)
            if self.console:  # each worker prints the requests it answers
                mock.state.journal.listeners.append(ConsoleLog(sys.stdout))
            self._app = mock.app
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self._app or self.build())(scope, receive, send)
