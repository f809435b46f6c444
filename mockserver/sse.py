"""Byte-exact OpenAI SSE streams of a completion, with pacing and mid-stream faults.

Every event of a stream is encoded once, up front (the reply is known before the first byte),
so the send loop does no JSON work. Framing is ``data: <one-line JSON>\\n\\n`` and the stream
ends with ``data: [DONE]\\n\\n``, exactly as OpenAI sends it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from starlette.types import Receive, Scope, Send

from mockserver.faults import Fault
from mockserver.replies import Reply
from mockserver.tokens import split_tokens

__all__ = ["DONE", "StreamOutcome", "StreamPlan", "argument_fragments", "build_stream", "stream_headers"]

DONE = b"data: [DONE]\n\n"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def stream_headers(request_id: str, extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Response headers of an SSE stream."""
    headers = {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        "x-request-id": request_id,
        **extra,
    }
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


@dataclass(slots=True)
class StreamOutcome:
    """What a finished (or cut) stream sent: events, completion tokens, whether the client left."""

    events_sent: int = 0
    completion_tokens_sent: int = 0
    disconnected: bool = False
    first_byte: float = 0.0


@dataclass(slots=True)
class StreamPlan:
    """The events of one stream, when to send each, and what to do instead (faults).

    Attributes:
        events: encoded SSE events, in order.
        tokens: completion tokens carried by each event.
        offsets: seconds after the start at which each event is due (all 0 when unpaced).
        disconnect_after: drop the connection after this many events (None = never).
        stall_after, stall_s: pause ``stall_s`` seconds after ``stall_after`` events.
    """

    events: list[bytes]
    tokens: list[int]
    offsets: list[float]
    disconnect_after: int | None = None
    stall_after: int | None = None
    stall_s: float = 0.0
    paced: bool = False


_FRAGMENT_RE = re.compile(r"\s*(?:\w+|[^\w\s]+)")


def argument_fragments(arguments: str) -> list[str]:
    """Split tool-call ``arguments`` into the fragments a stream sends, much as a model's tokens fall.

    Example:
        >>> argument_fragments('{"city": "Paris"}')
        ['{"', 'city', '":', ' "', 'Paris', '"}']
    """
    pieces = _FRAGMENT_RE.findall(arguments)
    if "".join(pieces) != arguments:  # trailing whitespace: keep it on the last piece
        rest = arguments[len("".join(pieces)) :]
        pieces = [*pieces[:-1], pieces[-1] + rest] if pieces else [arguments]
    return pieces or [arguments]


def _chunk_head(completion_id: str, created: int, model: str) -> str:
    return (
        f'{{"id":{_dumps(completion_id)},"object":"chat.completion.chunk","created":{created},'
        f'"model":{_dumps(model)},"choices":['
    )


