"""Broken bodies fail their schema, and the error names the offending field by JSON path.

Each case starts from a valid body and breaks exactly one thing, so a failure can only come
from that change.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from typing import Any, NamedTuple

import pytest

import contracts

DELETE = object()
"""Marks a key to remove instead of a value to set."""

MODEL = "claude-3-5-sonnet-20241022"
REQUEST = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is ZeroDB?"},
    ],
    "temperature": 0.7,
    "max_tokens": 1024,
}
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
COMPLETION = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1764403200,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi", "tool_calls": [TOOL_CALL]},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
}
CHUNK = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion.chunk",
    "created": 1764403200,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1"}]},
            "finish_reason": None,
        }
    ],
    "usage": None,
}
BALANCE = {
    "total_credits": 50000,
    "used_credits": 12340.5,
    "remaining_credits": 37659.5,
    "unlimited": False,
    "plan": "pro",
    "period_start": "2026-04-01T00:00:00Z",
    "period_end": None,
    "usage_percentage": 24.68,
}
DETAIL_422 = {"detail": [{"loc": ["body", "messages"], "msg": "Field required", "type": "missing"}]}
OPENAI_ERROR = {"error": {"message": "Invalid API key", "type": "authentication_error", "code": "invalid_api_key"}}
COMPAT = {
    "detail": "Insufficient credits",
    "code": "INSUFFICIENT_CREDITS",
    "message": "Insufficient credits",
    "error": {"message": "Insufficient credits", "type": "insufficient_quota", "code": "insufficient_credits"},
}
MODELS = {"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "openai"}]}
USAGE = {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}


class Violation(NamedTuple):
    schema: str
    instance: Any
    path: str
    keyword: str


def broken(base: dict[str, Any], location: tuple[str | int, ...], value: Any = DELETE) -> Any:
    """A deep copy of ``base`` with the value at ``location`` replaced (or removed with ``DELETE``)."""
    out = copy.deepcopy(base)
    parent: Any = out
    for part in location[:-1]:
        parent = parent[part]
    if value is DELETE:
        del parent[location[-1]]
    else:
        parent[location[-1]] = value
    return out


CASES = {
    # chat-request
    "request-missing-messages": Violation("chat-request", broken(REQUEST, ("messages",)), "$.messages", "required"),
    "request-messages-not-array": Violation("chat-request", broken(REQUEST, ("messages",), "hi"), "$.messages", "type"),
    "request-messages-empty": Violation("chat-request", broken(REQUEST, ("messages",), []), "$.messages", "minItems"),
    "request-unknown-role": Violation(
        "chat-request", broken(REQUEST, ("messages", 1, "role"), "robot"), "$.messages[1].role", "enum"
    ),
    "request-user-without-content": Violation(
        "chat-request", broken(REQUEST, ("messages", 1, "content")), "$.messages[1].content", "required"
    ),
    "request-temperature-string": Violation(
        "chat-request", broken(REQUEST, ("temperature",), "hot"), "$.temperature", "type"
    ),
    "request-temperature-above-2": Violation(
        "chat-request", broken(REQUEST, ("temperature",), 2.5), "$.temperature", "maximum"
    ),
    "request-max-tokens-float": Violation(
        "chat-request", broken(REQUEST, ("max_tokens",), 10.5), "$.max_tokens", "type"
    ),
    "request-unknown-tool-choice": Violation(
        "chat-request", broken(REQUEST, ("tool_choice",), "sometimes"), "$.tool_choice", "anyOf"
    ),
    "request-tool-without-name": Violation(
        "chat-request",
        broken(REQUEST, ("tools",), [{"type": "function", "function": {"parameters": {}}}]),
        "$.tools[0].function.name",
        "required",
    ),
    "request-text-part-without-text": Violation(
        "chat-request",
        broken(REQUEST, ("messages", 1, "content"), [{"type": "text"}]),
        "$.messages[1].content[0].text",
        "required",
    ),
    "request-include-usage-string": Violation(
        "chat-request",
        broken(REQUEST, ("stream_options",), {"include_usage": "yes"}),
        "$.stream_options.include_usage",
        "type",
    ),
    # chat-completion
    "completion-missing-usage": Violation("chat-completion", broken(COMPLETION, ("usage",)), "$.usage", "required"),
    "completion-missing-choices": Violation(
        "chat-completion", broken(COMPLETION, ("choices",)), "$.choices", "required"
    ),
    "completion-chunk-object": Violation(
        "chat-completion", broken(COMPLETION, ("object",), "chat.completion.chunk"), "$.object", "const"
    ),
    "completion-finish-reason-null": Violation(
        "chat-completion",
        broken(COMPLETION, ("choices", 0, "finish_reason"), None),
        "$.choices[0].finish_reason",
        "enum",
    ),
    "completion-finish-reason-tool-use": Violation(
        "chat-completion",
        broken(COMPLETION, ("choices", 0, "finish_reason"), "tool_use"),
        "$.choices[0].finish_reason",
        "enum",
    ),
    "completion-created-iso-string": Violation(
        "chat-completion", broken(COMPLETION, ("created",), "2026-11-29T07:00:00Z"), "$.created", "type"
    ),
    "completion-user-role": Violation(
        "chat-completion",
        broken(COMPLETION, ("choices", 0, "message", "role"), "user"),
        "$.choices[0].message.role",
        "const",
    ),
    "completion-no-choices": Violation(
        "chat-completion", broken(COMPLETION, ("choices",), []), "$.choices", "minItems"
    ),
    "completion-arguments-object": Violation(
        "chat-completion",
        broken(COMPLETION, ("choices", 0, "message", "tool_calls", 0, "function", "arguments"), {"city": "Paris"}),
        "$.choices[0].message.tool_calls[0].function.arguments",
        "type",
    ),
    "completion-usage-total-string": Violation(
        "chat-completion", broken(COMPLETION, ("usage", "total_tokens"), "14"), "$.usage.total_tokens", "type"
    ),
    # chat-completion-chunk
    "chunk-missing-id": Violation("chat-completion-chunk", broken(CHUNK, ("id",)), "$.id", "required"),
    "chunk-completion-object": Violation(
        "chat-completion-chunk", broken(CHUNK, ("object",), "chat.completion"), "$.object", "const"
    ),
    "chunk-created-float": Violation("chat-completion-chunk", broken(CHUNK, ("created",), 1.5), "$.created", "type"),
    "chunk-finish-reason-done": Violation(
        "chat-completion-chunk",
        broken(CHUNK, ("choices", 0, "finish_reason"), "done"),
        "$.choices[0].finish_reason",
        "anyOf",
    ),
    "chunk-missing-finish-reason": Violation(
        "chat-completion-chunk",
        broken(CHUNK, ("choices", 0, "finish_reason")),
        "$.choices[0].finish_reason",
        "required",
    ),
    "chunk-missing-delta": Violation(
        "chat-completion-chunk", broken(CHUNK, ("choices", 0, "delta")), "$.choices[0].delta", "required"
    ),
    "chunk-user-role": Violation(
        "chat-completion-chunk",
        broken(CHUNK, ("choices", 0, "delta", "role"), "user"),
        "$.choices[0].delta.role",
        "enum",
    ),
    "chunk-tool-delta-without-index": Violation(
        "chat-completion-chunk",
        broken(CHUNK, ("choices", 0, "delta", "tool_calls", 0, "index")),
        "$.choices[0].delta.tool_calls[0].index",
        "required",
    ),
    "chunk-usage-incomplete": Violation(
        "chat-completion-chunk", broken(CHUNK, ("usage",), {"prompt_tokens": 12}), "$.usage.total_tokens", "required"
    ),
    # credits-balance
    "balance-missing-remaining": Violation(
        "credits-balance", broken(BALANCE, ("remaining_credits",)), "$.remaining_credits", "required"
    ),
    "balance-total-float": Violation(
        "credits-balance", broken(BALANCE, ("total_credits",), 50000.5), "$.total_credits", "type"
    ),
    "balance-unlimited-string": Violation(
        "credits-balance", broken(BALANCE, ("unlimited",), "false"), "$.unlimited", "type"
    ),
    "balance-period-start-not-date-time": Violation(
        "credits-balance", broken(BALANCE, ("period_start",), "April 2026"), "$.period_start", "format"
    ),
    "balance-percentage-above-100": Violation(
        "credits-balance", broken(BALANCE, ("usage_percentage",), 124.68), "$.usage_percentage", "maximum"
    ),
    "balance-negative-remaining": Violation(
        "credits-balance", broken(BALANCE, ("remaining_credits",), -1), "$.remaining_credits", "minimum"
    ),
    # error-detail
    "detail-missing": Violation("error-detail", {"code": "INSUFFICIENT_CREDITS"}, "$.detail", "required"),
    "detail-number": Violation("error-detail", {"detail": 402}, "$.detail", "anyOf"),
    "detail-empty-string": Violation("error-detail", {"detail": ""}, "$.detail", "anyOf"),
    "detail-422-item-without-loc": Violation(
        "error-detail", broken(DETAIL_422, ("detail", 0, "loc")), "$.detail[0].loc", "required"
    ),
    "detail-code-number": Violation("error-detail", {"detail": "Nope", "code": 402}, "$.code", "type"),
    # error-openai
    "openai-missing-error": Violation("error-openai", {"message": "Invalid API key"}, "$.error", "required"),
    "openai-error-string": Violation("error-openai", {"error": "Invalid API key"}, "$.error", "type"),
    "openai-missing-type": Violation(
        "error-openai", broken(OPENAI_ERROR, ("error", "type")), "$.error.type", "required"
    ),
    "openai-code-number": Violation(
        "error-openai", broken(OPENAI_ERROR, ("error", "code"), 401), "$.error.code", "type"
    ),
    "openai-empty-message": Violation(
        "error-openai", broken(OPENAI_ERROR, ("error", "message"), ""), "$.error.message", "minLength"
    ),
    # error-compat
    "compat-missing-code": Violation("error-compat", broken(COMPAT, ("code",)), "$.code", "required"),
    "compat-missing-error": Violation("error-compat", broken(COMPAT, ("error",)), "$.error", "required"),
    "compat-error-code-null": Violation(
        "error-compat", broken(COMPAT, ("error", "code"), None), "$.error.code", "type"
    ),
    "compat-message-number": Violation("error-compat", broken(COMPAT, ("message",), 402), "$.message", "type"),
    "compat-empty-detail": Violation("error-compat", broken(COMPAT, ("detail",), ""), "$.detail", "anyOf"),
    # error (the union)
    "error-empty-object": Violation("error", {}, "$.detail", "required"),
    "error-detail-number": Violation("error", {"detail": 500}, "$.detail", "anyOf"),
    "error-error-string": Violation("error", {"error": "boom"}, "$.error", "type"),
    "error-empty-detail": Violation("error", {"detail": ""}, "$.detail", "anyOf"),
    # models-list
    "models-missing-data": Violation("models-list", {"object": "list"}, "$.data", "required"),
    "models-data-string": Violation("models-list", broken(MODELS, ("data",), "gpt-4o"), "$.data", "type"),
    "models-wrong-list-object": Violation("models-list", broken(MODELS, ("object",), "models"), "$.object", "const"),
    "models-wrong-model-object": Violation(
        "models-list", broken(MODELS, ("data", 0, "object"), "engine"), "$.data[0].object", "const"
    ),
    "models-missing-owned-by": Violation(
        "models-list", broken(MODELS, ("data", 0, "owned_by")), "$.data[0].owned_by", "required"
    ),
    # usage
    "usage-missing-total": Violation("usage", broken(USAGE, ("total_tokens",)), "$.total_tokens", "required"),
    "usage-prompt-string": Violation("usage", broken(USAGE, ("prompt_tokens",), "21"), "$.prompt_tokens", "type"),
    "usage-prompt-float": Violation("usage", broken(USAGE, ("prompt_tokens",), 1.5), "$.prompt_tokens", "type"),
    "usage-negative-completion": Violation(
        "usage", broken(USAGE, ("completion_tokens",), -1), "$.completion_tokens", "minimum"
    ),
}

BASES = {
    "chat-request": REQUEST,
    "chat-completion": COMPLETION,
    "chat-completion-chunk": CHUNK,
    "credits-balance": BALANCE,
    "error-detail": DETAIL_422,
    "error-openai": OPENAI_ERROR,
    "error-compat": COMPAT,
    "error": OPENAI_ERROR,
    "models-list": MODELS,
    "usage": USAGE,
}


@pytest.mark.parametrize("name", sorted(BASES))
def test_base_body_is_valid_so_each_case_breaks_one_thing(name: str) -> None:
    assert contracts.errors_for(name, BASES[name]) == []


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_errors_for_names_the_broken_field(case: Violation) -> None:
    errors = contracts.errors_for(case.schema, case.instance)
    found = [(error.path, error.keyword) for error in errors]
    assert (case.path, case.keyword) in found
    assert all(error.message.startswith(f"{error.path}: ") for error in errors)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_validate_raises_with_the_path_in_its_message(case: Violation) -> None:
    with pytest.raises(contracts.ContractViolation) as raised:
        contracts.validate(case.schema, case.instance)
    assert raised.value.schema == case.schema
    assert f"- {case.path}: " in str(raised.value)
    assert list(raised.value.errors) == contracts.errors_for(case.schema, case.instance)


def test_every_missing_property_is_reported_at_its_own_path() -> None:
    errors = contracts.errors_for("usage", {"prompt_tokens": 1})
    assert [(error.path, error.message) for error in errors] == [
        ("$.completion_tokens", "$.completion_tokens: 'completion_tokens' is a required property"),
        ("$.total_tokens", "$.total_tokens: 'total_tokens' is a required property"),
    ]


def test_error_location_matches_its_path() -> None:
    (error,) = contracts.errors_for("chat-completion", CASES["completion-finish-reason-null"].instance)
    assert error.location == ("choices", 0, "finish_reason")


def test_every_schema_has_three_kinds_of_violation() -> None:
    keywords: dict[str, set[str]] = defaultdict(set)
    for case in CASES.values():
        keywords[case.schema].add(case.keyword)
    assert set(keywords) == set(contracts.schema_names())
    for name, seen in keywords.items():
        assert {"required", "type"} <= seen, name
        assert len(seen) >= 3, name
        text = json.dumps(contracts.load_schema(name))
        if '"const"' in text or '"enum"' in text:
            assert seen & {"const", "enum"}, f"{name} has a const/enum but no case breaks one"
