"""Server-sent events: parse a chat-completion stream and judge its framing and its grammar.

Framing is the byte layout (``data: <one-line JSON>\\n\\n`` per event, ``data: [DONE]\\n\\n`` last).
Grammar is the order of chunks (role first, one ``id``/``created``, content deltas, exactly one
non-null ``finish_reason``, nothing but a usage chunk after it, ``[DONE]`` last).
Both judges return a list of human-readable problems; an empty list means the stream holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DONE", "SseEvent", "framing_problems", "grammar_problems", "parse_events", "payloads"]

DONE = "[DONE]"
"""The data of the event that ends an OpenAI-style stream."""

_ALLOWED_EVENT_NAMES = ("", "message")


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One event of an SSE body.

    Attributes:
        data: the ``data`` lines joined with ``\\n`` (per the SSE specification).
        event: the ``event`` field ('' when absent).
        data_lines: how many ``data`` lines the event had.
        raw: the block of text the event was parsed from (without its blank-line terminator).
    """

    data: str
    event: str = ""
    data_lines: int = 1
    raw: str = ""
    other_fields: tuple[str, ...] = field(default_factory=tuple)


def _split_blocks(text: str) -> list[str]:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    return [block for block in normalised.split("\n\n") if block.strip("\n")]


def parse_events(body: bytes | str) -> list[SseEvent]:
    """Parse an SSE body into events, leniently (as a browser ``EventSource`` would).

    Comment lines (``:``) are ignored; events without a ``data`` line are dropped.

    Example:
        >>> [e.data for e in parse_events(b'data: {"a":1}\\n\\ndata: [DONE]\\n\\n')]
        ['{"a":1}', '[DONE]']
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    events: list[SseEvent] = []
    for block in _split_blocks(text):
        data: list[str] = []
        name = ""
        others: list[str] = []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "data":
                data.append(value)
            elif key == "event":
                name = value
            else:
                others.append(key)
        if data:
            events.append(SseEvent("\n".join(data), name, len(data), block, tuple(others)))
    return events


def payloads(events: Sequence[SseEvent]) -> list[Any]:
    """The decoded payload of each event: a JSON value, :data:`DONE`, or the raw string if not JSON."""
    out: list[Any] = []
    for event in events:
        if event.data == DONE:
            out.append(DONE)
            continue
        try:
            out.append(json.loads(event.data))
        except ValueError:
            out.append(event.data)
    return out


def _is_event_stream(content_type: str | None) -> bool:
    return bool(content_type) and str(content_type).split(";")[0].strip().lower() == "text/event-stream"


def framing_problems(content_type: str | None, body: bytes) -> list[str]:
    """Problems with the content type and byte framing of an SSE chat stream.

    Example:
        >>> framing_problems("text/event-stream", b'data: {"a":1}\\n\\ndata: [DONE]\\n\\n')
        []
        >>> framing_problems("application/json", b"data: [DONE]\\n\\n")
        ["content type is 'application/json', expected text/event-stream"]
    """
    problems: list[str] = []
    if not _is_event_stream(content_type):
        problems.append(f"content type is {content_type!r}, expected text/event-stream")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [*problems, f"body is not UTF-8 ({exc.reason} at byte {exc.start})"]
    if "\r" in text:
        problems.append("lines end with \\r\\n or \\r; expected \\n only")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return [*problems, "stream body is empty"]
    if not text.endswith("\n\n"):
        problems.append(f"stream does not end with a blank line (last bytes {text[-20:]!r})")
    for number, block in enumerate((b for b in text.split("\n\n") if b.strip("\n")), start=1):
        problems.extend(f"event {number}: {p}" for p in _block_problems(block.strip("\n")))
        if len(problems) >= 10:
            problems.append("(further framing problems not listed)")
            break
    return problems


def _block_problems(block: str) -> list[str]:
    problems: list[str] = []
    data_lines: list[str] = []
    lines = [line for line in block.split("\n") if not line.startswith(":")]
    if not lines:
        return []  # a comment-only block (keep-alive ping)
    for line in lines:
        if line.startswith("data: "):
            data_lines.append(line[len("data: ") :])
        elif line.startswith("data:"):
            problems.append(f"{line[:40]!r}: expected 'data: ' with one space")
            data_lines.append(line[len("data:") :])
        elif line.startswith("event:"):
            name = line[len("event:") :].strip()
            if name not in _ALLOWED_EVENT_NAMES:
                problems.append(f"unexpected event name {name!r} (OpenAI streams send data lines only)")
        elif line.startswith(("id:", "retry:")):
            continue
        else:
            problems.append(f"line {line[:40]!r} is not an SSE field")
    if len(data_lines) != 1:
        problems.append(f"{len(data_lines)} data lines in one event, expected exactly 1")
    for data in data_lines:
        if data == DONE:
            continue
        try:
            json.loads(data)
        except ValueError:
            problems.append(f"data {data[:60]!r} is neither JSON nor [DONE]")
    return problems


def _first_choice(chunk: Mapping[str, Any]) -> Mapping[str, Any] | None:
    choices = chunk.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        return choices[0]
    return None


def _delta(choice: Mapping[str, Any]) -> Mapping[str, Any]:
    delta = choice.get("delta")
    return delta if isinstance(delta, Mapping) else {}


def _is_usage_chunk(chunk: Mapping[str, Any]) -> bool:
    return chunk.get("choices") == [] and isinstance(chunk.get("usage"), Mapping)


def _identity_problems(chunks: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    for key in ("id", "created"):
        values = {json.dumps(c.get(key)) for c in chunks}
        if len(values) > 1:
            problems.append(f"{len(values)} different {key!r} values in one stream: {', '.join(sorted(values))[:120]}")
    return problems


def _finish_problems(chunks: Sequence[Mapping[str, Any]]) -> list[str]:
    problems: list[str] = []
    finishes = [
        i for i, c in enumerate(chunks) if (ch := _first_choice(c)) is not None and ch.get("finish_reason") is not None
    ]
    if not finishes:
        return ["no chunk carries a non-null finish_reason"]
    if len(finishes) > 1:
        problems.append(
            f"{len(finishes)} chunks carry a non-null finish_reason (chunks {finishes}), expected exactly 1"
        )
    after = chunks[finishes[0] + 1 :]
    usage_chunks = [c for c in after if _is_usage_chunk(c)]
    others = [c for c in after if not _is_usage_chunk(c)]
    if others and len(finishes) == 1:
        problems.append(f"{len(others)} non-usage chunk(s) after the finish_reason chunk")
    if len(usage_chunks) > 1:
        problems.append(f"{len(usage_chunks)} usage chunks after the finish_reason chunk, expected at most 1")
    return problems


def _role_problems(chunks: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    with_choices = [(i, ch) for i, c in enumerate(chunks) if (ch := _first_choice(c)) is not None]
    if not with_choices:
        return ["no chunk has a choice"]
    _, first = with_choices[0]
    if _delta(first).get("role") != "assistant":
        problems.append(f"first chunk's delta is {dict(_delta(first))!r}, expected role 'assistant' first")
    late = [i for i, ch in with_choices[1:] if "role" in _delta(ch)]
    if late:
        problems.append(f"role repeated in later chunk(s) {late}")
    for i, ch in with_choices:
        content = _delta(ch).get("content")
        if content is not None and not isinstance(content, str):
            problems.append(f"chunk {i}: delta.content is {type(content).__name__}, expected a string")
    return problems


def grammar_problems(items: Sequence[Any]) -> list[str]:
    """Order problems in a decoded chat stream (see :func:`payloads`).

    An in-band OpenAI error frame (``{"error": {...}}``) may end a stream early: it must be
    the last payload before ``[DONE]``, and then no ``finish_reason`` is required.

    Example:
        >>> def chunk(delta, finish):
        ...     return {"id": "c", "created": 1, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        >>> role, stop = chunk({"role": "assistant"}, None), chunk({}, "stop")
        >>> grammar_problems([role, stop, DONE])
        []
        >>> grammar_problems([role, stop])
        ['stream does not end with data: [DONE]']
    """
    problems: list[str] = []
    if not items:
        return ["stream has no events"]
    dones = [i for i, item in enumerate(items) if item == DONE]
    if not dones or dones[-1] != len(items) - 1:
        problems.append("stream does not end with data: [DONE]")
    if len(dones) > 1 or (dones and dones[0] != len(items) - 1):
        problems.append(f"[DONE] sent {len(dones)} time(s), not only as the last event")
    body = [item for item in items if item != DONE]
    not_objects = [i for i, item in enumerate(body) if not isinstance(item, Mapping)]
    if not_objects:
        problems.append(f"event(s) {not_objects} are not JSON objects")
    chunks = [item for item in body if isinstance(item, Mapping)]
    errors = [i for i, c in enumerate(chunks) if "error" in c and "choices" not in c]
    if errors:
        if errors != [len(chunks) - 1]:
            problems.append(f"in-band error frame(s) at {errors} not last")
        chunks = chunks[: errors[0]]
        if chunks:
            problems.extend(_role_problems(chunks))
            problems.extend(_identity_problems(chunks))
        return problems
    if not chunks:
        return [*problems, "stream has no chunks"]
    problems.extend(_role_problems(chunks))
    problems.extend(_identity_problems(chunks))
    problems.extend(_finish_problems(chunks))
    return problems
