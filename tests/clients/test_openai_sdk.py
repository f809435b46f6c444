"""Client matrix: the official ``openai`` Python SDK, unmodified, against a served mock."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from pydantic import BaseModel

from mockserver.testing import ServedMock
from tests.clients.clients_support import KEY, WEATHER_TOOL, release_fixture

pytestmark = pytest.mark.socket
release = release_fixture("openai", "3.63.0")
MODEL = "gpt-4o"
USER = [{"role": "user", "content": "What is ZeroDB?"}]


def client(served: ServedMock) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.openai_base_url, api_key=KEY, timeout=10)


def test_sync_chat_stream_and_balance(served: ServedMock) -> None:
    with client(served) as c:
        completion = c.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
        text = completion.choices[0].message.content
        assert text and completion.choices[0].finish_reason == "stop"
        stream = c.chat.completions.create(model=MODEL, messages=USER, stream=True)  # type: ignore[arg-type]
        assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == text
        balance = c.get("/public/credits/balance", cast_to=object)  # the SDK's generic GET
    assert isinstance(balance, dict)
    assert balance["used_credits"] == 2 * completion.usage.total_tokens  # type: ignore[union-attr]


def test_async_chat_and_stream(served: ServedMock) -> None:
    async def run() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=served.openai_base_url, api_key=KEY, timeout=10) as c:
            completion = await c.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
            stream = await c.chat.completions.create(model=MODEL, messages=USER, stream=True)  # type: ignore[arg-type]
            parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
            return completion.choices[0].message.content or "", "".join(parts)

    plain, streamed = asyncio.run(run())
    assert plain and streamed == plain


def test_tool_loop_runs_to_a_text_answer(served: ServedMock) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "What's the weather in Paris?"}]
    with client(served) as c:
        for turn in range(5):
            completion = c.chat.completions.create(
                model=MODEL,
                messages=messages,  # type: ignore[arg-type]
                tools=[WEATHER_TOOL],  # type: ignore[list-item]
                tool_choice="required" if turn == 0 else "auto",
            )
            message = completion.choices[0].message
            if not message.tool_calls:
                break
            assert completion.choices[0].finish_reason == "tool_calls"
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
                assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("celsius", "fahrenheit")
                messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 18}'})
    assert turn == 1, "one tool call, then the answer"
    assert "get_weather" in (message.content or "") and '"temperature": 18' in (message.content or "")


def test_streaming_helper_accumulates_tool_calls(served: ServedMock) -> None:
    with client(served) as c:
        plain = c.chat.completions.create(
            model=MODEL,
            messages=USER,
            tools=[WEATHER_TOOL],
            tool_choice="required",  # type: ignore[arg-type,list-item]
        )
        with c.chat.completions.stream(
            model=MODEL,
            messages=USER,
            tools=[WEATHER_TOOL],
            tool_choice="required",  # type: ignore[arg-type,list-item]
        ) as stream:
            events = [event.type for event in stream]
            final = stream.get_final_completion()
    assert "tool_calls.function.arguments.delta" in events and "tool_calls.function.arguments.done" in events
    [call] = final.choices[0].message.tool_calls or []
    [expected] = plain.choices[0].message.tool_calls or []
    assert (call.id, call.function.name, call.function.arguments) == (  # type: ignore[union-attr]
        expected.id,
        expected.function.name,  # type: ignore[union-attr]
        expected.function.arguments,  # type: ignore[union-attr]
    )
    assert final.choices[0].finish_reason == "tool_calls"


class Weather(BaseModel):
    city: str
    unit: str


def test_pydantic_function_tool_is_parsed(served: ServedMock) -> None:
    with client(served) as c:
        completion = c.chat.completions.parse(
            model=MODEL,
            messages=[{"role": "user", "content": "weather please"}],
            tools=[openai.pydantic_function_tool(Weather, name="weather")],
            tool_choice="required",
        )
    [call] = completion.choices[0].message.tool_calls or []
    assert isinstance(call.function.parsed_arguments, Weather)


class Step(BaseModel):
    explanation: str
    output: str


class MathReasoning(BaseModel):
    steps: list[Step]
    final_answer: str
    confidence: float | None = None


def test_parse_with_a_pydantic_model(served: ServedMock) -> None:
    with client(served) as c:
        completion = c.chat.completions.parse(
            model=MODEL, messages=[{"role": "user", "content": "solve 8x + 7 = -23"}], response_format=MathReasoning
        )
        again = c.chat.completions.parse(
            model=MODEL, messages=[{"role": "user", "content": "solve 8x + 7 = -23"}], response_format=MathReasoning
        )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, MathReasoning) and parsed.steps
    assert again.choices[0].message.parsed == parsed


def test_json_object_mode(served: ServedMock) -> None:
    with client(served) as c:
        completion = c.chat.completions.create(
            model=MODEL,
            messages=USER,
            response_format={"type": "json_object"},  # type: ignore[arg-type]
        )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


def test_stop_sequences(served: ServedMock) -> None:
    with client(served) as c:
        completion = c.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "count to 9"}],
            stop=[", 4"],  # type: ignore[arg-type]
        )
    assert completion.choices[0].message.content == "1, 2, 3"


def test_unknown_model_fails_at_once_with_default_retries(served: ServedMock) -> None:
    with client(served) as c, pytest.raises(openai.NotFoundError) as caught:
        c.chat.completions.create(model="gpt-4o-mini", messages=USER)  # type: ignore[arg-type]
    assert "Known models include: gpt-4o" in str(caught.value.body)
    assert served.count(model="gpt-4o-mini") == 1  # no retry of a typo
