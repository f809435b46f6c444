"""Real-shaped bodies (seed, OpenAI SDK, AINative SDKs, FastAPI) pass their schema (CONTRACT-NOTES 3-11)."""

from __future__ import annotations

from typing import Any

import pytest

import contracts

MODEL = "claude-3-5-sonnet-20241022"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TOOL_CALL = {
    "id": "call_abc123",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
}
CHUNK_HEAD = {"id": "chatcmpl-abc123", "object": "chat.completion.chunk", "created": 1764403200, "model": MODEL}


def chunk(*choices: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**CHUNK_HEAD, "choices": list(choices), **extra}


def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason}


REQUESTS = [
    pytest.param(
        {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is ZeroDB?"},
            ],
            "temperature": 0.7,
            "max_tokens": 1024,
        },
        id="seed-request",
    ),
    pytest.param(
        {"model": MODEL, "messages": [{"role": "user", "content": "Count to 5"}], "stream": True}, id="seed-stream"
    ),
    pytest.param(
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "developer", "content": "Answer briefly."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    ],
                },
            ],
            "tools": [WEATHER_TOOL],
            "tool_choice": "auto",
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_completion_tokens": 256,
            "n": 1,
            "response_format": {"type": "text"},
        },
        id="openai-sdk-tools-stream-content-parts",
    ),
    pytest.param(
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
        id="openai-forced-tool-choice",
    ),
    pytest.param(
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                {"role": "tool", "tool_call_id": "call_abc123", "content": '{"temp_c": 18}'},
            ],
            "tool_choice": "none",
        },
        id="openai-tool-result-follow-up",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "preferred_model": MODEL,
            "temperature": 0.7,
            "max_tokens": 1024,
            "stream": False,
        },
        id="react-sdk-preferred-model",
    ),
    pytest.param({"messages": [{"role": "user", "content": "Hi"}]}, id="next-sdk-without-model"),
    pytest.param(
        {
            "model": MODEL,
            "system": "You are a coding assistant.",
            "messages": [{"role": "user", "content": "Refactor this."}],
            "tools": [{"name": "read_file", "description": "Read a file", "input_schema": {"type": "object"}}],
            "tool_choice": "required",
            "max_iterations": 5,
            "provider": "anthropic",
            "max_tokens": 4096,
            "top_p": 1.0,
        },
        id="managed-top-level-system-anthropic-tools",
    ),
    pytest.param(
        {"model": None, "messages": [{"role": "user", "content": "Hi"}], "temperature": None, "tools": None},
        id="explicit-nulls-mean-defaults",
    ),
]

COMPLETIONS = [
    pytest.param(
        {
            "id": "chatcmpl-abc123",
            "object": "chat.completion",
            "created": 1764403200,
            "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
        },
        id="plain",
    ),
    pytest.param(
        {
            "id": "chatcmpl-tool1",
            "object": "chat.completion",
            "created": 1764403200,
            "model": "gpt-4o",
            "provider": "openai",
            "system_fingerprint": "fp_1234",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "refusal": None,
                        "annotations": [],
                        "tool_calls": [TOOL_CALL],
                    },
                    "logprobs": None,
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {
                "prompt_tokens": 80,
                "completion_tokens": 17,
                "total_tokens": 97,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        },
        id="openai-tool-calls",
    ),
    pytest.param(
        {
            "id": "chatcmpl-managed",
            "object": "chat.completion",
            "created": 1764403200,
            "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Done."}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 40, "total_tokens": 50},
            "finish_reason": "length",
            "credits_consumed": 0.52,
            "credits_remaining": 999.48,
            "plan_tier": "pro",
        },
        id="managed-route-credits",
    ),
    pytest.param(
        {
            "id": "chatcmpl-byok",
            "object": "chat.completion",
            "created": 1764403200,
            "model": "llama-3.3-70b-instruct",
            "provider": "meta_llama",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "42"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
            "iterations": 2,
            "total_tokens_used": 31,
        },
        id="byok-agentic",
    ),
]

CHUNKS = [
    pytest.param(chunk(choice({"role": "assistant", "content": "", "refusal": None})), id="role-first"),
    pytest.param(chunk(choice({"content": "Hel"}), usage=None), id="content-usage-null"),
    pytest.param(chunk(choice({}, "stop")), id="finish-stop"),
    pytest.param(
        chunk(usage={"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}), id="usage-choices-empty"
    ),
    pytest.param(
        chunk(
            choice(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_abc123",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        }
                    ],
                }
            )
        ),
        id="tool-call-delta-opening",
    ),
    pytest.param(
        chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]})),
        id="tool-call-delta-arguments",
    ),
    pytest.param(chunk(choice({}, "tool_calls"), system_fingerprint="fp_1234"), id="finish-tool-calls"),
]

