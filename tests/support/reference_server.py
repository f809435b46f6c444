"""A minimal reference server that meets the contract, and its deliberately broken variants.

The reference app is small on purpose: just enough of the contract for every clause to pass.
Each defect flag breaks exactly one rule, so a test can assert that exactly one clause notices.

``lenient=True`` validates request bodies the way a FastAPI server with default pydantic models
does instead of with the contract: unknown fields ignored, no length or range limits, lax type
coercion ("true" is a bool, "0.5" a float). It is correct (every response keeps the contract) but
accepts requests the contract calls invalid, as the live API may. ``crash_on_invalid=N`` answers
500 to the N-th body the contract calls invalid (counting from 1), and validates normally otherwise.
``forbid_unknown_fields=True`` (with ``lenient``) refuses unknown top-level fields, which the
contract allows: a server stricter than the contract.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import contracts

VALID_PREFIXES = ("sk_", "ak_", "tmp_", "zdb_live_")
RATE_LIMITED_KEY = "ak_test_rate_limited"
API_KEY = "sk_test_reference_key"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"

DEFECTS = (
    "wrong_chunk_order",
    "missing_done",
    "two_finish_reasons",
    "accepts_bad_key",
    "usage_does_not_add_up",
    "balance_string_number",
    "500_on_bad_body",
    "429_without_retry_after",
)


@dataclass
class ServerState:
    """What the reference server counts and charges."""

    defect: str | None = None
    requests: int = 0
    used: float = 0.0
    paths: list[str] = field(default_factory=list)
    invalid_seen: int = 0
    crashed: int = 0


class _FunctionCall(BaseModel):
    name: str
    arguments: str


class _ToolCall(BaseModel):
    id: str
    type: str
    function: _FunctionCall


class _Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None


class LenientChatRequest(BaseModel):
    """The chat body as a FastAPI backend with default pydantic models would declare it."""

    model: str | None = None
    preferred_model: str | None = None
    messages: list[_Message]
    system: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    max_iterations: int | None = None
    provider: str | None = None
    user: str | None = None
    seed: int | None = None


class ClosedChatRequest(LenientChatRequest):
    """The same with ``extra="forbid"``: stricter than the contract, which allows unknown fields."""

    model_config = ConfigDict(extra="forbid")


def _lenient_problems(body: Any, model: type[LenientChatRequest]) -> list[dict[str, Any]]:
    """FastAPI-style ``detail`` items for a body pydantic refuses (empty when it accepts it)."""
    try:
        model.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        return [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in errors]
    return []


def _valid_key(token: str) -> bool:
    if token.count(".") == 2 and token.startswith("eyJ"):
        return True  # a JWT
    return any(token.startswith(p) and len(token) >= len(p) + 4 for p in VALID_PREFIXES)


def _credential(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    return None


def _auth_error(request: Request, state: ServerState) -> Response | None:
    token = _credential(request)
    if token is None:
        return JSONResponse({"detail": "Not authenticated"}, 401)
    if token == RATE_LIMITED_KEY:
        headers = {} if state.defect == "429_without_retry_after" else {"Retry-After": "1"}
        return JSONResponse({"detail": "Rate limit exceeded"}, 429, headers=headers)
    if not _valid_key(token) and state.defect != "accepts_bad_key":
        return JSONResponse({"detail": "Invalid API key"}, 401)
    return None


def _usage(state: ServerState, prompt: int, completion: int) -> dict[str, int]:
    total = prompt + completion + (1 if state.defect == "usage_does_not_add_up" else 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": 1764403200,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _stream_events(state: ServerState, cid: str, model: str, include_usage: bool) -> list[Any]:
    role = _chunk(cid, model, {"role": "assistant", "content": ""}, None)
    content = _chunk(cid, model, {"content": "OK"}, None)
    finish = _chunk(cid, model, {}, "stop")
    chunks: list[Any] = [role, content, finish]
    if state.defect == "wrong_chunk_order":
        chunks = [content, role, finish]
    if state.defect == "two_finish_reasons":
        chunks = [role, _chunk(cid, model, {"content": "OK"}, "length"), finish]
    if include_usage:
        usage = {**_chunk(cid, model, {}, None), "choices": [], "usage": _usage(state, 5, 1)}
        chunks.append(usage)
    if state.defect != "missing_done":
        chunks.append("[DONE]")
    return chunks


def reference_app(
    defect: str | None = None,
    *,
    lenient: bool = False,
    crash_on_invalid: int | None = None,
    forbid_unknown_fields: bool = False,
) -> tuple[Starlette, ServerState]:
    """The reference app, optionally with one defect from :data:`DEFECTS` (see the module docstring)."""
    state = ServerState(defect=defect)
    request_model = ClosedChatRequest if forbid_unknown_fields else LenientChatRequest

    async def chat(request: Request) -> Response:
        if error := _auth_error(request, state):
            return error
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
            contract_problems = ["body is not JSON"]
            not_json = [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]
        else:
            contract_problems = [e.message for e in contracts.errors_for("chat-request", body)]
            not_json = []
        if contract_problems:
            state.invalid_seen += 1
            if state.defect == "500_on_bad_body" or state.invalid_seen == crash_on_invalid:
                state.crashed += 1
                return JSONResponse({"detail": "Internal Server Error"}, 500)
        if not_json:
            detail = not_json
        elif lenient:
            detail = _lenient_problems(body, request_model)
        else:
            detail = [{"loc": ["body"], "msg": p, "type": "value_error"} for p in contract_problems[:5]]
        if detail:
            return JSONResponse({"detail": detail}, 422)
        if lenient:
            body = LenientChatRequest.model_validate(body).model_dump()
        assert isinstance(body, dict)
        model = body.get("model") or body.get("preferred_model") or "claude-3-5-sonnet-20241022"
        state.used += 6
        cid = f"chatcmpl-{state.requests}"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = _stream_events(state, cid, model, include_usage)

            async def frames() -> AsyncIterator[bytes]:
                for event in events:
                    data = event if isinstance(event, str) else json.dumps(event, separators=(",", ":"))
                    yield f"data: {data}\n\n".encode()

            return StreamingResponse(frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        message = {"role": "assistant", "content": "OK"}
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": 1764403200,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": _usage(state, 5, 1),
            }
        )

    async def balance(request: Request) -> Response:
        if error := _auth_error(request, state):
            return error
        total = 1000
        body: dict[str, Any] = {
            "total_credits": total,
            "used_credits": state.used,
            "remaining_credits": max(0.0, total - state.used),
            "unlimited": False,
            "plan": "pro",
            "period_start": "2026-11-01T00:00:00Z",
            "period_end": None,
            "usage_percentage": round(min(100.0, state.used / total * 100), 2),
        }
        if state.defect == "balance_string_number":
            body["usage_percentage"] = str(body["usage_percentage"])
        return JSONResponse(body)

    async def models(request: Request) -> Response:
        if error := _auth_error(request, state):
            return error
        data = [
            {"id": m, "object": "model", "created": 1729555200, "owned_by": "anthropic"}
            for m in ("claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022")
        ]
        return JSONResponse({"object": "list", "data": data})

    routes = [
        Route(path, chat, methods=["POST"])
        for path in ("/api/v1/chat/completions", "/v1/public/chat/completions", "/v1/chat/completions")
    ]
    routes += [Route(p, balance) for p in ("/api/v1/public/credits/balance", "/v1/public/credits/balance")]
    routes += [Route(p, models) for p in ("/v1/models", "/api/v1/models")]
    inner = Starlette(routes=routes)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            state.requests += 1
            state.paths.append(scope["path"])
        await inner(scope, receive, send)

    return app, state  # type: ignore[return-value]


@dataclass
class RunningServer:
    """A server on a real socket."""

    url: str
    state: ServerState


@contextlib.contextmanager
def serve(app: Any, state: ServerState) -> Iterator[RunningServer]:
    """Run ``app`` with uvicorn on 127.0.0.1, a free port, in a thread."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
