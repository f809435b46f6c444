"""In-process transports: serve an ASGI app to httpx clients without a socket.

httpx's own ``ASGITransport`` is async-only; :class:`SyncASGITransport` (shared with the
conformance runner) runs the app in a background event loop so plain ``httpx.Client`` works too.
Like every in-process transport, both buffer whole responses: stream timing and client
disconnects need the real server (the ``ainative_server`` fixture).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.types import ASGIApp

from contracts.conformance.asgi import SyncASGITransport, call_app

__all__ = ["AsyncASGITransport", "SyncASGITransport", "asgi_side_effect"]


def asgi_side_effect(app: ASGIApp, sync_transport: SyncASGITransport) -> Any:
    """A respx side effect serving ``app``: awaited for async clients, run in a portal for sync ones.

    Sync clients are recognised by having no running event loop in the calling thread; a sync
    httpx client called from inside a coroutine is not supported (use the async client there).
    """

    async def serve_async(request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await call_app(app, request, await request.aread())
        return response

    def side_effect(request: httpx.Request) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return sync_transport.handle_request(request)
        return serve_async(request)

    return side_effect


class AsyncASGITransport(httpx.AsyncBaseTransport):
    """An async transport for an ASGI app that reports dropped connections like a network would.

    ``http`` is ``httpx`` (default) or ``httpx2`` (for the openai SDK 3.x).
    """

    def __init__(self, app: ASGIApp, *, http: Any = httpx) -> None:
        self._app = app
        self._http = http

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await call_app(self._app, request, await request.aread(), http=self._http)
        return response