def build_stream(
    *,
    completion_id: str,
    created: int,
    model: str,
    reply: Reply,
    finish_reason: str,
    usage: dict[str, int],
    include_usage: bool,
    ttft_s: float,
    tokens_per_second: float,
    fault: Fault | None,
) -> StreamPlan:
    """Encode a whole stream and schedule it. Content is one token per event."""
    head = _chunk_head(completion_id, created, model)
    tail = ',"usage":null}' if include_usage else "}"

    def event(delta: str, finish: str | None) -> bytes:
        finish_json = "null" if finish is None else _dumps(finish)
        return f'data: {head}{{"index":0,"delta":{delta},"finish_reason":{finish_json}}}]{tail}\n\n'.encode()

    pieces: list[tuple[str, int]] = []  # (delta JSON, completion tokens)
    if reply.tool_calls:
        role = event('{"role":"assistant","content":null}', None)
        for index, call in enumerate(reply.tool_calls):
            opening = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            pieces.append((_dumps({"tool_calls": [opening]}), 1))
            for part in argument_fragments(call.arguments):
                pieces.append((_dumps({"tool_calls": [{"index": index, "function": {"arguments": part}}]}), 1))
    else:
        role = event('{"role":"assistant","content":""}', None)
        text = reply.text or ""
        tokens_text = split_tokens(text)
        rest = text[len("".join(tokens_text)) :]  # trailing whitespace belongs to the last piece
        if rest:
            if tokens_text:
                tokens_text[-1] += rest
            else:
                tokens_text = [rest]
        pieces = [(_dumps({"content": token}), 1) for token in tokens_text]
    # Token counts of the pieces must add up to usage.completion_tokens: spread them evenly if not.
    total = usage["completion_tokens"]
    if pieces and sum(t for _, t in pieces) != total:
        n = len(pieces)
        pieces = [(delta, (i + 1) * total // n - i * total // n) for i, (delta, _) in enumerate(pieces)]
    interval = 1.0 / tokens_per_second if tokens_per_second > 0 else 0.0
    if fault is not None and fault.name == "slow_first_token":
        ttft_s += (fault.ms or 0) / 1000
    events = [role]
    tokens = [0]
    offsets = [0.0]
    for i, (delta, count) in enumerate(pieces):
        events.append(event(delta, None))
        tokens.append(count)
        offsets.append(ttft_s + i * interval)
    end = ttft_s + len(pieces) * interval
    name = fault.name if fault is not None else None
    if name != "no_finish_reason":
        events.append(event("{}", finish_reason))
        tokens.append(0)
        offsets.append(end)
    if include_usage:
        events.append(f'data: {head}],"usage":{_dumps(usage)}}}\n\n'.encode())
        tokens.append(0)
        offsets.append(end)
    if name != "no_done":
        events.append(DONE)
        tokens.append(0)
        offsets.append(end)
    plan = StreamPlan(events, tokens, offsets, paced=ttft_s > 0 or interval > 0)
    if fault is not None:
        _apply_fault(plan, fault, head)
    return plan


def _apply_fault(plan: StreamPlan, fault: Fault, head: str) -> None:
    after = fault.after_chunks
    if fault.name == "disconnect":
        plan.disconnect_after = min(2 if after is None else after, len(plan.events))
    elif fault.name == "malformed_chunk":
        at = min(1 if after is None else after, len(plan.events))
        broken = f'data: {head}{{"index":0,"delta":{{"content":"\n\n'.encode()
        plan.events.insert(at, broken)
        plan.tokens.insert(at, 0)
        plan.offsets.insert(at, plan.offsets[at - 1] if at else 0.0)
    elif fault.name == "stall":
        plan.stall_after = min(1 if after is None else after, len(plan.events))
        plan.stall_s = (fault.ms if fault.ms is not None else 2000) / 1000
        plan.paced = True
    elif fault.name == "error_frame":
        at = min(1 if after is None else after, len(plan.events))
        frame = {
            "error": {
                "message": "The upstream model failed mid-stream",
                "type": "server_error",
                "code": "stream_error",
                "param": None,
            }
        }
        del plan.events[at:], plan.tokens[at:], plan.offsets[at:]
        plan.events.append(b"data: " + _dumps(frame).encode() + b"\n\n")
        plan.tokens.append(0)
        plan.offsets.append(plan.offsets[-1] if plan.offsets else 0.0)


DISCONNECT_LINGER_S = 0.2
"""How long a planned disconnect waits between its last event and the cut.

The events are written (and flushed) before the wait, so they leave the server as data of their
own, well before the connection closes. A browser's ``fetch`` may fail the body stream as soon
as the connection drops, dropping an event it received together with the close (a stream's
queued chunks are discarded when it errors); the pause makes the delivered events arrive, and be
read, first. 50 ms lost 2 of 200 runs in Chromium on a loaded 2-core machine; 200 ms leaves room.
"""


async def _linger() -> None:
    await anyio.sleep(DISCONNECT_LINGER_S)


class CompletionStream:
    """ASGI response that plays a :class:`StreamPlan` and reports what it sent to ``on_done``.

    ``on_done`` runs exactly once: just before the last event of a complete stream (so the journal
    and the ledger are up to date when the client sees the end), or when the stream is cut.
    """

    def __init__(
        self, plan: StreamPlan, headers: list[tuple[bytes, bytes]], on_done: Callable[[StreamOutcome], None]
    ) -> None:
        self.plan = plan
        self.headers = headers
        self._on_done = on_done
        self._reported = False

    def _report(self, outcome: StreamOutcome) -> None:
        if not self._reported:
            self._reported = True
            self._on_done(outcome)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outcome = StreamOutcome()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.headers})
            outcome.first_byte = time.perf_counter()
            if self.plan.paced:
                await self._paced(receive, send, outcome)
            else:
                await self._burst(send, outcome)
        finally:
            self._report(outcome)

    async def _burst(self, send: Send, outcome: StreamOutcome) -> None:
        plan = self.plan
        cut = plan.disconnect_after is not None
        count = len(plan.events) if plan.disconnect_after is None else plan.disconnect_after
        outcome.events_sent = count
        outcome.completion_tokens_sent = sum(plan.tokens[:count])
        if not cut:
            self._report(outcome)
        await send({"type": "http.response.body", "body": b"".join(plan.events[:count]), "more_body": cut})
        if cut:
            await _linger()
        # A planned disconnect returns without finishing the body: the server drops the connection.

    async def _paced(self, receive: Receive, send: Send, outcome: StreamOutcome) -> None:
        plan = self.plan
        finishing = False
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        if not finishing:  # after the last event a server reports disconnect at once
                            outcome.disconnected = True
                            group.cancel_scope.cancel()
                        return

            group.start_soon(watch_disconnect)
            start = time.perf_counter()
            last = len(plan.events) if plan.disconnect_after is None else plan.disconnect_after
            for index in range(last):
                if plan.stall_after is not None and index == plan.stall_after:
                    await anyio.sleep(plan.stall_s)  # a stall is a real pause, whatever the schedule
                    start += plan.stall_s
                delay = start + plan.offsets[index] - time.perf_counter()
                if delay > 0:
                    await anyio.sleep(delay)
                final = plan.disconnect_after is None and index == len(plan.events) - 1
                outcome.events_sent = index + 1
                outcome.completion_tokens_sent += plan.tokens[index]
                if final:
                    finishing = True
                    self._report(outcome)
                await send({"type": "http.response.body", "body": plan.events[index], "more_body": not final})
            if not plan.events:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            if plan.disconnect_after is not None:
                await _linger()
            group.cancel_scope.cancel()
