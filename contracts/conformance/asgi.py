"""A minimal synchronous transport to serve httpx requests from an ASGI app in-process.

The conformance runner's own, so that ``contracts/`` depends on nothing above it (the mock keeps
its own transports, for httpx and httpx2, in its package).
``httpx.ASGITransport`` is async-only; the runner's client is synchronous. :class:`SyncASGITransport`
runs the app on a background event loop (one ``anyio`` blocking portal), so it works from any
thread. A response the app leaves unfinished (a server dropping the connection mid-body) reaches
the client as its partial body followed by ``httpx.RemoteProtocolError``, as over a real network.
Bodies are buffered: streaming *timing* needs a real socket.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import anyio.from_thread
import httpx

__all__ = ["SyncASGITransport", "call_app"]

_CUT = "peer closed connection without sending complete message body"


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A buffered body that, when ``cut``, raises after its bytes like a dropped connection."""

    def __init__(self, content: bytes, cut: bool) -> None:
        self._content = content
        self._cut = cut

    def __iter__(self) -> Iterator[bytes]:
        if self._content:
            yield self._content
        if self._cut:
            raise httpx.RemoteProtocolError(_CUT)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._content:
            yield self._content
        if self._cut:
            raise httpx.RemoteProtocolError(_CUT)


async def call_app(
    app: Any, request: httpx.Request, body: bytes, client: tuple[str, int] = ("127.0.0.1", 123)
) -> httpx.Response:
    """Send ``request`` (with ``body``) to ``app`` and return its buffered response."""
    complete = True

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        nonlocal complete
        finished = False

        async def tracking_send(message: Any) -> None:
            nonlocal finished
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
            await send(message)

        await app(scope, receive, tracking_send)
        if scope["type"] == "http" and not finished:  # the app dropped the connection mid-body
            complete = False
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    forwarded = httpx.Request(
        request.method, request.url, headers=request.headers, content=body, extensions=dict(request.extensions)
    )
    response = await httpx.ASGITransport(app=guarded, client=client).handle_async_request(forwarded)
    content = await response.aread()
    return httpx.Response(
        response.status_code, headers=response.headers.raw, stream=_Body(content, not complete), request=request
    )


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
        self._app = app
        self._client = client
        self._stack = contextlib.ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def _get_portal(self) -> anyio.from_thread.BlockingPortal:
        if self._portal is None:
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        return self._portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app and return its buffered response."""
        return self._get_portal().call(partial(call_app, self._app, request, request.read(), self._client))

    def close(self) -> None:
        """Stop the background event loop."""
        self._stack.close()
        self._portal = None
