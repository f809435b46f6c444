"""Route requests for the mock's hosts to the mock, whichever httpx or httpx2 client sends them.

While an :class:`Interceptor` is active, the default transports of ``httpx`` and ``httpx2``
(``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request``, sync and async)
look at each request's host: the mock's hosts are served in-process by its ASGI app, every other
host goes to the network as before (or fails, with ``pass_through=False``). Clients built by the
code under test are caught without changes: a default ``openai.OpenAI()`` (httpx2), ``httpx.post``,
``ainative-openai``, ``ainative-agent`` and ``ainative-python`` all send through these transports.
This is how respx patches httpx, one level up, so a test may still use respx for other hosts.

A client with its own transport object (``transport=httpx.MockTransport(...)``, aiohttp) is left
alone; :mod:`mockserver.netguard` stops those from reaching AINative's production hosts.

Example:
    >>> import httpx
    >>> from mockserver.app import create_app
    >>> with Interceptor(create_app(), hosts=("api.ainative.studio",)):
    ...     httpx.get("https://api.ainative.studio/health").json()["status"]
    'ok'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import ModuleType, TracebackType
from typing import Any

from starlette.types import ASGIApp

from mockserver.transports import SyncASGITransport, exchange

__all__ = ["Interceptor", "UnexpectedRequest", "http_libraries"]

_active: list[Interceptor] = []
_patched: list[tuple[type, str, Any]] = []
_lock = threading.RLock()


def http_libraries() -> list[ModuleType]:
    """The HTTP libraries installed whose transports are intercepted (``httpx``, ``httpx2``)."""
    import httpx

    libraries = [httpx]
    try:
        import httpx2
    except ImportError:  # pragma: no cover - httpx2 comes with the openai SDK 3.x
        return libraries
    return [*libraries, httpx2]


class UnexpectedRequest:
    """A request an interceptor with ``pass_through=False`` refused (for the teardown report)."""

    def __init__(self, method: str, url: str) -> None:
        self.method = method
        self.url = url

    def __repr__(self) -> str:
        return f"{self.method} {self.url}"


class Interceptor:
    """Serve every httpx/httpx2 request for ``hosts`` with ``app``, in-process, while active.

    Args:
        app: the ASGI app that answers (the mock's).
        hosts: host names served by ``app`` (any scheme and port), compared case-insensitively.
        pass_through: requests for other hosts go to the network (``True``, the default) or fail
            at once with the library's ``ConnectError`` and are listed in :attr:`unexpected`.

    Interceptors nest: the most recently started one that serves a host answers for it. Start and
    stop with ``with`` or :meth:`start`/:meth:`stop`; stopping closes the background event loop
    that serves synchronous clients.
    """

    def __init__(self, app: ASGIApp, hosts: Iterable[str], *, pass_through: bool = True) -> None:
        self.app = app
        self.hosts = frozenset(host.lower() for host in hosts)
        self.pass_through = pass_through
        self.unexpected: list[UnexpectedRequest] = []
        self._sync = SyncASGITransport(app)

    def serves(self, host: str) -> bool:
        """Whether requests for ``host`` are answered by this interceptor's app."""
        return host.lower() in self.hosts

    def start(self) -> Interceptor:
        """Begin intercepting (patches the transports when the first interceptor starts)."""
        with _lock:
            if not _active:
                _patch()
            _active.append(self)
        return self

    def stop(self) -> None:
        """Stop intercepting (restores the transports when the last interceptor stops)."""
        with _lock:
            if self in _active:
                _active.remove(self)
            if not _active:
                _unpatch()
        self._sync.close()

    def __enter__(self) -> Interceptor:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _route(request: Any, http: Any) -> Interceptor | None:
    """The interceptor serving ``request``; None to send it to the network; raises if refused."""
    host = request.url.host
    with _lock:
        active = list(_active)
    for interceptor in reversed(active):
        if interceptor.serves(host):
            return interceptor
    strict = [interceptor for interceptor in active if not interceptor.pass_through]
    if not strict:
        return None
    url = str(request.url)
    for interceptor in strict:
        interceptor.unexpected.append(UnexpectedRequest(request.method, url))
    served = sorted(set().union(*(interceptor.hosts for interceptor in active)))
    raise http.ConnectError(
        f"the AINative mock refused {request.method} {url}: it serves only {', '.join(served)}, and requests "
        "for other hosts fail because the mock was set up with pass_through=False",
        request=request,
    )


def _sync_handler(original: Callable[..., Any], http: Any) -> Callable[..., Any]:
    def handle_request(transport: Any, request: Any) -> Any:
        interceptor = _route(request, http)
        if interceptor is None:
            return original(transport, request)
        return interceptor._sync.serve(request, http)

    return handle_request


def _async_handler(original: Callable[..., Any], http: Any) -> Callable[..., Any]:
    async def handle_async_request(transport: Any, request: Any) -> Any:
        interceptor = _route(request, http)
        if interceptor is None:
            return await original(transport, request)
        return await exchange(interceptor.app, request, await request.aread(), http=http)

    return handle_async_request


def _patch() -> None:
    for http in http_libraries():
        for cls, name, make in (
            (http.HTTPTransport, "handle_request", _sync_handler),
            (http.AsyncHTTPTransport, "handle_async_request", _async_handler),
        ):
            original = cls.__dict__[name]
            _patched.append((cls, name, original))
            setattr(cls, name, make(original, http))


def _unpatch() -> None:
    while _patched:
        cls, name, original = _patched.pop()
        setattr(cls, name, original)
