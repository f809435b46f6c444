"""HTTP/1.1 on a plain socket to 127.0.0.1: every byte, the chunk framing and when each event arrived.

Every wait is bounded (:data:`TIMEOUT`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import struct
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.chat import CHAT, CHAT_PATH, HEADERS, headers

CLOSED = 0
"""Pseudo-status of a request the server answered by closing the connection."""
TIMEOUT = 10.0
"""Seconds any single socket operation may take before the test calls it a hang."""


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


@dataclass
class RawStream:
    """What a raw read of one streamed response saw."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    events: list[tuple[float, bytes]] = field(default_factory=list)  # (seconds since the request, event)
    complete: bool = False  # the terminating zero-size chunk arrived
    closed_early: bool = False  # the server closed the connection before the body was complete

    @property
    def payloads(self) -> list[bytes]:
        return [event.removeprefix(b"data: ") for _, event in self.events]


def raw_post(
    port: int,
    body: Mapping[str, Any],
    extra_headers: Mapping[str, str] | None = None,
    path: str = CHAT,
    timeout: float = 10.0,
) -> RawStream:
    """POST ``body`` over a plain socket and read the response to the end (or until the server closes)."""
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in {**headers(), **(extra_headers or {})}.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        started = time.perf_counter()
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            assert data, "connection closed before the response head"
            buffer += data
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        response_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        result = RawStream(int(status_line.split()[1]), response_headers)
        assert response_headers.get("transfer-encoding") == "chunked", response_headers
        pending = b""  # decoded body not yet split into events
        while True:
            # decode every whole chunk in the buffer
            while True:
                line_end = buffer.find(b"\r\n")
                if line_end < 0:
                    break
                size = int(buffer[:line_end].split(b";")[0], 16)
                if size == 0:
                    result.complete = True
                    break
                if len(buffer) < line_end + 2 + size + 2:
                    break
                data = buffer[line_end + 2 : line_end + 2 + size]
                assert buffer[line_end + 2 + size : line_end + 4 + size] == b"\r\n"
                buffer = buffer[line_end + 4 + size :]
                result.body += data
                pending += data
            now = time.perf_counter() - started
            while b"\n\n" in pending:
                event, _, pending = pending.partition(b"\n\n")
                result.events.append((now, event))
            if result.complete:
                break
            data = sock.recv(65536)
            if not data:
                result.closed_early = True
                break
            buffer += data
    return result
