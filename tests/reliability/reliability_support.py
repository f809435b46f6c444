"""Helpers of the reliability tests: raw HTTP/1.1 on a socket, the server's event loop, RSS, polling.

Imported by ``conftest.py`` (which puts this folder on ``sys.path``) and by the test modules.
Everything here talks to ``127.0.0.1`` only and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import socket
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mockserver.server import ServerThread
from mockserver.testing import ServedMock

KEY = "ak_reliability_0000000001"
"""A valid API key under the default prefix rule."""
HEADERS = {"X-API-Key": KEY}
CHAT_PATH = "/v1/public/chat/completions"
CLOSED = 0
"""Pseudo-status of a request the server answered by closing the connection."""
TIMEOUT = 10.0
"""Seconds any single socket operation may take before the test calls it a hang."""

T = TypeVar("T")


def chat_body(prompt: str = "Tell me a story about a fox", *, max_tokens: int = 40, stream: bool = False) -> bytes:
    """A valid chat request body, JSON-encoded."""
    body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def request_head(
    method: str, path: str, headers: Mapping[str, str] | None = None, *, content_length: int | None = None
) -> bytes:
    """The request line and headers of an HTTP/1.1 request (``Host`` is added)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def connect(port: int, *, rcvbuf: int | None = None, timeout: float = TIMEOUT) -> socket.socket:
    """A TCP connection to ``127.0.0.1:port`` (``rcvbuf`` shrinks the receive buffer before connecting)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def abort(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP RST (SO_LINGER 0): the abrupt way a crashed client leaves."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@dataclass
class RawResponse:
    """A response read off a raw socket."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0
    complete: bool = True
    """False when the server dropped the connection in the middle of the body (what is here is partial)."""

    def json(self) -> Any:
        """The body as JSON; fails the test if it is not strict JSON (no NaN/Infinity)."""
        return json.loads(self.body, parse_constant=_no_constants)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def _no_constants(name: str) -> Any:
    raise AssertionError(f"the response body is not strict JSON: it contains {name}")


