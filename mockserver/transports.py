"""In-process transports: serve the mock's ASGI app to httpx and httpx2 clients without a socket.

:func:`exchange` runs one request through the app and keeps each body message the app sends as
one chunk, so an SSE stream reaches the client event by event (``iter_raw`` yields one event per
chunk, as a network read would). A response the app leaves unfinished (a server dropping the
connection mid-body) reaches the client as the chunks sent so far, then the library's
``RemoteProtocolError``, as over a real network.

:class:`SyncASGITransport` runs the app on a background event loop (one ``anyio`` blocking portal),
so it serves plain ``httpx.Client`` and ``httpx2.Client`` from any thread; :class:`AsyncASGITransport`
runs it in the caller's loop. Both are what :mod:`mockserver.intercept` plugs into every client.
Like every in-process transport, responses are complete before the client sees them: stream timing
and client disconnects need the real server (the ``ainative_server`` fixture).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from functools import cache
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.from_thread
import httpx
from starlette.types import ASGIApp, Message

__all__ = ["AsyncASGITransport", "SyncASGITransport", "exchange"]

CLIENT = ("127.0.0.1", 123)
"""The (host, port) the app sees as the client address."""
_CUT = "peer closed connection without sending complete message body"


@cache
def _body_class(http: Any) -> Any:
    """A chunked body class for the HTTP library ``http`` (``httpx`` or its fork ``httpx2``)."""

    class Body(http.SyncByteStream, http.AsyncByteStream):  # type: ignore[misc]
        """The body messages of a response, one chunk each; raises after them when ``cut``."""

        def __init__(self, parts: list[bytes], cut: bool) -> None:
            self._parts = parts
            self._cut = cut

        def __iter__(self) -> Iterator[bytes]:
            yield from self._parts
            if self._cut:
                raise http.RemoteProtocolError(_CUT)

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for part in self._parts:
                yield part
            if self._cut:
                raise http.RemoteProtocolError(_CUT)

    return Body


def _scope(request: Any, client: tuple[str, int]) -> dict[str, Any]:
    url = request.url
    raw_path, _, query = url.raw_path.partition(b"?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "scheme": url.scheme,
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "server": (url.host, url.port),
        "client": client,
        "root_path": "",
        "extensions": {},
    }


async def exchange(
    app: ASGIApp, request: Any, body: bytes, *, http: Any = httpx, client: tuple[str, int] = CLIENT
) -> Any:
    """Send ``request`` (whose content is ``body``) to ``app``; its response, body chunked per message.

    ``http`` is the library of ``request`` and of the returned response: ``httpx`` or ``httpx2``.
    An exception the app raises reaches the caller (a bug in the app is not a network error).

    Example:
        >>> import anyio, httpx
        >>> from starlette.responses import PlainTextResponse
        >>> app = PlainTextResponse("hello")
        >>> response = anyio.run(exchange, app, httpx.Request("GET", "http://app/"), b"")
        >>> response.status_code, response.read()
        (200, b'hello')
    """
    request_sent = False
    finished = anyio.Event()
    start: Message | None = None
    parts: list[bytes] = []

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()  # the client hangs up once the response is complete
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body" and not finished.is_set():
            if message.get("body"):
                parts.append(bytes(message["body"]))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(_scope(request, client), receive, send)
    finally:
        cut = not finished.is_set()
        finished.set()
    if start is None:  # the app hung up before answering: the client sees a dropped connection
        raise http.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    body_class = _body_class(http)
    return http.Response(
        start["status"], headers=start.get("headers", []), stream=body_class(parts, cut), request=request
    )


class SyncASGITransport(httpx.BaseTransport):
    """Serve synchronous httpx (or httpx2) requests from an ASGI app, from any thread.

    Args:
        app: the ASGI application.
        http: ``httpx`` (default) or ``httpx2``: the library of the client this transport serves.

    The app runs on a background event loop started on first use; :meth:`close` stops it.
    Whoever creates the transport closes it (a client closes its transport when it closes).

    Example:
        >>> from starlette.applications import Starlette
        >>> with httpx.Client(transport=SyncASGITransport(Starlette()), base_url="http://app") as client:
        ...     client.get("/").status_code
        404
    """

    def __init__(self, app: ASGIApp, *, http: Any = httpx) -> None:
        self._app = app
        self._http = http
        self._stack = contextlib.ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def _get_portal(self) -> anyio.from_thread.BlockingPortal:
        if self._portal is None:
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        return self._portal

    def serve(self, request: Any, http: Any) -> Any:
        """Serve ``request`` of library ``http`` (``httpx`` or ``httpx2``): its buffered, chunked response."""
        body = request.read()

        async def call() -> Any:
            return await exchange(self._app, request, body, http=http)

        return self._get_portal().call(call)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app and return its response."""
        response: httpx.Response = self.serve(request, self._http)
        return response

    def close(self) -> None:
        """Stop the background event loop (it starts again on the next request)."""
        self._stack.close()
        self._portal = None


class AsyncASGITransport(httpx.AsyncBaseTransport):
    """Serve async httpx (or httpx2) requests from an ASGI app, in the caller's event loop.

    ``http`` is ``httpx`` (default) or ``httpx2`` (for the openai SDK 3.x). Nothing to close.
    """

    def __init__(self, app: ASGIApp, *, http: Any = httpx) -> None:
        self._app = app
        self._http = http

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app and return its response."""
        response: httpx.Response = await exchange(self._app, request, await request.aread(), http=self._http)
        return response
