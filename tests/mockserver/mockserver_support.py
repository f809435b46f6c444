"""Shared helpers of the mock-server tests: contract checks for any response, SSE parsing, bodies.

Imported by ``conftest.py`` (which puts this folder on ``sys.path``) and by the test modules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

import contracts
from mockserver.app import AINativeMock
from mockserver.server import ServerThread

KEY = "ak_test_mockserver_0001"
"""A valid API key under the default prefix rule."""
HEADERS = {"X-API-Key": KEY}
USER = [{"role": "user", "content": "What is ZeroDB?"}]
BODY: dict[str, Any] = {"model": "claude-3-5-sonnet-20241022", "messages": USER}
JWT_SECRET = "ainative-mock-jwt-secret-for-tests-only"
"""The mock's documented default HS256 secret."""

ERROR_SCHEMAS = {"detail": "error-detail", "openai": "error-openai", "compat": "error-compat"}
"""Error style of the mock -> the contract schema its error bodies must match."""

_FRAME = re.compile(rb"data: ([^\r\n]*)\n\n")


def sse_payloads(raw: bytes) -> list[str]:
    """Split an SSE body into its ``data:`` payloads, insisting on byte-exact ``data: <line>\\n\\n`` framing."""
    assert b"\r" not in raw, "SSE body contains a carriage return"
    payloads: list[str] = []
    position = 0
    for match in _FRAME.finditer(raw):
        assert match.start() == position, (
            f"unexpected bytes in the stream at {position}: {raw[position : match.start()]!r}"
        )
        payloads.append(match.group(1).decode("utf-8"))
        position = match.end()
    assert position == len(raw), f"stream has trailing bytes: {raw[position:]!r}"
    return payloads


def check_stream(raw: bytes) -> list[dict[str, Any]]:
    """Validate a whole SSE body against the contract and the stream grammar; return the JSON chunks.

    Every payload but ``[DONE]`` is a ``chat-completion-chunk``; one ``id``/``created``/``model``;
    the first chunk carries the role; ``finish_reason`` is set on the last choice chunk only; after it
    come at most a usage chunk (``choices: []``) and then ``[DONE]``, last.
    """
    payloads = sse_payloads(raw)
    assert payloads, "empty stream"
    assert payloads[-1] == "[DONE]", f"stream does not end with [DONE]: {payloads[-1]!r}"
    assert payloads.count("[DONE]") == 1, "[DONE] sent more than once"
    chunks = [json.loads(p) for p in payloads[:-1]]
    for chunk in chunks:
        contracts.validate("chat-completion-chunk", chunk)
    assert len({(c["id"], c["created"], c["model"]) for c in chunks}) == 1, "id/created/model change mid-stream"
    choice_chunks = [c for c in chunks if c["choices"]]
    assert choice_chunks, "no choice chunk"
    assert choice_chunks[0]["choices"][0]["delta"].get("role") == "assistant", "first chunk carries no role"
    finishing = [i for i, c in enumerate(chunks) if any(ch["finish_reason"] is not None for ch in c["choices"])]
    assert len(finishing) == 1, f"finish_reason set on {len(finishing)} chunks"
    last_choice = max(i for i, c in enumerate(chunks) if c["choices"])
    assert finishing[0] == last_choice, "finish_reason is not on the last choice chunk"
    after = chunks[finishing[0] + 1 :]
    assert len(after) <= 1, f"{len(after)} chunks after the finishing chunk"
    for chunk in after:
        assert chunk["choices"] == [], "a choice chunk after finish_reason"
        assert chunk.get("usage") is not None, "a chunk after finish_reason that is not the usage chunk"
    return chunks


def stream_text(chunks: list[dict[str, Any]]) -> str:
    """Concatenated ``delta.content`` of a stream."""
    return "".join(ch["delta"].get("content") or "" for c in chunks for ch in c["choices"])


def finish_reason(chunks: list[dict[str, Any]]) -> str:
    """The one ``finish_reason`` of a stream."""
    return next(ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"] is not None)


def expected_schema(method: str, path: str, status: int, style: str) -> str | None:
    """The contract schema of a JSON response (None: no schema, checked by hand)."""
    if status >= 400:
        return ERROR_SCHEMAS[style]
    if path.endswith("/chat/completions"):
        return "chat-completion"
    if path.endswith("/credits/balance"):
        return "credits-balance"
    if path.endswith("/models"):
        return "models-list"
    return None


def check_response(response: Any, style: str = "detail") -> Any:
    """Validate any response of the mock against the contract; return its parsed body.

    JSON bodies are checked against the schema of their route and status (errors against the
    schema of ``style``); SSE bodies event by event plus the stream grammar. Every error must carry
    ``x-request-id``. Works with httpx, httpx2 (TestClient) and requests responses.
    """
    request = response.request
    method = request.method
    path = request.url.path if hasattr(request.url, "path") else request.path_url.split("?")[0]
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    if status >= 400:
        assert response.headers.get("x-request-id", "").startswith("req_"), f"{status} without x-request-id"
        assert content_type.startswith("application/json"), f"{status} error is {content_type!r}, not JSON"
    if content_type.startswith("text/event-stream"):
        assert status == 200
        return check_stream(response.content)
    assert content_type.startswith("application/json"), f"{method} {path} -> {status} {content_type!r}"
    body = json.loads(response.content)
    schema = expected_schema(method, path, status, style)
    if schema is not None:
        contracts.validate(schema, body)
        if status >= 400:
            contracts.validate("error", body)
    elif path == "/health":
        assert body["status"] == "ok"
    elif path == "/openapi.json":
        assert body["openapi"].startswith("3.1")
    else:
        raise AssertionError(f"no contract for {method} {path} -> {status}")
    return body


def error_message(body: Mapping[str, Any]) -> str:
    """The human message of an error body of any style."""
    if "error" in body:
        return str(body["error"]["message"])
    detail = body["detail"]
    return detail if isinstance(detail, str) else json.dumps(detail)


def chat(messages: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """A chat request body (default: one user message)."""
    return {"messages": messages if messages is not None else USER, **fields}


@dataclass
class Mock:
    """An :class:`AINativeMock` and a TestClient on its app."""

    mock: AINativeMock
    client: TestClient

    @property
    def state(self) -> Any:
        return self.mock.state

    def post(self, body: Any = None, path: str = "/v1/public/chat/completions", **kwargs: Any) -> Any:
        """POST ``body`` as JSON (authenticated unless ``headers`` are given)."""
        kwargs.setdefault("headers", HEADERS)
        if body is not None:
            kwargs["json"] = body
        return self.client.post(path, **kwargs)


MockFactory = Callable[..., Mock]


@dataclass
class Served:
    """An :class:`AINativeMock` served by uvicorn on 127.0.0.1 (a real socket)."""

    mock: AINativeMock
    server: ServerThread

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def state(self) -> Any:
        return self.mock.state
