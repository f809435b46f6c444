"""The custom schemathesis checks, on hand-made responses (``st run`` use is shown in docs/conformance.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis

from contracts.conformance.schemathesis_checks import (
    ainative_stream_framing,
    ainative_stream_grammar,
    ainative_usage_sum,
    force_budget,
)


class _Case:
    def __init__(self, body: Any) -> None:
        self.body = body
        self.path = "/api/v1/chat/completions"


def _response(status: int, content: bytes, content_type: str) -> schemathesis.Response:
    return schemathesis.Response(
        status_code=status, headers={"content-type": [content_type]}, content=content,
        request=None, elapsed=0.01, verify=False,  # type: ignore[arg-type]
    )  # fmt: skip


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


GOOD = _chunk({"role": "assistant"}) + _chunk({"content": "Hi"}) + _chunk({}, "stop") + b"data: [DONE]\n\n"
STREAM = _Case({"messages": [{"role": "user", "content": "x"}], "stream": True})


def test_good_stream_passes() -> None:
    response = _response(200, GOOD, "text/event-stream")
    assert ainative_stream_framing(None, response, STREAM) is True
    assert ainative_stream_grammar(None, response, STREAM) is True


def test_bad_grammar_and_framing_fail() -> None:
    with pytest.raises(AssertionError, match="does not end with data"):
        ainative_stream_grammar(
            None, _response(200, GOOD.replace(b"data: [DONE]\n\n", b""), "text/event-stream"), STREAM
        )
    with pytest.raises(AssertionError, match="expected text/event-stream"):
        ainative_stream_framing(None, _response(200, GOOD, "text/plain"), STREAM)


def test_non_stream_responses_are_not_judged_as_streams() -> None:
    response = _response(422, b'{"detail": "bad"}', "application/json")
    assert ainative_stream_grammar(None, response, STREAM) is None


def test_usage_sum() -> None:
    body = {"usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 4}}
    with pytest.raises(AssertionError, match="does not add up"):
        ainative_usage_sum(None, _response(200, json.dumps(body).encode(), "application/json"), _Case({}))
    body["usage"]["total_tokens"] = 3
    assert ainative_usage_sum(None, _response(200, json.dumps(body).encode(), "application/json"), _Case({})) is True


def test_force_budget_keeps_validity() -> None:
    valid = {"messages": [{"role": "user", "content": "x"}], "max_tokens": 4000, "model": "claude-3-opus-20240229"}
    assert force_budget(valid, "cheap", 16) == {**valid, "model": "cheap", "max_tokens": 16}
    invalid_by_max_tokens = {"messages": [{"role": "user", "content": "x"}], "max_tokens": -1}
    assert force_budget(invalid_by_max_tokens, "cheap", 16) == invalid_by_max_tokens
    invalid_elsewhere = {"messages": [], "max_tokens": 4000}
    assert force_budget(invalid_elsewhere, "cheap", 16)["max_tokens"] == 16


def test_usage_sum_leaves_boolean_counts_to_the_schema_checks() -> None:
    body = {"usage": {"prompt_tokens": True, "completion_tokens": 1, "total_tokens": 3}}
    assert ainative_usage_sum(None, _response(200, json.dumps(body).encode(), "application/json"), _Case({})) is True
