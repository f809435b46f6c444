"""The chat completions endpoint: a pipeline of named steps, each of which may answer early.

One request goes through :attr:`ChatEndpoint.steps` in order. Every step is a method (or
function) taking the endpoint and the request's :class:`ChatCall`, and returns either a
response, which ends the pipeline and is sent, or ``None`` to go on. A step may be plain or
``async``: :meth:`ChatEndpoint.run` calls a plain step without making a coroutine (cheaper, so a
step is ``async`` only if it awaits) and awaits whatever a step returns that is awaitable (an
``async`` step's coroutine, or what a plain step returns when it must wait, as ``inject_fault``
does for a latency fault). A step records what it decided on the call object (``identity``,
``body``, ``fault``, ``reply``, ``usage`` ...) for the steps after it. No step raises to answer:
errors are returned like any other response (see :meth:`ChatEndpoint.error`).

The steps, in order:

=================== ===================================================================
step                answers early with
=================== ===================================================================
``authenticate``    401 for a missing or wrong key
``read_body``       400/413/415/422 for a body that cannot be used
``load_account``    (never: looks up the key's account and its rate limits)
``inject_fault``    the injected ``http_error`` (after ``latency``, if that is the fault)
``replay``          with ``--cassettes``: a recorded error, or (strict) 400 when no cassette matches
``check_model``     the unknown-model status, 503 for an outage, 403 for a plan gate
``compose_reply``   400 for a tool_choice or schema no reply can meet (a replay keeps its recorded reply)
``rate_limit``      429 with ``Retry-After`` and ``x-ratelimit-*``
``reserve_credits`` 402 when the key cannot pay
``respond``         always: the completion as JSON or as an SSE stream
=================== ===================================================================

To add a step, write ``def my_step(self, call: ChatCall) -> StepResult`` on :class:`ChatEndpoint`
(``async def my_step(self, call: ChatCall) -> Response | None`` if it must await) and put it at
its place in ``steps``; keep what later steps need on :class:`ChatCall` (add a field with a
default). A subclass may override a plain step with an ``async`` one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from contracts.usage import make_usage
from mockserver.auth import Authenticator, AuthError, Identity
from mockserver.cassettes import Cassette, CassetteError, load_cassettes
from mockserver.compose import compose_reply
from mockserver.errors import validation_body
from mockserver.faults import Fault, FaultError, QueuedFault, parse_fault
from mockserver.instances import SchemaError
from mockserver.journal import JournalEntry
from mockserver.ledger import MICRO, Account, Reservation, micro
from mockserver.models import ModelInfo, any_model, unknown_model_message
from mockserver.replay import Replayer, recorded_usage, replayed_json, replayed_stream_plan
from mockserver.replies import Reply
from mockserver.requests_body import BodyError, parse_json_body, read_raw
from mockserver.responses import error_response, json_response
from mockserver.sse import CompletionStream, StreamOutcome, StreamPlan, build_stream, stream_headers
from mockserver.state import MockState
from mockserver.structured import ResponseFormatError
from mockserver.tokens import prompt_tokens
from mockserver.tools import ToolChoiceError

__all__ = ["MAGIC_KEYS", "MAGIC_MODELS", "MANAGED_ROUTES", "Answer", "ChatCall", "ChatEndpoint", "Step", "StepResult"]

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


Answer = Response | CompletionStream
"""What the pipeline sends: a plain response, or a stream played over the connection."""


@dataclass(slots=True)
class ChatCall:
    """One chat request on its way through the pipeline: what came in, and what each step decided.

    The fields after ``reply_headers`` are filled in by the steps, in pipeline order; a step may rely
    on those of the steps before it.
    """

    scope: Scope  # the request's ASGI scope and receive channel
    receive: Receive
    incoming: dict[str, str]  # request headers by lower-cased name (the first of repeats)
    request_id: str
    entry: JournalEntry
    reply_headers: dict[str, str] = field(default_factory=dict)  # every answer carries them (x-ratelimit-*)
    identity: Identity | None = None  # authenticate
    body: dict[str, Any] = field(default_factory=dict)  # read_body
    model_id: str = ""  # read_body: the model asked for (or the default)
    stream: bool = False  # read_body
    account: Account | None = None  # load_account
    rpm: int = 0  # load_account: the key's own limits, or the configured ones
    tpm: int = 0
    fault: Fault | None = None  # inject_fault
    pending_fault: QueuedFault | None = None  # inject_fault: a queued stream fault, used only if the stream is sent
    model: ModelInfo | None = None  # check_model
    scripted: Reply | None = None  # compose_reply: the scripted reply used (consumed only when answered)
    reply: Reply | None = None  # compose_reply
    finish_reason: str = "stop"  # compose_reply
    usage: dict[str, int] = field(default_factory=dict)  # compose_reply
    reservation: Reservation | None = None  # reserve_credits
    cassette: Cassette | None = None  # replay: the recorded exchange that answers (usage, body or events)
    completion_id: str = ""  # the answer's ``id`` (drawn with the request id: one call for both)

    @property
    def request(self) -> Request:
        """The request, as a Starlette :class:`Request` (made on each use: the pipeline needs none)."""
        return Request(self.scope, self.receive)

    @property
    def path(self) -> str:
        """The route the request came in on."""
        path: str = self.scope["path"]
        return path


StepResult = Answer | None | Awaitable[Answer | None]
"""What a step returns: the answer to send now, or None to go on; or an awaitable of either."""
Step = Callable[["ChatEndpoint", ChatCall], StepResult]
"""A pipeline step, plain or ``async``: returns the answer to send now, or None to go on to the next step."""
_ANSWER_TYPES = (Response, CompletionStream)


class ChatEndpoint:
    """ASGI endpoint answering chat completions for one :class:`MockState` (see the module docstring)."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self._auth_key: tuple[tuple[str, ...], tuple[str, ...], str] | None = None
        self._auth: Authenticator | None = None
        self._auth_config: object = None  # the config _auth was last checked against (configs are immutable)
        self._replayer: tuple[tuple[str | None, tuple[str, ...]], Replayer] | None = None

    def authenticator(self) -> Authenticator:
        """The authenticator for the current config (rebuilt only when the auth settings change)."""
        config = self.state.config
        if config is self._auth_config and self._auth is not None:
            return self._auth
        key = (config.api_keys, config.key_prefixes, config.jwt_secret)
        if self._auth is None or key != self._auth_key:
            self._auth = Authenticator(*key)
            self._auth_key = key
        self._auth_config = config
        return self._auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.answer(scope, receive)
        await response(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive) -> Answer:
        """The answer to one chat request, journaled unless it is a stream (which journals itself when it ends).

        Nothing is sent yet: ``await answer(scope, receive, send)`` sends it, its first message being
        ``http.response.start``.
        """
        # Header names arrive lower-cased (ASGI); built once, read several times. The first of repeats wins.
        incoming = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        random_hex = os.urandom(24).hex()  # the request id and the completion id, in one system call
        request_id = "req_" + random_hex[:24]
        entry = JournalEntry(
            0,
            scope["method"],
            scope["path"],
            0,
            request_id=request_id,
            started=time.perf_counter(),
            generation=self.state.journal.generation,
        )
        call = ChatCall(scope, receive, incoming, request_id, entry, completion_id="chatcmpl-" + random_hex[24:])
        response = await self.run(call)
        if not isinstance(response, CompletionStream):  # a stream journals itself when it ends
            body = response.body
            entry.response = body if type(body) is bytes else bytes(body)
            self._finish(entry, response.status_code)
        return response

    async def run(self, call: ChatCall) -> Answer:
        """Run ``call`` through :attr:`steps` until one answers."""
        for step in self.steps:
            answer = step(self, call)  # a plain step answers here; an async one gives its coroutine
            if answer is None:
                continue
            if not isinstance(answer, _ANSWER_TYPES):
                answer = await answer
                if answer is None:
                    continue
            return answer
        return self.error(call, 500, "The chat pipeline ended without an answer")

    # -- helpers ----------------------------------------------------------------------------
    def error(
        self,
        call: ChatCall,
        status: int,
        message: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> Response:
        """An error answer to ``call`` in the configured style, with the call's reply headers."""
        headers = dict(call.reply_headers)
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        style = self.state.config.error_style
        return error_response(style, status, message, code=code, request_id=call.request_id, headers=headers)

    def _finish(self, entry: JournalEntry, status: int) -> None:
        self._stamp(entry, status)
        self.state.journal.add(entry)

    @staticmethod
    def _stamp(entry: JournalEntry, status: int) -> None:
        """The answer's status and timing on its journal entry."""
        entry.status = status
        entry.duration_ms = entry.ttfb_ms = (time.perf_counter() - entry.started) * 1000

    @staticmethod
    def cost(call: ChatCall) -> int:
        """What ``call``'s answer costs, in micro-credits (its tokens at the model's price)."""
        assert call.model is not None
        return micro(call.usage["total_tokens"] * call.model.price)

    # -- the steps --------------------------------------------------------------------------
    def authenticate(self, call: ChatCall) -> StepResult:
        """401 unless the key (``X-API-Key`` or a bearer key/JWT) is accepted."""
        incoming = call.incoming
        try:
            call.identity = self.authenticator().authenticate(incoming.get("x-api-key"), incoming.get("authorization"))
        except AuthError as exc:
            return self.error(call, 401, str(exc))
        call.entry.key = call.identity.masked
        return None

    async def read_body(self, call: ChatCall) -> Response | None:
        """400/413/415/422 unless the body is JSON within the size limit that meets ``chat-request``."""
        config = self.state.config
        try:
            raw = await read_raw(call.receive, call.incoming, config.max_body_bytes)
            body = parse_json_body(raw, "chat-request")
        except BodyError as exc:
            if exc.status == 422:
                payload = validation_body(config.error_style, exc.problems)
                return json_response(payload, 422, call.request_id, call.reply_headers)
            return self.error(call, exc.status, exc.message)
        call.body = call.entry.body = body
        call.model_id = body.get("model") or body.get("preferred_model") or config.default_model
        call.stream = bool(body.get("stream"))
        call.entry.model, call.entry.stream = call.model_id, call.stream
        return None

    def load_account(self, call: ChatCall) -> StepResult:
        """Look up the key's account; its own rpm/tpm override the configured ones."""
        assert call.identity is not None
        config = self.state.config
        account = call.account = self.state.ledger.account(call.identity.account)
        call.rpm = account.rpm if account.rpm is not None else config.rpm
        call.tpm = account.tpm if account.tpm is not None else config.tpm
        return None

    def inject_fault(self, call: ChatCall) -> StepResult:
        """Pick the fault (header, magic key or model, queue, seeded draw); answer an ``http_error`` now."""
        header = call.incoming.get("x-mock-fault")
        if header:
            try:
                fault: Fault | None = parse_fault(header)
            except FaultError as exc:
                return self.error(call, 400, f"X-Mock-Fault: {exc}", "invalid_fault")
        else:
            fault = self._chosen_fault(call)
        if fault is not None and fault.stream_only and not call.stream:
            fault = None
        call.fault = fault
        if fault is None:
            return None
        call.entry.fault = {**fault.as_dict(), "source": fault.source}
        if fault.name == "latency":  # run awaits the sleep, then goes on (it ends with None)
            return anyio.sleep((fault.ms or 0) / 1000)
        if fault.name == "http_error" and fault.status is not None:
            assert call.identity is not None
            call.reply_headers.update(self.state.limiter.peek(call.identity.account, call.rpm, call.tpm))
            return self.error(call, fault.status, retry_after=fault.retry_after)
        return None

    def _chosen_fault(self, call: ChatCall) -> Fault | None:
        """The fault of a magic key or model, else the queue's, else the seeded generator's draw."""
        identity = call.identity
        magic = MAGIC_KEYS.get(identity.account) if identity is not None else None
        magic = magic or MAGIC_MODELS.get(call.model_id)
        if magic is not None:
            return magic
        queue = self.state.fault_queue
        queued = queue.peek(call.model_id, call.path, call.stream)
        if queued is not None:
            if queued.fault.stream_only:  # used only if the stream is actually sent (committed in respond)
                call.pending_fault = queued
                return queued.fault
            if queue.commit(queued):
                return queued.fault
        return self.state.seeded.draw(call.stream, identity.account if identity is not None else "")

    def replay(self, call: ChatCall) -> StepResult:
        """With ``--cassettes``: pick the matching cassette (charged from its usage) or answer the miss."""
        config = self.state.config
        if config.cassettes is None:
            return None
        try:
            replayer = self.replayer()
        except CassetteError as exc:
            return self.error(call, 500, f"Cannot replay: {exc}", "cassette_error")
        method = call.scope["method"]
        cassette = replayer.find(method, call.path, call.body)
        if cassette is None:
            if config.replay == "fallback":
                return None
            message = replayer.miss(method, call.path, call.body).message(f"{method} {call.path}")
            return self.error(call, 400, message, "no_matching_cassette")
        if not 200 <= cassette.response.status < 300:
            return replayed_json(cassette, call.request_id, call.reply_headers)  # a recorded error, as it came
        call.cassette = cassette
        usage = recorded_usage(cassette) or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        call.usage = call.entry.usage = usage
        if config.model(call.model_id) is None:
            call.model = any_model(call.model_id)  # only the real API has it: price 1, no plan gate
        return None

    def replayer(self) -> Replayer:
        """The cassettes of the current config, loaded once (again when ``cassettes`` or ``replay_match`` change)."""
        config = self.state.config
        key = (config.cassettes, config.replay_match)
        if self._replayer is None or key != self._replayer[0]:
            self._replayer = (key, Replayer(load_cassettes(Path(str(config.cassettes))), config.replay_match))
        return self._replayer[1]

    def check_model(self, call: ChatCall) -> StepResult:
        """The unknown-model status, 503 for a model made unavailable, 403 for a model above the plan."""
        state = self.state
        model_id = call.model_id
        model = call.model = state.config.model(model_id) or call.model  # replay: a model only the real API has
        if model is None:  # 404 by default: a typo must never look like an outage that SDKs retry
            message = unknown_model_message(model_id, state.config.models)
            return self.error(call, state.config.unknown_model_status, message, "model_not_found")
        if model_id in state.unavailable:
            return self.error(call, 503, f"Model '{model_id}' is temporarily unavailable", retry_after=1)
        assert call.account is not None
        if not model.allows(call.account.plan):
            return self.error(call, 403, f"Model '{model_id}' is not available on the {call.account.plan} plan")
        return None

    def compose_reply(self, call: ChatCall) -> StepResult:
        """The reply (see :mod:`mockserver.compose`), its finish reason and usage; 400 for unusable tools."""
        if call.cassette is not None:
            return None  # replay set the recorded usage; the recorded answer is the reply
        config = self.state.config
        body = call.body
        scripted = call.scripted = self.state.peek_scripted()
        try:
            reply, call.finish_reason = compose_reply(
                body,
                seed=config.seed,
                rules=config.replies,
                scripted=scripted,
                default_max_tokens=config.default_max_tokens,
            )
        except ToolChoiceError as exc:
            return self.error(call, 400, str(exc), "invalid_tool_choice")
        except (ResponseFormatError, SchemaError) as exc:
            return self.error(call, 400, str(exc), "invalid_schema")
        call.reply = reply
        usage = make_usage(prompt_tokens(body["messages"], body.get("system")), reply.completion_tokens)
        call.usage = call.entry.usage = usage
        return None

    def rate_limit(self, call: ChatCall) -> StepResult:
        """429 when the key is over its requests or tokens per minute."""
        if call.rpm <= 0 and call.tpm <= 0:  # no limit: nothing to take, no headers (as the limiter answers)
            return None
        assert call.identity is not None
        decision = self.state.limiter.check(call.identity.account, call.rpm, call.tpm, call.usage["total_tokens"])
        call.reply_headers.update(decision.headers)
        if not decision.allowed:
            return self.error(call, 429, decision.reason, retry_after=decision.retry_after)
        return None

    def reserve_credits(self, call: ChatCall) -> StepResult:
        """402 unless the key can pay for the whole reply (a stream settles to what it sent)."""
        assert call.identity is not None
        cost = self.cost(call)
        call.reservation = self.state.ledger.reserve(call.identity.account, cost)
        if call.reservation is None:
            return self.error(call, 402, "Insufficient credits")
        return None

    def respond(self, call: ChatCall) -> StepResult:
        """The completion, as JSON or as an SSE stream; uses up the scripted reply and queued fault."""
        state = self.state
        if call.scripted is not None:  # used only by a request that is answered
            state.consume_scripted(call.scripted)
        if call.pending_fault is not None and not state.fault_queue.commit(call.pending_fault):
            call.fault = None  # a concurrent request used the fault's last time first
            call.entry.fault = None
        if call.cassette is not None:
            return self._replayed(call, call.cassette)
        completion_id, created = call.completion_id, int(time.time())
        if call.stream:
            return self._stream(call, completion_id, created)
        assert call.reservation is not None
        call.entry.charged = call.reservation.amount / MICRO
        return json_response(self._completion(call, completion_id, created), 200, call.request_id, call.reply_headers)

    steps: ClassVar[tuple[Step, ...]] = (
        authenticate,
        read_body,
        load_account,
        inject_fault,
        replay,
        check_model,
        compose_reply,
        rate_limit,
        reserve_credits,
        respond,
    )
    """The pipeline, in order; the last step always answers."""

    # -- building the answer -----------------------------------------------------------------
    def _completion(self, call: ChatCall, completion_id: str, created: int) -> dict[str, Any]:
        reply, model, reservation = call.reply, call.model, call.reservation
        assert reply is not None
        assert model is not None
        assert reservation is not None
        assert call.account is not None
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in reply.tool_calls
            ]
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model.id,
            "provider": model.owned_by,
            "choices": [{"index": 0, "message": message, "finish_reason": call.finish_reason}],
            "usage": call.usage,
        }
        if call.path in MANAGED_ROUTES:
            remaining = self.state.ledger.account(reservation.key).remaining
            body.update(
                finish_reason=call.finish_reason,
                credits_consumed=reservation.amount / MICRO,
                credits_remaining=remaining / MICRO,
                plan_tier=call.account.plan,
            )
        return body

    def _stream(self, call: ChatCall, completion_id: str, created: int) -> CompletionStream:
        config = self.state.config
        reply, model, reservation = call.reply, call.model, call.reservation
        assert reply is not None
        assert model is not None
        assert reservation is not None
        options = call.body.get("stream_options") or {}
        usage = call.usage
        plan = build_stream(
            completion_id=completion_id,
            created=created,
            model=model.id,
            reply=reply,
            finish_reason=call.finish_reason,
            usage=usage,
            include_usage=bool(options.get("include_usage")),
            ttft_s=config.ttft_ms / 1000,
            tokens_per_second=config.tokens_per_second,
            fault=call.fault,
        )

        return CompletionStream(plan, stream_headers(call.request_id, call.reply_headers), self._settle(call, plan))

    def _settle(self, call: ChatCall, plan: StreamPlan) -> Callable[[StreamOutcome], None]:
        """What a stream does when it ends or is cut: settle the ledger to what was sent, journal it.

        (Called as the stream is set up, which is when the live journal is told it started.)
        """
        model, reservation, usage = call.model, call.reservation, call.usage
        assert model is not None
        assert reservation is not None
        self.state.journal.started(call.entry)

        def on_done(outcome: StreamOutcome) -> None:
            if outcome.completion_tokens_sent >= usage["completion_tokens"]:
                actual = reservation.amount
            else:
                actual = micro((usage["prompt_tokens"] + outcome.completion_tokens_sent) * model.price)
            self.state.ledger.settle(reservation, actual)
            entry = call.entry
            entry.charged = min(actual, reservation.amount) / MICRO
            entry.chunks_sent = outcome.events_sent
            entry.events = plan.events[: outcome.events_sent]
            entry.disconnected = outcome.disconnected
            entry.status = 200
            now = time.perf_counter()
            entry.duration_ms = (now - entry.started) * 1000
            entry.ttfb_ms = ((outcome.first_byte or now) - entry.started) * 1000
            self.state.journal.add(entry)

        return on_done

    def _replayed(self, call: ChatCall, cassette: Cassette) -> Answer:
        assert call.reservation is not None
        if cassette.response.is_stream:
            speed = self.state.config.replay_speed
            plan = replayed_stream_plan(cassette, speed, call.usage["completion_tokens"], call.fault)
            return CompletionStream(plan, stream_headers(call.request_id, call.reply_headers), self._settle(call, plan))
        call.entry.charged = call.reservation.amount / MICRO
        return replayed_json(cassette, call.request_id, call.reply_headers)
