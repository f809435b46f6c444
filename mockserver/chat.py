"""The chat completions endpoint: auth, limits, validation, faults, credits, reply, JSON or SSE."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockserver.auth import Authenticator, AuthError, Identity
from mockserver.errors import validation_body
from mockserver.faults import Fault, FaultError, QueuedFault, parse_fault
from mockserver.journal import JournalEntry
from mockserver.ledger import MICRO, Reservation, micro
from mockserver.models import ModelInfo
from mockserver.replies import Reply, generate_reply, last_user_message, match_rule, truncate
from mockserver.requests_body import BodyError, read_json_body
from mockserver.responses import error_response, json_response, new_request_id
from mockserver.sse import CompletionStream, StreamOutcome, build_stream, stream_headers
from mockserver.state import MockState
from mockserver.tokens import prompt_tokens

__all__ = ["MAGIC_KEYS", "MAGIC_MODELS", "MANAGED_ROUTES", "ChatEndpoint"]

MANAGED_ROUTES = frozenset({"/api/v1/managed/chat/completions", "/api/v1/public/managed-chat/chat/completions"})
MAGIC_KEYS: dict[str, Fault] = {
    "ak_test_insufficient_credits": Fault("http_error", status=402, source="magic"),
    "ak_test_rate_limited": Fault("http_error", status=429, retry_after=1, source="magic"),
    "ak_test_server_error": Fault("http_error", status=500, source="magic"),
    "ak_test_unavailable": Fault("http_error", status=503, retry_after=1, source="magic"),
    "ak_test_forbidden": Fault("http_error", status=403, source="magic"),
    "ak_test_disconnect": Fault("disconnect", source="magic"),
}
"""Test keys that always get one answer, like a payment provider's test cards."""
MAGIC_MODELS: dict[str, Fault] = {
    "mock-unavailable": Fault("http_error", status=503, retry_after=1, source="magic"),
    "mock-plan-gated": Fault("http_error", status=403, source="magic"),
}
"""Test models that always get one answer."""