ERROR_DETAILS = [
    pytest.param({"detail": "Insufficient credits", "code": "INSUFFICIENT_CREDITS"}, id="react-402"),
    pytest.param({"detail": "Rate limit exceeded"}, id="fastapi-http-exception"),
    pytest.param(
        {
            "detail": [
                {
                    "type": "missing",
                    "loc": ["body", "messages"],
                    "msg": "Field required",
                    "input": {"model": MODEL},
                    "url": "https://errors.pydantic.dev/2.13/v/missing",
                },
                {
                    "type": "less_than_equal",
                    "loc": ["body", "messages", 0, "temperature"],
                    "msg": "Input should be less than or equal to 2",
                    "input": 3,
                    "ctx": {"le": 2},
                },
            ]
        },
        id="fastapi-422-list",
    ),
]

OPENAI_ERROR = {
    "error": {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
COMPAT_ERROR = {
    "detail": "Rate limit exceeded",
    "code": "rate_limit_exceeded",
    "message": "Rate limit exceeded",
    "error": {"message": "Rate limit exceeded", "type": "rate_limit_error", "code": "rate_limit_exceeded"},
}
OPENAI_ERRORS = [
    pytest.param(OPENAI_ERROR, id="openai-invalid-key"),
    pytest.param({"error": {"message": "Too many requests", "type": "rate_limit_error", "code": None}}, id="null-code"),
    pytest.param(
        {
            "error": {
                "message": "Insufficient credits",
                "type": "insufficient_quota",
                "code": "insufficient_credits",
                "details": {"upgrade_url": "https://ainative.studio/pricing"},
            }
        },
        id="ide-managed-upgrade-url",
    ),
]

BALANCES = [
    pytest.param(
        {
            "total_credits": 1000,
            "used_credits": 0,
            "remaining_credits": 1000,
            "unlimited": False,
            "plan": "free",
            "period_start": "2026-11-01T00:00:00Z",
            "period_end": None,
            "usage_percentage": 0,
        },
        id="free-period-end-null",
    ),
    pytest.param(
        {
            "total_credits": 50000,
            "used_credits": 12340.5,
            "remaining_credits": 37659.5,
            "unlimited": False,
            "plan": "pro",
            "period_start": "2026-04-01T00:00:00+00:00",
            "period_end": "2026-05-01T00:00:00+00:00",
            "usage_percentage": 24.68,
        },
        id="pro-offset-timestamps",
    ),
    pytest.param(
        {
            "total_credits": 0,
            "used_credits": 0,
            "remaining_credits": 0,
            "unlimited": True,
            "plan": "enterprise",
            "period_start": "2026-11-01T00:00:00Z",
            "usage_percentage": 100,
        },
        id="unlimited-without-period-end",
    ),
]

MODELS = [
    pytest.param(
        {
            "object": "list",
            "data": [
                {
                    "id": MODEL,
                    "object": "model",
                    "created": 1729555200,
                    "owned_by": "anthropic",
                    "context_window": 200000,
                },
                {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "openai"},
            ],
        },
        id="openai-list",
    ),
    pytest.param({"object": "list", "data": []}, id="empty"),
]

USAGES = [
    pytest.param({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, id="zeros"),
    pytest.param(
        {
            "prompt_tokens": 9,
            "completion_tokens": 12,
            "total_tokens": 21,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
        },
        id="null-details",
    ),
]


def assert_conforms(name: str, instance: Any) -> None:
    assert contracts.errors_for(name, instance) == []
    contracts.validate(name, instance)


@pytest.mark.parametrize("body", REQUESTS)
def test_chat_request_accepts(body: dict[str, Any]) -> None:
    assert_conforms("chat-request", body)


@pytest.mark.parametrize("body", COMPLETIONS)
def test_chat_completion_accepts(body: dict[str, Any]) -> None:
    assert_conforms("chat-completion", body)


@pytest.mark.parametrize("body", CHUNKS)
def test_chat_completion_chunk_accepts(body: dict[str, Any]) -> None:
    assert_conforms("chat-completion-chunk", body)


@pytest.mark.parametrize("body", ERROR_DETAILS)
def test_error_detail_accepts(body: dict[str, Any]) -> None:
    assert_conforms("error-detail", body)


@pytest.mark.parametrize("body", OPENAI_ERRORS)
def test_error_openai_accepts(body: dict[str, Any]) -> None:
    assert_conforms("error-openai", body)


def test_error_compat_accepts_the_body_every_client_parses() -> None:
    assert_conforms("error-compat", COMPAT_ERROR)


@pytest.mark.parametrize(
    "body",
    [*ERROR_DETAILS, pytest.param(OPENAI_ERROR, id="openai"), pytest.param(COMPAT_ERROR, id="compat")],
)
def test_error_union_accepts_every_error_form(body: dict[str, Any]) -> None:
    assert_conforms("error", body)


@pytest.mark.parametrize("body", BALANCES)
def test_credits_balance_accepts(body: dict[str, Any]) -> None:
    assert_conforms("credits-balance", body)


@pytest.mark.parametrize("body", MODELS)
def test_models_list_accepts(body: dict[str, Any]) -> None:
    assert_conforms("models-list", body)


@pytest.mark.parametrize("body", USAGES)
def test_usage_accepts(body: dict[str, Any]) -> None:
    assert_conforms("usage", body)
