"""A stand-in for the real API, written for these tests and independent of the mock's code.

A raw ASGI app (no Starlette, nothing from ``mockserver``) that answers the chat, balance and
models routes the way an OpenAI-compatible server does, with:

- pacing: ``pace_s`` seconds between stream events, and the send time of every event in ``sent_at``;
- planted defects (``defect``): ``usage-sum`` (total_tokens off by one), ``extra-field`` (a field
  the contract lacks), ``status-201`` (chat answers 201), ``no-retry-after`` (429 without
  Retry-After), ``double-finish`` (two chunks carry a finish_reason),
  ``break-stream`` (the connection drops after two stream events),
  ``leaky-error`` (other routes answer an off-contract error echoing the caller's credentials);
- a log of what it received (``received``), to show the proxy forwarded it unchanged.

Its JSON is written with spaces and non-ASCII text, so a proxy that re-encodes is caught.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn

REQUEST_ID = "req_upstream_"
CREATED = 1_760_000_000


@dataclass
class Received:
    """One request as the upstream saw it."""

    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.decode().lower() == name.lower():
                return value.decode()
        return None


@dataclass
class Upstream:
    """The fake real API. Change ``pace_s`` and ``defect`` between requests."""

    pace_s: float = 0.0
    defect: str | None = None
    words: int = 6
    received: list[Received] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    disconnected: bool = False
    encoding: str | None = None  # content-encoding of JSON answers: gzip, or any other name for opaque bytes
    _count: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.append(
            Received(scope["method"], scope["path"], scope["query_string"], list(scope["headers"]), body)
        )
        self._count += 1
        request_id = f"{REQUEST_ID}{self._count}"
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        if not (headers.get("x-api-key") or headers.get("authorization")):
            await self._json(send, 401, {"detail": "Not authenticated"}, request_id)
        elif path.endswith("/chat/completions") and scope["method"] == "POST":
            await self._chat(send, receive, json.loads(body or b"{}"), request_id)
        elif path.endswith("/credits/balance"):
            await self._json(send, 200, _balance(), request_id)
        elif path.endswith("/models"):
            model = {"id": "upstream-model", "object": "model", "created": CREATED, "owned_by": "upstream"}
            await self._json(send, 200, {"object": "list", "data": [model]}, request_id)
        elif self.defect == "leaky-error":  # an error body off the contract that echoes the caller's credentials
            leak = f"bad credentials {headers.get('x-api-key')} {headers.get('authorization')} {body.decode()}"
            await self._json(send, 400, {"message": leak}, request_id)
        else:
            await self._json(send, 404, {"detail": "Not Found"}, request_id)

    async def _json(
        self, send: Any, status: int, payload: Any, request_id: str, extra: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()  # spaces after separators, raw UTF-8
        encoded: list[tuple[bytes, bytes]] = []
        if self.encoding == "gzip":
            body = gzip.compress(body)
            encoded = [(b"content-encoding", b"gzip")]
        elif self.encoding:  # an encoding the proxy cannot read: opaque bytes
            body = b"\x8b\x0b\x80" + body
            encoded = [(b"content-encoding", self.encoding.encode())]
        headers = [
            *encoded,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            (b"set-cookie", b"session=upstream-session-cookie-value; HttpOnly"),
        ]
        headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _reply(self, request: dict[str, Any]) -> list[str]:
        messages = request.get("messages") or [{}]
        last = str(messages[-1].get("content", ""))
        return [f"{w} " for w in (["Echo:", *last.split(), "héllo", "✓"] * 3)[: self.words]]

    async def _chat(self, send: Any, receive: Any, request: dict[str, Any], request_id: str) -> None:
        if request.get("model") == "limited":
            extra = {} if self.defect == "no-retry-after" else {"retry-after": "1"}
            await self._json(send, 429, {"detail": "Rate limit exceeded"}, request_id, extra)
            return
        words = self._reply(request)
        prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages") or [])
        usage = {"prompt_tokens": prompt, "completion_tokens": len(words), "total_tokens": prompt + len(words)}
        if self.defect == "usage-sum":
            usage["total_tokens"] += 1
        model = request.get("model") or "upstream-model"
        completion_id = f"chatcmpl-{request_id}"
        if request.get("stream"):
            await self._stream(send, receive, request, words, usage, model, completion_id, request_id)
            return
        message = {"role": "assistant", "content": "".join(words)}
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": usage,
        }
        if self.defect == "extra-field":
            body["reasoning_trace"] = {"steps": 2}
        await self._json(send, 201 if self.defect == "status-201" else 200, body, request_id)

    async def _stream(
        self,
        send: Any,
        receive: Any,
        request: dict[str, Any],
        words: list[str],
        usage: dict[str, int],
        model: str,
        completion_id: str,
        request_id: str,
    ) -> None:
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None, **extra: Any) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            out = {"id": completion_id, "object": "chat.completion.chunk", "created": CREATED, "model": model}
            return {**out, "choices": [choice], **extra}

        payloads: list[Any] = [chunk({"role": "assistant", "content": ""}, None)]
        payloads += [chunk({"content": w}, None) for w in words]
        payloads.append(chunk({}, "stop"))
        if self.defect == "double-finish":
            payloads.append(chunk({}, "stop"))
        if include_usage:
            payloads.append({**chunk({}, None), "choices": [], "usage": usage})
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        self.sent_at = []
        self.disconnected = False
        frames = [f"data: {json.dumps(p, ensure_ascii=False, separators=(',', ':'))}\n\n" for p in payloads]
        frames.append("data: [DONE]\n\n")
        async with anyio.create_task_group() as group:

            async def watch() -> None:  # a real API stops generating when its client hangs up
                while (await receive())["type"] != "http.disconnect":
                    pass
                self.disconnected = True
                group.cancel_scope.cancel()

            group.start_soon(watch)
            for index, frame in enumerate(frames):
                if index and self.pace_s:
                    await anyio.sleep(self.pace_s)
                if self.defect == "break-stream" and index == 2:  # the connection drops mid-stream
                    raise ConnectionAbortedError("planted: the upstream breaks off the stream")
                self.sent_at.append(time.perf_counter())
                await send({"type": "http.response.body", "body": frame.encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            group.cancel_scope.cancel()


def _balance() -> dict[str, Any]:
    return {
        "total_credits": 1000.0,
        "used_credits": 250.5,
        "remaining_credits": 749.5,
        "unlimited": False,
        "plan": "pro",
        "period_start": "2026-12-01T00:00:00Z",
        "period_end": None,
        "usage_percentage": 25.05,
    }


class Running:
    """``app`` under uvicorn on 127.0.0.1, a free port, in a daemon thread."""

    def __init__(self, app: Any, **config: Any) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY on accept
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        settings = {"log_level": "warning", "lifespan": "off", "access_log": False, **config}
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, **settings))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Running:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()
