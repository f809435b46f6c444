"""The baseline: a bare Starlette app on the mock's stack answering with canned bytes.

It does the least any real endpoint does (route the request, read and parse its JSON body)
and answers with a precomputed ``chat.completion`` body of the same 20-token reply the
benchmark scripts into the mock, or, for ``"stream": true``, the same 20-chunk SSE stream
(role chunk, 20 content chunks, finish chunk, ``[DONE]``), sent as one body write like
the mock's unpaced stream. No auth, journal, credits, limits, CORS or ids: that is what the
ratio mock/bare measures.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bench.common import CHAT_PATH, REPLY_TEXT, WORDS

__all__ = ["CANNED_COMPLETION", "CANNED_STREAM", "app"]

_ID = "chatcmpl-0123456789abcdef01234567"
_MODEL = "meta-llama/llama-3.3-70b-instruct"
_CREATED = 1_750_000_000
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

CANNED_COMPLETION = _dumps(
    {
        "id": _ID,
        "object": "chat.completion",
        "created": _CREATED,
        "model": _MODEL,
        "provider": "meta",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY_TEXT}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29},
    }
).encode()


def _event(delta: dict[str, str], finish: str | None) -> bytes:
    chunk = {
        "id": _ID,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": _MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + _dumps(chunk).encode() + b"\n\n"


_EVENTS = [
    _event({"role": "assistant", "content": ""}, None),
    *(_event({"content": word if i == 0 else " " + word}, None) for i, word in enumerate(WORDS)),
    _event({}, "stop"),
    b"data: [DONE]\n\n",
]
CANNED_STREAM = b"".join(_EVENTS)


async def _stream() -> AsyncIterator[bytes]:
    yield CANNED_STREAM  # async: a sync iterator would go through Starlette's thread pool


async def chat(request: Request) -> Response:
    body = await request.json()
    if body.get("stream"):
        return StreamingResponse(
            _stream(), media_type="text/event-stream; charset=utf-8", headers={"cache-control": "no-cache"}
        )
    return Response(CANNED_COMPLETION, media_type="application/json")


app = Starlette(routes=[Route(CHAT_PATH, chat, methods=["POST"])])
