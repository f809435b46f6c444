"""The disconnect fault over a real socket: exactly N complete events arrive before the cut, every time."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from mockserver.server import ServerThread
from tests.support.chat import KEY

pytestmark = [pytest.mark.socket]

BODY = json.dumps(
    {"messages": [{"role": "user", "content": "Tell me about the AINative mock server please"}], "stream": True}
)


def _request(port: int, headers: dict[str, str]) -> bytes:
    lines = [
        "POST /v1/chat/completions HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(BODY.encode())}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + BODY).encode()


def _dechunk(raw: bytes) -> tuple[bytes, bool]:
    """The body bytes of a chunked response read so far, and whether the terminating chunk came."""
    body = b""
    rest = raw
    while True:
        line, sep, after = rest.partition(b"\r\n")
        if not sep:
            return body, False
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return body, True
        if len(after) < size + 2:
            return body + after[:size], False
        body += after[:size]
        rest = after[size + 2 :]


def read_cut_stream(port: int, headers: dict[str, str]) -> tuple[list[bytes], bytes, bool]:
    """POST a stream; read until the server closes. Returns complete events, trailing bytes, whether it ended."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_request(port, headers))
        raw = b""
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            raw += data
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"transfer-encoding: chunked" in head.lower()
    body, ended = _dechunk(rest)
    *events, tail = body.split(b"\n\n")
    return [event + b"\n\n" for event in events], tail, ended


@pytest.fixture(scope="module", params=["burst", "paced"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    config = MockConfig(credits=10**12, tokens_per_second=2000 if request.param == "paced" else 0)
    server = ServerThread(AINativeMock(config).app).start()
    yield server.port
    server.stop()


def _check(events: list[bytes], tail: bytes, ended: bool, expected: int) -> None:
    assert not ended, "the stream ended normally: no cut"
    assert tail == b"", f"a partial event after the last complete one: {tail!r}"
    assert len(events) == expected, f"{len(events)} complete events, expected {expected}"
    for event in events:
        assert event.startswith(b"data: {") and json.loads(event[6:])["object"] == "chat.completion.chunk"


@pytest.mark.parametrize("after", [0, 1, 3, 5])
def test_disconnect_after_n_delivers_n_events(port: int, after: int) -> None:
    events, tail, ended = read_cut_stream(port, {"X-API-Key": KEY, "X-Mock-Fault": f"disconnect; after_chunks={after}"})
    _check(events, tail, ended, after)


def test_disconnect_key_delivers_two_events(port: int) -> None:
    events, tail, ended = read_cut_stream(port, {"X-API-Key": "ak_test_disconnect"})
    _check(events, tail, ended, 2)


@pytest.mark.slow
def test_disconnect_after_3_holds_200_times_in_a_row(port: int) -> None:
    counts = []
    for _ in range(200):
        events, tail, ended = read_cut_stream(port, {"X-API-Key": KEY, "X-Mock-Fault": "disconnect; after_chunks=3"})
        assert not ended and tail == b""
        counts.append(len(events))
    assert counts == [3] * 200, f"event counts other than 3: {sorted(set(counts))}, {counts.count(3)}/200 exact"