class _Reject(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass(frozen=True, slots=True)
class _Answer:
    """Everything decided about a successful completion, before it is sent."""

    model: ModelInfo
    reply: Reply
    finish_reason: str
    usage: dict[str, int]
    reservation: Reservation
    fault: Fault | None
    plan: str
    completion_id: str
    created: int


@dataclass(slots=True)
class _Call:
    request: Request
    incoming: dict[str, str]  # request headers by lower-cased name
    request_id: str
    entry: JournalEntry
    reply_headers: dict[str, str]  # headers every answer to this request carries (x-ratelimit-*)
    identity: Identity | None = None
    pending_fault: QueuedFault | None = None


class ChatEndpoint:
    """ASGI endpoint answering chat completions for one :class:`MockState`."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self._auth_key: tuple[tuple[str, ...], tuple[str, ...], str] | None = None
        self._auth: Authenticator | None = None

    def authenticator(self) -> Authenticator:
        """The authenticator for the current config (rebuilt only when the auth settings change)."""
        config = self.state.config
        key = (config.api_keys, config.key_prefixes, config.jwt_secret)
        if self._auth is None or key != self._auth_key:
            self._auth = Authenticator(*key)
            self._auth_key = key
        return self._auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        # Header names arrive lower-cased (ASGI); built once, read several times. The first of repeats wins.
        incoming = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        call = _Call(
            request,
            incoming,
            new_request_id(),
            JournalEntry(
                0,
                scope["method"],
                scope["path"],
                0,
                started=time.perf_counter(),
                generation=self.state.journal.generation,
            ),
            {},
        )
        call.entry.request_id = call.request_id
        try:
            response = await self._handle(call)
        except _Reject as reject:
            response = reject.response
        if isinstance(response, CompletionStream):
            await response(scope, receive, send)
            return
        self._finish(call, response.status_code)
        await response(scope, receive, send)

    # -- helpers ----------------------------------------------------------------------------
    def _error(
        self,
        call: _Call,
        status: int,
        message: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> _Reject:
        headers = dict(call.reply_headers)
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        style = self.state.config.error_style
        return _Reject(error_response(style, status, message, code=code, request_id=call.request_id, headers=headers))

    def _finish(self, call: _Call, status: int) -> None:
        entry = call.entry
        entry.status = status
        entry.duration_ms = entry.ttfb_ms = (time.perf_counter() - entry.started) * 1000
        self.state.journal.add(entry)

    def _fault_for(self, call: _Call, model: str, stream: bool) -> Fault | None:
        header = call.incoming.get("x-mock-fault")
        if header:
            try:
                fault = parse_fault(header)
            except FaultError as exc:
                raise self._error(call, 400, f"X-Mock-Fault: {exc}", "invalid_fault") from None
            return fault if stream or not fault.stream_only else None
        identity = call.identity
        magic = MAGIC_KEYS.get(identity.account) if identity is not None else None
        magic = magic or MAGIC_MODELS.get(model)
        if magic is not None:
            return magic if stream or not magic.stream_only else None
        queue = self.state.fault_queue
        queued = queue.peek(model, call.request.scope["path"], stream)
        if queued is not None:
            if queued.fault.stream_only:  # used only if the stream is actually sent (committed later)
                call.pending_fault = queued
                return queued.fault
            if queue.commit(queued):
                return queued.fault
        return self.state.seeded.draw(stream)

    # -- the pipeline -----------------------------------------------------------------------
    async def _handle(self, call: _Call) -> Response | CompletionStream:
        state = self.state
        config = state.config
        incoming = call.incoming
        try:
            call.identity = self.authenticator().authenticate(incoming.get("x-api-key"), incoming.get("authorization"))
        except AuthError as exc:
            raise self._error(call, 401, str(exc)) from None
        call.entry.key = call.identity.masked
        try:
            body = await read_json_body(call.request.receive, incoming, config.max_body_bytes, "chat-request")
        except BodyError as exc:
            if exc.status == 422:
                payload = validation_body(config.error_style, exc.problems)
                raise _Reject(json_response(payload, 422, call.request_id, call.reply_headers)) from None
            raise self._error(call, exc.status, exc.message) from None
        call.entry.body = body
        model_id = body.get("model") or body.get("preferred_model") or config.default_model
        stream = bool(body.get("stream"))
        call.entry.model, call.entry.stream = model_id, stream

        account = state.ledger.account(call.identity.account)
        rpm = account.rpm if account.rpm is not None else config.rpm
        tpm = account.tpm if account.tpm is not None else config.tpm
        fault = self._fault_for(call, model_id, stream)
        if fault is not None:
            call.entry.fault = {**fault.as_dict(), "source": fault.source}
            if fault.name == "latency":
                await anyio.sleep((fault.ms or 0) / 1000)
            elif fault.name == "http_error" and fault.status is not None:
                call.reply_headers.update(state.limiter.peek(call.identity.account, rpm, tpm))
                raise self._error(call, fault.status, retry_after=fault.retry_after)

        model = config.model(model_id)
        if model is None:
            status = config.unknown_model_status
            raise self._error(
                call, status, f"Model '{model_id}' is not available", "model_not_available", retry_after=None
            )
        if model_id in state.unavailable:
            raise self._error(call, 503, f"Model '{model_id}' is temporarily unavailable", retry_after=1)
        if not model.allows(account.plan):
            raise self._error(call, 403, f"Model '{model_id}' is not available on the {account.plan} plan")

        scripted = state.peek_scripted()
        reply, finish_reason = self._reply(body, config.seed, scripted)
        usage = self._usage(body, reply)
        call.entry.usage = usage

        decision = state.limiter.check(call.identity.account, rpm, tpm, usage["total_tokens"])
        call.reply_headers.update(decision.headers)
        if not decision.allowed:
            raise self._error(call, 429, decision.reason, retry_after=decision.retry_after)

        cost = micro(usage["total_tokens"] * model.price)
        reservation = state.ledger.reserve(call.identity.account, cost)
        if reservation is None:
            raise self._error(call, 402, "Insufficient credits")

        if scripted is not None:  # used only by a request that is answered
            state.consume_scripted(scripted)
        if call.pending_fault is not None and not state.fault_queue.commit(call.pending_fault):
            fault = None  # a concurrent request used the fault's last time first
            call.entry.fault = None
        answer = _Answer(
            model,
            reply,
            finish_reason,
            usage,
            reservation,
            fault,
            account.plan,
            "chatcmpl-" + os.urandom(12).hex(),
            int(time.time()),
        )
        if stream:
            return self._stream(call, body, answer)
        call.entry.charged = reservation.amount / MICRO
        return json_response(self._completion(call, answer), 200, call.request_id, call.reply_headers)

    def _reply(self, body: Mapping[str, Any], seed: int, scripted: Reply | None) -> tuple[Reply, str]:
        messages = body["messages"]
        prompt = last_user_message(messages)
        reply = scripted or match_rule(self.state.config.replies, seed, prompt)
        reply = reply or generate_reply(seed, prompt)
        if reply.tool_calls:
            return reply, "tool_calls"
        max_tokens = body.get("max_tokens") or self.state.config.default_max_tokens
        reply, cut = truncate(reply, int(max_tokens))  # JSON Schema counts 3.0 as an integer
        return reply, "length" if cut else "stop"

    @staticmethod
    def _usage(body: Mapping[str, Any], reply: Reply) -> dict[str, int]:
        prompt = prompt_tokens(body["messages"], body.get("system"))
        completion = reply.completion_tokens
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, call: _Call, answer: _Answer) -> dict[str, Any]:
        reply = answer.reply
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in reply.tool_calls
            ]
        body: dict[str, Any] = {
            "id": answer.completion_id,
            "object": "chat.completion",
            "created": answer.created,
            "model": answer.model.id,
            "provider": answer.model.owned_by,
            "choices": [{"index": 0, "message": message, "finish_reason": answer.finish_reason}],
            "usage": answer.usage,
        }
        if call.request.scope["path"] in MANAGED_ROUTES:
            remaining = self.state.ledger.account(answer.reservation.key).remaining
            body.update(
                finish_reason=answer.finish_reason,
                credits_consumed=answer.reservation.amount / MICRO,
                credits_remaining=remaining / MICRO,
                plan_tier=answer.plan,
            )
        return body

    def _stream(self, call: _Call, body: Mapping[str, Any], answer: _Answer) -> CompletionStream:
        config = self.state.config
        options = body.get("stream_options") or {}
        usage = answer.usage
        plan = build_stream(
            completion_id=answer.completion_id,
            created=answer.created,
            model=answer.model.id,
            reply=answer.reply,
            finish_reason=answer.finish_reason,
            usage=usage,
            include_usage=bool(options.get("include_usage")),
            ttft_s=config.ttft_ms / 1000,
            tokens_per_second=config.tokens_per_second,
            fault=answer.fault,
        )
        reservation = answer.reservation

        def on_done(outcome: StreamOutcome) -> None:
            if outcome.completion_tokens_sent >= usage["completion_tokens"]:
                actual = reservation.amount
            else:
                actual = micro((usage["prompt_tokens"] + outcome.completion_tokens_sent) * answer.model.price)
            self.state.ledger.settle(reservation, actual)
            entry = call.entry
            entry.charged = min(actual, reservation.amount) / MICRO
            entry.chunks_sent = outcome.events_sent
            entry.disconnected = outcome.disconnected
            entry.status = 200
            now = time.perf_counter()
            entry.duration_ms = (now - entry.started) * 1000
            entry.ttfb_ms = ((outcome.first_byte or now) - entry.started) * 1000
            self.state.journal.add(entry)

        return CompletionStream(plan, stream_headers(call.request_id, call.reply_headers), on_done)