class _KeepOpen:
    """A file that ignores ``close()``: each HTTPResponse closes its file, the pipeline's must stay open."""

    def __init__(self, file: Any) -> None:
        self._file = file

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class Pipeline:
    """Reads several responses off one kept-alive socket through one shared buffer.

    ``http.client.HTTPResponse`` buffers what it reads; with a new buffer per response, bytes of
    the next response would be lost when the previous one is closed.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._file = sock.makefile("rb")

    def makefile(self, mode: str = "rb") -> _KeepOpen:
        return _KeepOpen(self._file)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def let_server_finish_logging(status: int) -> None:
    """After a 5xx, give the server thread time to log its traceback before the test goes on.

    CPython 3.11.7 formats traceback carets with ``ast``, whose recursion counter is shared by
    all threads: pytest formatting a failure while the server formats a traceback can end the
    session with ``SystemError: AST constructor recursion depth mismatch``.
    """
    if status >= 500:
        time.sleep(0.3)


def read_response(sock: socket.socket | Pipeline, method: str = "POST") -> RawResponse:
    """Read one whole HTTP/1.1 response from ``sock`` (length-delimited, chunked or until close)."""
    started = time.monotonic()
    response = http.client.HTTPResponse(sock, method=method)  # type: ignore[arg-type]
    try:
        response.begin()
        headers = {name.lower(): value for name, value in response.getheaders()}
        try:
            body, complete = response.read(), True
        except http.client.IncompleteRead as cut:
            body, complete = cut.partial, False
        let_server_finish_logging(response.status)
        return RawResponse(response.status, headers, body, time.monotonic() - started, complete)
    finally:
        response.close()


def exchange(
    port: int, payload: bytes | Iterable[bytes], *, method: str = "POST", timeout: float = TIMEOUT
) -> RawResponse:
    """Send ``payload`` (raw request bytes, or pieces sent one by one) on a new connection; read the answer.

    A server that refuses the request by closing the connection (a reset before any response
    could be read) gives ``status`` :data:`CLOSED`.
    """
    with connect(port, timeout=timeout) as sock:
        started = time.monotonic()
        pieces = [payload] if isinstance(payload, bytes) else payload
        try:
            for piece in pieces:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413, 431) and close before reading everything we send
        try:
            response = read_response(sock, method)
        except (ConnectionResetError, http.client.RemoteDisconnected):
            response = RawResponse(CLOSED, {}, b"")
        response.elapsed = time.monotonic() - started
        return response


def post(
    port: int, body: bytes, *, path: str = CHAT_PATH, headers: Mapping[str, str] | None = None, timeout: float = TIMEOUT
) -> RawResponse:
    """POST ``body`` with a Content-Length, authenticated and typed as JSON unless ``headers`` say otherwise."""
    all_headers = {**HEADERS, "Content-Type": "application/json", **(headers or {})}
    return exchange(port, request_head("POST", path, all_headers, content_length=len(body)) + body, timeout=timeout)


def get(port: int, path: str, headers: Mapping[str, str] | None = None) -> RawResponse:
    """GET ``path`` (authenticated unless ``headers`` say otherwise)."""
    return exchange(port, request_head("GET", path, {**HEADERS, **(headers or {})}), method="GET")


def chunked(body: bytes, size: int = 64 * 1024) -> bytes:
    """``body`` in HTTP/1.1 chunked transfer coding (no Content-Length needed)."""
    out = bytearray()
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


@dataclass
class OpenStream:
    """A streamed chat response being read event by event off a raw socket."""

    sock: socket.socket
    response: http.client.HTTPResponse
    events: list[bytes] = field(default_factory=list)

    @property
    def request_id(self) -> str:
        """The ``x-request-id`` the server sent (the journal entry of this request carries it)."""
        return self.response.getheader("x-request-id") or ""

    def read_events(self, count: int) -> list[bytes]:
        """Read ``count`` more ``data:`` events (fewer if the stream ends)."""
        wanted = len(self.events) + count
        while len(self.events) < wanted:
            line = self.response.readline()
            if not line:
                break
            if line.startswith(b"data:"):
                self.events.append(line.rstrip(b"\n"))
        return self.events

    def vanish(self, *, rst: bool) -> None:
        """Drop the connection without reading the rest: a TCP RST when ``rst``, else a FIN."""
        self.response.close()  # the response's file object keeps the socket open until closed
        if rst:
            abort(self.sock)
        else:
            self.sock.close()


def open_stream(
    port: int, body: bytes, headers: Mapping[str, str] | None = None, *, rcvbuf: int | None = None
) -> OpenStream:
    """Start a streamed chat request and read the response head (status must be 200)."""
    sock = connect(port, rcvbuf=rcvbuf)
    all_headers = {**HEADERS, "Content-Type": "application/json", **(headers or {})}
    sock.sendall(request_head("POST", CHAT_PATH, all_headers, content_length=len(body)) + body)
    response = http.client.HTTPResponse(sock, method="POST")
    response.begin()
    assert response.status == 200, response.read()[:500]
    return OpenStream(sock, response)


# -- the server's insides, seen from the test thread ------------------------------------------
def server_loop(server: ServerThread) -> asyncio.AbstractEventLoop:
    """The event loop uvicorn runs on (public API: the listening ``asyncio.Server``'s ``get_loop()``)."""
    servers = server.server.servers
    assert servers, "the server has no listening socket yet"
    return servers[0].get_loop()


def server_tasks(server: ServerThread) -> list[str]:
    """Descriptions of the asyncio tasks alive on the server's loop (the probe's own task excluded)."""

    async def probe() -> list[str]:
        me = asyncio.current_task()
        return sorted(repr(task.get_coro()) for task in asyncio.all_tasks() if task is not me)

    return asyncio.run_coroutine_threadsafe(probe(), server_loop(server)).result(TIMEOUT)


def connection_count(server: ServerThread) -> int:
    """Connections uvicorn holds open."""
    return len(server.server.server_state.connections)


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll ``probe()`` until ``done(value)`` or ``timeout`` seconds; returns the last value either way."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(interval)
        value = probe()
    return value


def rss_bytes() -> int:
    """Resident set size of this process (the served mock runs in it) from ``/proc/self/status``."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line in /proc/self/status")


def error_message(body: Any) -> str:
    """The human message of an error body in any of the mock's styles (``detail`` str or list, OpenAI)."""
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return str(detail[0].get("msg", ""))
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))
    return ""


ServeFactory = Callable[..., ServedMock]
LogsFactory = Callable[[], "LogCapture"]


class LogCapture(logging.Handler):
    """Collects every record of the server's loggers (they do not propagate to the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) not in self._seen:  # a record reaches both "uvicorn.error" and "uvicorn"
            self._seen.add(id(record))
            self.records.append(record)

    def text(self) -> str:
        """Every record formatted with its traceback, one after the other."""
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return "\n".join(formatter.format(record) for record in self.records)

    def problems(self) -> list[str]:
        """Records at WARNING or above, formatted."""
        return [f"{r.name} {r.levelname}: {r.getMessage()}" for r in self.records if r.levelno >= logging.WARNING]
