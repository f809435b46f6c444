"""The official openai SDK (sync and async, streaming and not) against the mock on a real socket."""

from __future__ import annotations

import asyncio

import openai
import pytest

from mockserver.testing import ServedMock
from tests.support.chat import KEY, USER

pytestmark = pytest.mark.socket
MODEL = "claude-3-5-sonnet-20241022"


def _client(served: ServedMock, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.base_url + "/api/v1", api_key=key, max_retries=0, timeout=10)


def test_sync_create_and_stream(served: ServedMock) -> None:
    with _client(served) as client:
        completion = client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
        text = completion.choices[0].message.content
        assert text
        assert completion.choices[0].finish_reason == "stop"
        assert completion.usage is not None
        assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
        stream = client.chat.completions.create(
            model=MODEL,
            messages=USER,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == completion.usage.total_tokens


def test_async_create_and_stream(served: ServedMock) -> None:
    async def run() -> tuple[str, str]:
        async with openai.AsyncOpenAI(
            base_url=served.base_url + "/api/v1", api_key=KEY, max_retries=0, timeout=10
        ) as client:
            completion = await client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
            stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True)  # type: ignore[arg-type]
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return completion.choices[0].message.content or "", "".join(parts)

    plain, streamed = asyncio.run(run())
    assert plain
    assert streamed == plain


def test_tool_call_parses(served: ServedMock) -> None:
    served.state.reply(tool_call={"name": "get_weather", "arguments": {"city": "Paris"}})
    with _client(served) as client:
        completion = client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    assert choice.message.tool_calls[0].function.name == "get_weather"  # type: ignore[union-attr]


def test_models_list(served: ServedMock) -> None:
    with _client(served) as client:
        ids = [m.id for m in client.models.list()]
    assert MODEL in ids


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ("bad-key", openai.AuthenticationError),
        ("ak_test_insufficient_credits", openai.APIStatusError),
        ("ak_test_rate_limited", openai.RateLimitError),
        ("ak_test_forbidden", openai.PermissionDeniedError),
        ("ak_test_server_error", openai.InternalServerError),
    ],
)
def test_errors_map_to_sdk_exceptions(served: ServedMock, key: str, error: type[Exception]) -> None:
    with _client(served, key) as client, pytest.raises(error) as raised:
        client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
    assert getattr(raised.value, "request_id", "").startswith("req_")


def test_sdk_retries_a_503_then_succeeds(served: ServedMock) -> None:
    served.state.fail_next(503, retry_after=0)
    with openai.OpenAI(base_url=served.base_url + "/api/v1", api_key=KEY, max_retries=2, timeout=10) as client:
        completion = client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
    assert completion.choices[0].message.content
    assert [e.status for e in served.state.requests()] == [503, 200]
