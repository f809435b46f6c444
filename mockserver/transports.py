"""In-process transports: serve an ASGI app to httpx clients without a socket.

httpx's own ``ASGITransport`` is async-only; :class:`SyncASGITransport` runs the app in a
background event loop (one ``anyio`` blocking portal) so plain ``httpx.Client`` works too.
Like every in-process transport, both buffer whole responses: stream timing and client
disconnects need the real server (the ``ainative_server`` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio.from_thread
import httpx
from starlette.types import ASGIApp

__all__ = ["SyncASGITransport", "asgi_side_effect"]


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport that calls an ASGI app in a background event loop."""

    def __init__(self, app: ASGIApp) -> None:
        self._async = httpx.ASGITransport(app=app)
        self._stack = contextlib.ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def _get_portal(self) -> anyio.from_thread.BlockingPortal:
        if self._portal is None:
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        return self._portal

    async def _send(
        self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes, extensions: dict[str, Any]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        request = httpx.Request(method, url, headers=headers, content=body, extensions=extensions)
        response = await self._async.handle_async_request(request)
        content = await response.aread()
        return response.status_code, response.headers.raw, content

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        status, headers, content = self._get_portal().call(
            self._send, request.method, request.url, request.headers, body, dict(request.extensions)
        )
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        self._stack.close()
        self._portal = None


def asgi_side_effect(app: ASGIApp, sync_transport: SyncASGITransport) -> Any:
    """A respx side effect serving ``app``: awaited for async clients, run in a portal for sync ones.

    Sync clients are recognised by having no running event loop in the calling thread; a sync
    httpx client called from inside a coroutine is not supported (use the async client there).
    """
    async_transport = httpx.ASGITransport(app=app)

    async def serve_async(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = await async_transport.handle_async_request(forwarded)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers.raw, content=content, request=request)

    def side_effect(request: httpx.Request) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return sync_transport.handle_request(request)
        return serve_async(request)

    return side_effect
