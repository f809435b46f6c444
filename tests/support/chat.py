"""Test keys, routes, request headers and chat request bodies."""

from __future__ import annotations

import json
from typing import Any

KEY = "ak_test_0000000000000001"
"""A valid API key under the default prefix rule (masked in the journal as ``ak_…0001``)."""
HEADERS = {"X-API-Key": KEY}
JWT_SECRET = "ainative-mock-jwt-secret-for-tests-only"
"""The mock's documented default HS256 secret."""

CHAT = "/api/v1/chat/completions"
CHAT_PATH = "/v1/public/chat/completions"
BALANCE = "/api/v1/public/credits/balance"
DONE = b"data: [DONE]"
RATE_HEADERS = ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests")

USER = [{"role": "user", "content": "What is ZeroDB?"}]
BODY: dict[str, Any] = {"model": "claude-3-5-sonnet-20241022", "messages": USER}


def headers(key: str = KEY, **extra: str) -> dict[str, str]:
    """Headers authenticating as ``key`` plus ``extra`` (``X_Mock_Fault=...`` becomes ``X-Mock-Fault``)."""
    out = {"X-API-Key": key}
    out.update({name.replace("_", "-"): value for name, value in extra.items()})
    return out


def chat(messages: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """A chat request body of ``messages`` (default: one user message) and any other ``fields``."""
    return {"messages": messages if messages is not None else USER, **fields}


def chat_body(
    prompt: str = "Tell me about ledgers",
    *,
    stream: bool = False,
    model: str | None = None,
    include_usage: bool = False,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """A chat request body with one user message ``prompt``."""
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


def chat_bytes(prompt: str = "Tell me a story about a fox", *, max_tokens: int = 40, stream: bool = False) -> bytes:
    """A valid chat request body, JSON-encoded (for raw sockets)."""
    return json.dumps(chat_body(prompt, stream=stream, max_tokens=max_tokens)).encode()


def micro(credits: float) -> int:
    """Credits as integer micro-credits (the exact unit of the ledger)."""
    return round(credits * 1_000_000)
