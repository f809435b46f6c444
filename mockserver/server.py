"""Run the mock on a real socket: uvicorn in a background thread (tests, fixtures) or in front (CLI)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ServerThread", "listening_socket", "serving_stack", "uvicorn_config"]


class _DropPlannedDisconnects(logging.Filter):
    """Hide uvicorn's error line for streams the mock cuts on purpose (the ``disconnect`` fault)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "ASGI callable returned without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_DropPlannedDisconnects())


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn (``port`` 0 picks a free one).

    Created with ``IPPROTO_TCP`` so that asyncio sets ``TCP_NODELAY`` on accepted connections:
    without it each SSE event waits on Nagle's algorithm and the client's delayed ACK (~40 ms).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(
    app: ASGIApp, host: str, port: int, log_level: str = "warning", *, workers: int = 1
) -> uvicorn.Config:
    """The uvicorn settings the mock runs with (shared by the CLI, fixtures and benchmarks)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=30,  # a worker starting on a busy machine is slow, not dead
        log_level=log_level,
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
        h11_max_incomplete_event_size=64 * 1024,
    )


def serving_stack(config: uvicorn.Config) -> tuple[str, str]:
    """The event loop and HTTP parser uvicorn runs with ``config``, e.g. ``("uvloop", "httptools")``.

    With ``"auto"`` (the default) uvicorn takes uvloop and httptools when they import (they come
    with ``uvicorn[standard]``, a dependency of this package), else asyncio and h11.
    """
    loop = config.loop if isinstance(config.loop, str) else getattr(config.loop, "__name__", "custom")
    if loop == "auto":
        loop = "uvloop" if _imports("uvloop") else "asyncio"
    http = config.http if isinstance(config.http, str) else config.http.__name__
    if http == "auto":
        http = "httptools" if _imports("httptools") else "h11"
    return loop, http


def _imports(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


class ServerThread:
    """Serve ``app`` with uvicorn on ``host``:``port`` (0 = a free port) in a daemon thread.

    Example:
        >>> from mockserver.app import create_app
        >>> with ServerThread(create_app()) as server:
        ...     server.base_url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        self.host = host
        self._socket = listening_socket(host, port)
        self.port: int = self._socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(app, host, self.port, log_level))
        self._thread = threading.Thread(target=self._run, name=f"ainative-mock:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        self.server.run(sockets=[self._socket])

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the mock server did not start on {self.base_url}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
