"""Replay recorded cassettes: find the one a request matches, or explain the nearest miss, and play it.

The mock's chat pipeline calls :meth:`Replayer.find` after faults are drawn; a hit answers with
the recorded body (or the recorded events, at the recorded pace times ``replay_speed``) while the
ledger, rate limits and faults still apply, charged from the recorded ``usage``. See
``docs/cassettes.md`` for the format and the match keys.

Example:
    >>> from mockserver.cassettes import Cassette, CassetteRequest, CassetteResponse
    >>> hi = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    >>> hit = Cassette(CassetteRequest("POST", "/v1/chat/completions", hi), CassetteResponse(200, {}, b"{}"))
    >>> replayer = Replayer([hit])
    >>> replayer.find("POST", "/v1/chat/completions", hi) is hit
    True
    >>> hello = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    >>> miss = replayer.miss("POST", "/v1/chat/completions", hello)
    >>> miss.field, miss.recorded, miss.sent
    ('messages[0].content', 'hi', 'hello')
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from mockserver.cassettes import (
    DEFAULT_MATCH_KEYS,
    Cassette,
    CassetteRequest,
    RecordedEvent,
    Scrubber,
    match_hash,
    match_values,
)
from mockserver.faults import Fault
from mockserver.sse import StreamPlan
from mockserver.sse import _apply_fault as apply_fault  # the same faults as a generated stream
from mockserver.sse import _chunk_head as chunk_head

__all__ = ["Miss", "Replayer", "recorded_usage", "replayed_json", "replayed_stream_plan", "stream_schedule"]

_SCRUBBER = Scrubber()


@dataclass(frozen=True, slots=True)
class Miss:
    """Why a request matched no cassette: the nearest one and the first field where they differ."""

    nearest: Cassette | None
    field: str
    recorded: Any
    sent: Any

    def message(self, route: str) -> str:
        """One paragraph for the error body."""
        if self.nearest is None:
            return f"No cassette matches {route}: no cassette was recorded for this route."
        name = self.nearest.path.name if self.nearest.path else "(unnamed cassette)"
        return (
            f"No cassette matches {route}. Nearest: {name}, which differs in {self.field}: "
            f"recorded {_short(self.recorded)}, sent {_short(self.sent)}."
        )


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def _first_difference(recorded: Any, sent: Any, path: str) -> tuple[str, Any, Any] | None:
    if recorded == sent:
        return None
    if isinstance(recorded, Mapping) and isinstance(sent, Mapping):
        for key in [*recorded, *(k for k in sent if k not in recorded)]:
            found = _first_difference(recorded.get(key), sent.get(key), f"{path}.{key}")
            if found:
                return found
    if isinstance(recorded, list) and isinstance(sent, list):
        for index in range(max(len(recorded), len(sent))):
            if index >= len(recorded) or index >= len(sent):
                return (f"{path}[{index}]", recorded[index] if index < len(recorded) else None,
                        sent[index] if index < len(sent) else None)  # fmt: skip
            found = _first_difference(recorded[index], sent[index], f"{path}[{index}]")
            if found:
                return found
    return path, recorded, sent


def _likeness(recorded: Any, sent: Any) -> float:
    """How alike two match values are, 0..1 (on their JSON text, first 2000 characters)."""
    a = json.dumps(recorded, sort_keys=True, ensure_ascii=False)[:2000]
    b = json.dumps(sent, sort_keys=True, ensure_ascii=False)[:2000]
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


class Replayer:
    """An index of cassettes by their match values.

    Args:
        cassettes: the recorded exchanges (the first of two with the same match values wins).
        keys: the match keys (see :data:`~mockserver.cassettes.DEFAULT_MATCH_KEYS`).
    """

    def __init__(self, cassettes: Sequence[Cassette], keys: Sequence[str] = DEFAULT_MATCH_KEYS) -> None:
        self.keys = tuple(keys)
        self.cassettes = list(cassettes)
        self._index: dict[str, Cassette] = {}
        for cassette in self.cassettes:
            self._index.setdefault(match_hash(cassette.request, self.keys), cassette)

    def _request(self, method: str, route: str, body: Any) -> CassetteRequest:
        return CassetteRequest(method.upper(), route, _SCRUBBER.scrub_value(body))

    def find(self, method: str, route: str, body: Any) -> Cassette | None:
        """The cassette ``body`` sent to ``route`` matches, or None."""
        return self._index.get(match_hash(self._request(method, route, body), self.keys))

    def miss(self, method: str, route: str, body: Any) -> Miss:
        """The nearest cassette (fewest differing match keys, same route first) and the first difference."""
        sent = match_values(self._request(method, route, body), self.keys)
        best: tuple[tuple[int, float], Cassette] | None = None
        for cassette in self.cassettes:
            recorded = match_values(cassette.request, self.keys)
            differing = [k for k in self.keys if recorded[k] != sent[k]]
            keys_apart = len(differing) + 10 * (recorded.get("route") != sent.get("route"))
            if best is not None and keys_apart > best[0][0]:
                continue
            # of cassettes as many keys apart, the one whose differing values are most alike is nearest
            unlike = sum(1 - _likeness(recorded[k], sent[k]) for k in differing)
            if best is None or (keys_apart, unlike) < best[0]:
                best = ((keys_apart, unlike), cassette)
        if best is None:
            return Miss(None, "route", None, sent.get("route"))
        recorded = match_values(best[1].request, self.keys)
        for key in self.keys:
            found = _first_difference(recorded[key], sent[key], key)
            if found:
                return Miss(best[1], *found)
        return Miss(best[1], "route", recorded.get("route"), sent.get("route"))  # pragma: no cover - it matched


def recorded_usage(cassette: Cassette) -> dict[str, int] | None:
    """The recorded usage as whole token counts, or None when the answer carried none."""
    usage = cassette.response.usage()
    if usage is None:
        return None
    try:
        prompt = int(usage.get("prompt_tokens", 0))
        completion = int(usage.get("completion_tokens", 0))
    except (TypeError, ValueError):
        return None
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _carries_content(event: RecordedEvent) -> bool:
    try:
        chunk = json.loads(event.data)
    except ValueError:
        return False
    choices = chunk.get("choices") if isinstance(chunk, Mapping) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return False
    delta = choices[0].get("delta")
    return isinstance(delta, Mapping) and bool(delta.get("content") or delta.get("tool_calls"))


def _has_finish(event: RecordedEvent) -> bool:
    try:
        chunk = json.loads(event.data)
    except ValueError:
        return False
    choices = chunk.get("choices") if isinstance(chunk, Mapping) else None
    return isinstance(choices, list) and any(isinstance(c, Mapping) and c.get("finish_reason") for c in choices)


def stream_schedule(
    events: Sequence[RecordedEvent], speed: float, completion_tokens: int, *, drop_done: bool = False,
    drop_finish: bool = False,
) -> tuple[list[bytes], list[int], list[float]]:  # fmt: skip
    """Encoded events, completion tokens carried by each, and when each is due (seconds after the start).

    Each recorded delay is multiplied by ``speed`` (1 = as recorded, 0 = as fast as possible). Tokens go
    one per content event, the remainder on the last one, so a cut stream is charged for what it sent.
    """
    kept = [e for e in events if not (drop_done and e.data == "[DONE]") and not (drop_finish and _has_finish(e))]
    out, tokens, offsets = [], [], []
    at = 0.0
    for event in kept:
        at += max(event.delay_ms, 0.0) / 1000 * speed
        out.append(event.encode())
        tokens.append(1 if _carries_content(event) else 0)
        offsets.append(at)
    content = [i for i, t in enumerate(tokens) if t]
    if content:
        tokens[content[-1]] += max(completion_tokens - len(content), 0)
    elif tokens:
        tokens[-1] = completion_tokens
    return out, tokens, offsets


def replayed_json(cassette: Cassette, request_id: str, headers: Mapping[str, str]) -> Response:
    """The recorded JSON answer: recorded status, content type and body bytes; this request's id and headers."""
    recorded = cassette.response
    out = {"content-type": recorded.headers.get("content-type", "application/json")}
    for name in ("retry-after", "retry-after-ms", "x-should-retry"):
        if name in recorded.headers:
            out[name] = recorded.headers[name]
    out.update(headers)
    out["x-request-id"] = request_id
    return Response(recorded.body, recorded.status, out)


def replayed_stream_plan(cassette: Cassette, speed: float, completion_tokens: int, fault: Fault | None) -> StreamPlan:
    """The recorded events as a :class:`~mockserver.sse.StreamPlan`, with the stream fault (if any) applied."""
    name = fault.name if fault is not None else None
    events, tokens, offsets = stream_schedule(
        cassette.response.events or (), speed, completion_tokens,
        drop_done=name == "no_done", drop_finish=name == "no_finish_reason",
    )  # fmt: skip
    if fault is not None and name == "slow_first_token":
        offsets = [o + (fault.ms or 0) / 1000 for o in offsets]
    plan = StreamPlan(events, tokens, offsets, paced=any(o > 0 for o in offsets))
    if fault is not None and name in ("disconnect", "malformed_chunk", "stall", "error_frame"):
        apply_fault(plan, fault, _head(cassette))
    return plan


def _head(cassette: Cassette) -> str:
    for event in cassette.response.events or ():
        try:
            chunk = json.loads(event.data)
        except ValueError:
            continue
        if isinstance(chunk, Mapping) and "id" in chunk:
            return chunk_head(str(chunk["id"]), int(chunk.get("created") or 0), str(chunk.get("model") or ""))
    return chunk_head("chatcmpl-replay", 0, "")
