"""Keep tests away from AINative's production hosts, whatever library opens the connection.

While a :class:`NetworkGuard` is active, looking up or connecting to a host of
``ainative.studio`` (``api.ainative.studio``, ``staging-api.ainative.studio``...) raises
:class:`LiveCallBlockedError` at once, before any packet leaves the machine. The guard sits where
every Python client passes: ``socket.getaddrinfo`` (requests, urllib3, httpx, aiohttp, asyncio),
``socket.gethostbyname`` and ``socket.socket.connect``/``connect_ex`` (a raw socket given a name).
Every other host, loopback included, is untouched.

The fixtures ``ainative_mock`` and ``ainative_server`` (and :class:`~mockserver.testing.InProcessMock`)
start a guard; ``pytest --ainative-allow-live`` and the conformance suite's ``--ainative-base-url``
host are the ways through. :func:`resolve` points a host name at another address (a local stand-in,
never the real host), like curl's ``--resolve``.

Example:
    >>> import socket
    >>> with NetworkGuard("InProcessMock"):
    ...     socket.getaddrinfo("api.ainative.studio", 443)
    Traceback (most recent call last):
    ...
    mockserver.netguard.LiveCallBlockedError: api.ainative.studio is an AINative production host...
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

__all__ = ["GUARDED_DOMAIN", "LiveCallBlockedError", "NetworkGuard", "is_guarded", "resolve"]

GUARDED_DOMAIN = "ainative.studio"
"""The domain whose hosts a guarded test never contacts."""
IN_PROCESS_OWNERS = ("ainative_mock", "InProcessMock")
"""Guard owners that also serve httpx/httpx2 clients in-process (the error message says so)."""

_lock = threading.RLock()
_guards: list[NetworkGuard] = []
_aliases: dict[str, str] = {}
_originals: dict[str, Any] = {}


class LiveCallBlockedError(RuntimeError):
    """A test tried to reach an AINative production host; the message says what to do instead.

    Example:
        >>> with NetworkGuard("ainative_mock"):
        ...     socket.create_connection(("api.ainative.studio", 443))
        Traceback (most recent call last):
        ...
        mockserver.netguard.LiveCallBlockedError: api.ainative.studio is an AINative production host, ...
    """


def is_guarded(host: str) -> bool:
    """Whether ``host`` belongs to AINative's production domain.

    Example:
        >>> is_guarded("api.ainative.studio"), is_guarded("STAGING-API.ainative.studio."), is_guarded("127.0.0.1")
        (True, True, False)
    """
    name = host.strip("[]").rstrip(".").lower()
    return name == GUARDED_DOMAIN or name.endswith("." + GUARDED_DOMAIN)


def explain(host: str, owner: str) -> str:
    """The message of a blocked call to ``host`` in a test guarded by ``owner`` (a fixture or class name)."""
    lines = [f"{host} is an AINative production host, and a test using {owner} never contacts it."]
    if owner in IN_PROCESS_OWNERS:
        lines.append(
            f"httpx and httpx2 clients (httpx, openai, ainative-openai, ainative-agent, ainative-python) are served "
            f"in-process by {owner}; this client opened its own socket (requests, urllib3, aiohttp, a raw socket). "
            "Serve it with the ainative_server fixture and point it at $AINATIVE_BASE_URL or $OPENAI_BASE_URL."
        )
    else:
        lines.append(
            f"Point the client at the served mock: {owner}.base_url, or $AINATIVE_BASE_URL / $OPENAI_BASE_URL, "
            "which the fixture sets. httpx clients with a hard-coded production URL are served in-process by "
            "the ainative_mock fixture."
        )
    lines.append("To call the live API on purpose, run pytest with --ainative-allow-live.")
    return "\n".join(lines)


class NetworkGuard:
    """Block AINative production hosts while active (see the module docstring).

    Args:
        owner: who guards, named in the error (``"ainative_mock"``, ``"ainative_server"``...).
        allow: production host names let through anyway (the conformance suite's target).

    Guards nest; a host is blocked while any active guard blocks it. Use as a context manager or
    call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, owner: str = "InProcessMock", *, allow: Iterable[str] = ()) -> None:
        self.owner = owner
        self.allow = frozenset(host.lower().rstrip(".") for host in allow)

    def blocks(self, host: str) -> bool:
        """Whether this guard refuses ``host``."""
        return is_guarded(host) and host.strip("[]").rstrip(".").lower() not in self.allow

    def start(self) -> NetworkGuard:
        """Begin guarding."""
        with _lock:
            _guards.append(self)
            _install()
        return self

    def stop(self) -> None:
        """Stop guarding."""
        with _lock:
            if self in _guards:
                _guards.remove(self)
            _uninstall_if_idle()

    def __enter__(self) -> NetworkGuard:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextmanager
def resolve(host: str, address: str) -> Iterator[None]:
    """Resolve and connect ``host`` as ``address`` meanwhile (a local stand-in for a real host).

    A guard still blocks ``host`` unless live calls are allowed: this changes where an allowed call
    goes, never whether it goes.

    Example:
        >>> with resolve("api.ainative.studio", "127.0.0.1"):
        ...     socket.getaddrinfo("api.ainative.studio", 80, type=socket.SOCK_STREAM)[0][4]
        ('127.0.0.1', 80)
    """
    key = host.lower().rstrip(".")
    with _lock:
        _aliases[key] = address
        _install()
    try:
        yield
    finally:
        with _lock:
            _aliases.pop(key, None)
            _uninstall_if_idle()


def _check(host: Any) -> Any:
    """Raise if a guard blocks ``host``; the address to use for it (an alias, or ``host`` itself)."""
    if not isinstance(host, str | bytes):
        return host
    name = host.decode("idna") if isinstance(host, bytes) else host
    with _lock:
        blocking = [guard for guard in _guards if guard.blocks(name)]
        alias = _aliases.get(name.strip("[]").rstrip(".").lower())
    if blocking:
        raise LiveCallBlockedError(explain(name, blocking[-1].owner))
    return alias if alias is not None else host


def _guarded_lookup(original: Callable[..., Any]) -> Callable[..., Any]:
    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        return original(_check(host), *args, **kwargs)

    return lookup


def _guarded_connect(original: Callable[..., Any]) -> Callable[..., Any]:
    def connect(sock: socket.socket, address: Any, /) -> Any:
        if isinstance(address, tuple) and address:
            address = (_check(address[0]), *address[1:])
        return original(sock, address)

    return connect


def _install() -> None:
    if _originals:
        return
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        _originals[name] = getattr(socket, name)
        setattr(socket, name, _guarded_lookup(_originals[name]))
    for name in ("connect", "connect_ex"):
        _originals["socket." + name] = socket.socket.__dict__.get(name)  # None: inherited from _socket
        setattr(socket.socket, name, _guarded_connect(getattr(socket.socket, name)))


def _uninstall_if_idle() -> None:
    if _guards or _aliases or not _originals:
        return
    for name, original in _originals.items():
        if name.startswith("socket.") and original is None:
            delattr(socket.socket, name.removeprefix("socket."))
        elif name.startswith("socket."):
            setattr(socket.socket, name.removeprefix("socket."), original)
        else:
            setattr(socket, name, original)
    _originals.clear()
