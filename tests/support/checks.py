"""Contract checks of any response of the mock: JSON bodies by route and status, SSE framing and grammar."""

from __future__ import annotations

import json
import re
from typing import Any

import contracts

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


def check_stream(raw: bytes, *, done: bool = True, usage: bool = False) -> list[dict[str, Any]]:
    """Validate a whole SSE body against the contract and the stream grammar; return the JSON chunks.

    Every payload but ``[DONE]`` is a ``chat-completion-chunk``; one ``id``/``created``/``model``;
    the first chunk carries the role; ``finish_reason`` is set on the last choice chunk only; after it
    come at most a usage chunk (``choices: []``) and then ``[DONE]``, last (unless ``done`` is False:
    then there is no ``[DONE]``). With ``usage``, the usage chunk must be there.
    """
    payloads = sse_payloads(raw)
    assert payloads, "empty stream"
    if done:
        assert payloads[-1] == "[DONE]", f"stream does not end with [DONE]: {payloads[-1]!r}"
        assert payloads.count("[DONE]") == 1, "[DONE] sent more than once"
        payloads = payloads[:-1]
    else:
        assert "[DONE]" not in payloads, "[DONE] sent"
    chunks = [json.loads(p) for p in payloads]
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
    if usage:
        assert after, "no usage chunk"
    return chunks


def stream_text(chunks: list[dict[str, Any]]) -> str:
    """Concatenated ``delta.content`` of a stream."""
    return "".join(ch["delta"].get("content") or "" for c in chunks for ch in c["choices"])


def finish_reason(chunks: list[dict[str, Any]]) -> str:
    """The one ``finish_reason`` of a stream."""
    return next(ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"] is not None)


def stream_usage(raw: bytes) -> dict[str, int]:
    """The usage of a stream sent with ``include_usage``."""
    chunks = check_stream(raw, usage=True)
    result: dict[str, int] = chunks[-1]["usage"]
    return result


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
    """Validate any response of the mock against the contract; return its parsed body (a stream's chunks).

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


def error_message(body: Any) -> str:
    """The human message of an error body in any of the mock's styles ("" when there is none).

    A ``detail`` list (a 422) gives its first problem as ``loc: msg``.
    """
    if not isinstance(body, dict):
        return ""
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        return f"{'.'.join(str(part) for part in first.get('loc', []))}: {first.get('msg', '')}"
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message", ""))
    return ""
