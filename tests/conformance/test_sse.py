"""SSE framing and stream grammar judges."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.conformance.sse import DONE, framing_problems, grammar_problems, parse_events, payloads


def _chunk(delta: dict[str, Any], finish: str | None = None, cid: str = "c", created: int = 1) -> dict[str, Any]:
    return {"id": cid, "created": created, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


ROLE = _chunk({"role": "assistant", "content": ""})
TEXT = _chunk({"content": "Hi"})
STOP = _chunk({}, "stop")
USAGE = {
    "id": "c",
    "created": 1,
    "choices": [],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


def test_good_stream_has_no_problems() -> None:
    assert grammar_problems([ROLE, TEXT, STOP, USAGE, DONE]) == []
    body = b'data: {"a":1}\n\ndata: [DONE]\n\n'
    assert framing_problems("text/event-stream; charset=utf-8", body) == []
    assert payloads(parse_events(body)) == [{"a": 1}, DONE]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([TEXT, ROLE, STOP, DONE], "expected role 'assistant' first"),
        ([ROLE, TEXT, STOP], "does not end with data: [DONE]"),
        ([ROLE, _chunk({"content": "x"}, "length"), STOP, DONE], "2 chunks carry a non-null finish_reason"),
        ([ROLE, STOP, TEXT, DONE], "non-usage chunk(s) after the finish_reason"),
        ([ROLE, _chunk({"content": "x"}, cid="other"), STOP, DONE], "different 'id' values"),
        ([ROLE, TEXT, DONE], "no chunk carries a non-null finish_reason"),
        ([ROLE, DONE, STOP, DONE], "not only as the last event"),
        ([], "no events"),
    ],
)
def test_grammar_problems(items: list[Any], expected: str) -> None:
    assert any(expected in p for p in grammar_problems(items)), grammar_problems(items)


def test_error_frame_may_end_a_stream() -> None:
    error = {"error": {"message": "upstream failed", "type": "server_error"}}
    assert grammar_problems([ROLE, TEXT, error, DONE]) == []
    assert grammar_problems([ROLE, error, TEXT, DONE])


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", b"data: [DONE]\n\n", "expected text/event-stream"),
        ("text/event-stream", b"data: [DONE]\r\n\r\n", "\\r\\n"),
        ("text/event-stream", b"data:[DONE]\n\n", "one space"),
        ("text/event-stream", b'data: {"a":\ndata: 1}\n\n', "2 data lines"),
        ("text/event-stream", b"data: {oops\n\n", "neither JSON nor [DONE]"),
        ("text/event-stream", b"data: [DONE]\n", "does not end with a blank line"),
        ("text/event-stream", b"event: done\ndata: [DONE]\n\n", "unexpected event name"),
        ("text/event-stream", b"", "empty"),
        ("text/event-stream", b"\xff\xfe", "not UTF-8"),
    ],
)
def test_framing_problems(content_type: str, body: bytes, expected: str) -> None:
    problems = framing_problems(content_type, body)
    assert any(expected in p for p in problems), problems


def test_comments_are_ignored() -> None:
    assert framing_problems("text/event-stream", b": ping\n\ndata: [DONE]\n\n") == []
