"""Helpers shared by the state and fault tests: request bodies, contract checks, a raw SSE reader.

Put on ``sys.path`` by this folder's conftest (the tests run with ``--import-mode=importlib``).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import contracts
from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from mockserver.server import ServerThread

CHAT = "/api/v1/chat/completions"
BALANCE = "/api/v1/public/credits/balance"
KEY = "ak_state_0000000000000001"
DONE = b"data: [DONE]"
RATE_HEADERS = ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests")


def headers(key: str = KEY, **extra: str) -> dict[str, str]:
    """Headers authenticating as ``key`` plus ``extra`` (``X_Mock_Fault=...`` becomes ``X-Mock-Fault``)."""
    out = {"X-API-Key": key}
    out.update({name.replace("_", "-"): value for name, value in extra.items()})
    return out


def chat_body(
    prompt: str = "Tell me about ledgers",
    *,
    stream: bool = False,
    model: str | None = None,
    include_usage: bool = False,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """A chat request body."""
    body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}]}
    if model is not None:
        body["model"] = model
    if stream:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def sse_payloads(raw: bytes) -> list[bytes]:
    """The ``data:`` payloads of an SSE body, in order (framing checked: every event is ``data: ...\\n\\n``)."""
    events = raw.split(b"\n\n")
    assert events[-1] == b"", f"stream does not end at an event boundary: {raw[-80:]!r}"
    out = []
    for event in events[:-1]:
        assert event.startswith(b"data: "), f"not a data event: {event[:80]!r}"
        out.append(event[len(b"data: ") :])
    return out


def check_stream(raw: bytes, *, done: bool = True, usage: bool = False) -> list[dict[str, Any]]:
    """Validate every event of a complete stream against the chunk contract; return the chunks."""
    payloads = sse_payloads(raw)
    if done:
        assert payloads[-1] == b"[DONE]", payloads[-1][:80]
        payloads = payloads[:-1]
    chunks = [json.loads(p) for p in payloads]
    for chunk in chunks:
        contracts.validate("chat-completion-chunk", chunk)
    assert len({c["id"] for c in chunks}) == 1
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert all(f is None for f in finishes[:-1]) and finishes[-1] is not None
    if usage:
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] is not None
    return chunks


def stream_usage(raw: bytes) -> dict[str, int]:
    """The usage of a stream sent with ``include_usage``."""
    chunks = check_stream(raw, usage=True)
    result: dict[str, int] = chunks[-1]["usage"]
    return result


def check_response(response: Any) -> Any:
    """Validate a chat or balance response against the contract, whatever its status; return its JSON (or text)."""
    ctype = response.headers.get("content-type", "")
    if response.status_code >= 400:
        assert ctype.startswith("application/json"), ctype
        body = response.json()
        contracts.validate("error", body)
        return body
    if ctype.startswith("text/event-stream"):
        check_stream(response.content)
        return response.content
    body = response.json()
    if "total_credits" in body:
        contracts.validate("credits-balance", body)
    elif body.get("object") == "chat.completion":
        contracts.validate("chat-completion", body)
    return body


def micro(credits: float) -> int:
    """Credits as integer micro-credits (the exact unit of the ledger)."""
    return round(credits * 1_000_000)


@contextmanager
def serve(mock: AINativeMock) -> Iterator[ServerThread]:
    """Serve ``mock`` on 127.0.0.1 (port 0) for the duration of the block."""
    server = ServerThread(mock.app).start()
    try:
        yield server
    finally:
        server.stop()


def new_mock(**settings: Any) -> AINativeMock:
    """A fresh mock built from ``MockConfig(**settings)``."""
    return AINativeMock(MockConfig(**settings))


# -- a raw HTTP/1.1 client: sees every byte, the chunk framing and the time each event arrived -----


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
