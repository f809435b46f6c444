"""The contract covers tool calls, structured output and stop sequences (requests lenient, responses strict)."""

from __future__ import annotations

from typing import Any

import pytest

import contracts

USER = [{"role": "user", "content": "hi"}]
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True}}


def _valid(name: str, value: Any) -> bool:
    return bool(contracts.validator_for(name).is_valid(value))


@pytest.mark.parametrize(
    "fields",
    [
        {"tools": [TOOL], "tool_choice": "required", "parallel_tool_calls": False},
        {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        {"response_format": {"type": "json_object"}},
        {"response_format": SCHEMA_FORMAT},
        {"response_format": {"type": "text"}},
        {"response_format": None, "stop": None, "parallel_tool_calls": None},
        {"stop": "END"},
        {"stop": ["END", "\n\n"]},
        {
            "messages": [
                *USER,
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
            ]
        },
        {"some_future_field": {"x": 1}},  # lenient: unknown fields are ignored
    ],
)
def test_requests_with_tools_and_formats_are_accepted(fields: dict[str, Any]) -> None:
    assert _valid("chat-request", {"messages": USER, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"stop": [1]},
        {"stop": 5},
        {"response_format": {"type": "xml"}},
        {"response_format": {"type": "json_schema"}},
        {"response_format": {"type": "json_schema", "json_schema": {"schema": "not a schema"}}},
        {"response_format": {"type": "json_schema", "json_schema": {"schema": False}}},
        {"parallel_tool_calls": "yes"},
        {"tool_choice": "sometimes"},
        {"messages": [*USER, {"role": "tool", "tool_call_id": "call_1"}]},  # a tool turn needs content
    ],
)
def test_malformed_tool_and_format_fields_are_rejected(fields: dict[str, Any]) -> None:
    assert not _valid("chat-request", {"messages": USER, **fields})


def _completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def test_tool_call_completion_shapes() -> None:
    assert _valid(
        "chat-completion", _completion({"role": "assistant", "content": None, "tool_calls": [CALL]}, "tool_calls")
    )
    # finish_reason tool_calls promises the calls
    assert not _valid("chat-completion", _completion({"role": "assistant", "content": None}, "tool_calls"))
    # arguments are JSON text, not an object; ids are non-empty
    bad_args = {**CALL, "function": {"name": "f", "arguments": {"city": "Paris"}}}
    assert not _valid(
        "chat-completion", _completion({"role": "assistant", "content": None, "tool_calls": [bad_args]}, "tool_calls")
    )
    assert not _valid(
        "chat-completion",
        _completion({"role": "assistant", "content": None, "tool_calls": [{**CALL, "id": ""}]}, "tool_calls"),
    )


def test_tool_call_chunk_shapes() -> None:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    opening = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
    fragment = {"index": 0, "function": {"arguments": '{"a'}}
    for delta in ({"tool_calls": [opening]}, {"tool_calls": [fragment]}, {"role": "assistant", "content": None}):
        assert _valid(
            "chat-completion-chunk", {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        )
    no_index = {"tool_calls": [{"function": {"arguments": "x"}}]}
    assert not _valid(
        "chat-completion-chunk", {**head, "choices": [{"index": 0, "delta": no_index, "finish_reason": None}]}
    )


def test_openapi_carries_the_new_request_fields() -> None:
    document = contracts.load_openapi()
    request = document["components"]["schemas"]["ChatCompletionRequest"]
    for field in ("tools", "tool_choice", "parallel_tool_calls", "response_format", "stop"):
        assert field in request["properties"], field
