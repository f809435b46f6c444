"""Client matrix: ``ainative-agent`` (``AINativeClient.chat``), unmodified, against a served mock.

Read from its source: ``ChatClient`` has ``complete`` and ``stream`` only, and no tool loop (its
``ChatRequest`` carries ``tools`` but no ``tool_choice``, and types ``messages`` as string-to-string
maps, so an assistant turn with ``tool_calls`` cannot be sent back). The loop below is the one a
user writes around it, and it runs to completion. Its ``BillingModule.get_credit_balance`` is not
reachable from ``AINativeClient`` and calls ``/api/v1/billing/credits``, not the credits-balance
route, so there is no balance call to make with it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ainative_agent import AINativeClient
from ainative_agent.types import ChatRequest

from mockserver.testing import ServedMock
from tests.clients.clients_support import KEY, WEATHER_TOOL, release_fixture

pytestmark = pytest.mark.socket
release = release_fixture("ainative-agent", "0.1.0")
USER = [{"role": "user", "content": "What is ZeroDB?"}]


def run(served: ServedMock, work: Any) -> Any:
    async def go() -> Any:
        async with AINativeClient(api_key=KEY, base_url=served.base_url) as client:
            return await work(client)

    return asyncio.run(go())


def test_complete_and_stream(served: ServedMock) -> None:
    async def work(client: AINativeClient) -> tuple[Any, list[Any]]:
        response = await client.chat.complete(ChatRequest(messages=USER, model="gpt-4o"))
        chunks = [chunk async for chunk in client.chat.stream(ChatRequest(messages=USER, model="gpt-4o"))]
        return response, chunks

    response, chunks = run(served, work)
    text = response.choices[0].message["content"]
    assert text and response.choices[0].finish_reason == "stop"
    assert response.usage.total_tokens > 0
    streamed = "".join(c.choices[0]["delta"].get("content") or "" for c in chunks if c.choices)
    assert streamed == text
    assert len({c.id for c in chunks}) == 1  # one id per stream
    assert next(e.key for e in served.requests if e.path == "/api/v1/chat/completions") is not None


def test_a_tool_loop_written_around_it_runs_to_completion(served: ServedMock) -> None:
    async def work(client: AINativeClient) -> tuple[int, str]:
        messages: list[dict[str, str]] = [{"role": "user", "content": "Use get_weather for Paris"}]
        for turn in range(5):
            response = await client.chat.complete(ChatRequest(messages=messages, tools=[WEATHER_TOOL]))
            choice = response.choices[0]
            if choice.finish_reason != "tool_calls":
                return turn, str(choice.message["content"])
            for call in choice.message["tool_calls"]:
                arguments = json.loads(call["function"]["arguments"])
                assert set(arguments) == {"city", "unit"}
                # Its messages are string maps: the tool result can go back, the assistant's tool_calls cannot.
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": '{"temperature": 18}'})
        raise AssertionError("the loop did not end")

    turns, answer = run(served, work)
    assert turns == 1
    assert '"temperature": 18' in answer
