"""Client matrix: ``ainative-openai`` (AINative's drop-in ``openai`` subclasses), unmodified, against a served mock.

Always give it a key: without one it provisions a key from the real API (a hard-coded URL).
"""

from __future__ import annotations

import asyncio

import pytest
from ainative_openai import AsyncOpenAI, OpenAI

from mockserver.testing import ServedMock
from tests.clients.clients_support import KEY, WEATHER_TOOL, release_fixture

pytestmark = pytest.mark.socket
release = release_fixture("ainative-openai", "0.1.0")
MODEL = "meta-llama/Llama-3.3-70B-Instruct"  # the model its README uses
USER = [{"role": "user", "content": "Hello!"}]


def test_chat_stream_tools_and_balance(served: ServedMock) -> None:
    with OpenAI(api_key=KEY, base_url=served.openai_base_url, timeout=10) as client:
        completion = client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
        text = completion.choices[0].message.content
        stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True)  # type: ignore[arg-type]
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        tool = client.chat.completions.create(
            model=MODEL,
            messages=USER,
            tools=[WEATHER_TOOL],
            tool_choice="required",  # type: ignore[arg-type,list-item]
        )
        balance = client.get("/public/credits/balance", cast_to=object)
    assert text and streamed == text
    assert completion.model == MODEL and completion.choices[0].finish_reason == "stop"
    assert tool.choices[0].message.tool_calls and tool.choices[0].finish_reason == "tool_calls"
    assert isinstance(balance, dict) and balance["used_credits"] > 0
    assert served.last_request.key is not None
    sdk_headers = [e for e in served.requests if e.path == "/api/v1/chat/completions"]
    assert len(sdk_headers) == 3


def test_async_client(served: ServedMock) -> None:
    async def run() -> str:
        async with AsyncOpenAI(api_key=KEY, base_url=served.openai_base_url, timeout=10) as client:
            completion = await client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
            return completion.choices[0].message.content or ""

    assert asyncio.run(run())
