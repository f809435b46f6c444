"""A synchronous httpx transport that serves requests from an ASGI app in-process.

``httpx.ASGITransport`` is async-only; the runner's client is synchronous. This adapter drives
``httpx.ASGITransport`` on a private event loop, so a run can target an app without a socket.
Like every in-process transport it buffers whole bodies: streaming *timing* needs a real socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

__all__ = ["SyncASGITransport"]


class SyncASGITransport(httpx.BaseTransport):
    """Serve synchronous httpx requests from an ASGI application.

    Args:
        app: the ASGI application.
        client: the (host, port) the app sees as the client address.

    Example:
        >>> from starlette.applications import Starlette
        >>> with httpx.Client(transport=SyncASGITransport(Starlette()), base_url="http://app") as c:
        ...     c.get("/").status_code
        404
    """

    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._loop = asyncio.new_event_loop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app and return its buffered response."""

        async def exchange() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self._loop.run_until_complete(exchange())

    def close(self) -> None:
        """Close the private event loop."""
        if not self._loop.is_closed():
            self._loop.close()
