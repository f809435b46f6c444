"""Tool calling: tool_choice required / named / auto / none, parallel calls, streamed deltas, follow-up turns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver.app import AINativeMock
from mockserver.config import MockConfig, ReplyRule
from tests.mockserver.schema_strategies import PARAMETERS
from tests.support.chat import HEADERS
from tests.support.checks import check_response, error_message
from tests.support.mocks import Mock, MockFactory

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
            "required": ["city", "unit"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}},
}
TOOLS = [WEATHER, TIME]


def ask(text: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "tools": TOOLS, **fields}


def calls_of(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    message = body["choices"][0]["message"]
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message.get("tool_calls") or ()]


def streamed_calls(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reassemble streamed tool-call deltas the way the openai SDK does (by index)."""
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for delta in choice["delta"].get("tool_calls") or ():
                call = calls.setdefault(delta["index"], {"id": None, "name": None, "arguments": ""})
                if "id" in delta:
                    assert call["id"] is None, "a second id for one call"
                    call["id"] = delta["id"]
                    assert delta["type"] == "function"
                    assert delta["function"]["name"] and delta["function"]["arguments"] == ""
                    call["name"] = delta["function"]["name"]
                else:
                    assert set(delta) == {"index", "function"} and set(delta["function"]) == {"arguments"}
                    call["arguments"] += delta["function"]["arguments"]
    return [calls[i] for i in sorted(calls)]


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_forced_tool_call_has_valid_arguments(mock: Mock, choice: Any) -> None:
    body = check_response(mock.post(ask("Hello there", tool_choice=choice)))
    choice0 = body["choices"][0]
    assert choice0["finish_reason"] == "tool_calls"
    assert choice0["message"]["content"] is None
    [(name, arguments)] = calls_of(body)
    assert name == "get_weather"  # required with no tool named: the first tool
    jsonschema.validate(arguments, WEATHER["function"]["parameters"])  # type: ignore[index]
    assert choice0["message"]["tool_calls"][0]["id"].startswith("call_")


def test_named_function_wins_over_the_prompt(mock: Mock) -> None:
    choice = {"type": "function", "function": {"name": "get_time"}}
    body = check_response(mock.post(ask("use get_weather please", tool_choice=choice)))
    assert [name for name, _ in calls_of(body)] == ["get_time"]


def test_same_request_same_arguments_and_ids(mock: Mock) -> None:
    first = check_response(mock.post(ask("x", tool_choice="required")))
    second = check_response(mock.post(ask("x", tool_choice="required")))
    assert first["choices"] == second["choices"]
    other = check_response(mock.post(ask("y", tool_choice="required")))
    assert (
        other["choices"][0]["message"]["tool_calls"][0]["id"] != first["choices"][0]["message"]["tool_calls"][0]["id"]
    )


def test_auto_calls_a_tool_the_user_names_else_answers_text(mock: Mock) -> None:
    named = check_response(mock.post(ask("What does get_time say?")))
    assert [name for name, _ in calls_of(named)] == ["get_time"]
    plain = check_response(mock.post(ask("What is ZeroDB?")))
    assert plain["choices"][0]["finish_reason"] == "stop"
    assert plain["choices"][0]["message"]["content"] and "tool_calls" not in plain["choices"][0]["message"]
    none = check_response(mock.post(ask("What does get_time say?", tool_choice="none")))
    assert none["choices"][0]["finish_reason"] == "stop"


def test_auto_calls_the_tool_of_a_matching_reply_rule(make_mock: MockFactory) -> None:
    rule = ReplyRule(
        match="umbrella", tool_call={"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}
    )
    m = make_mock(replies=(rule,))
    body = check_response(m.post(ask("Do I need an umbrella?")))
    assert calls_of(body) == [("get_weather", {"city": "Oslo", "unit": "celsius"})]
    text = check_response(m.post(ask("Do I need an umbrella?", tool_choice="none")))
    assert text["choices"][0]["finish_reason"] == "stop"


def test_parallel_calls_one_per_named_tool_in_order(mock: Mock) -> None:
    body = check_response(mock.post(ask("call get_time then get_weather", tool_choice="required")))
    assert [name for name, _ in calls_of(body)] == ["get_time", "get_weather"]
    ids = [c["id"] for c in body["choices"][0]["message"]["tool_calls"]]
    assert len(set(ids)) == 2
    single = check_response(
        mock.post(ask("call get_time then get_weather", tool_choice="required", parallel_tool_calls=False))
    )
    assert [name for name, _ in calls_of(single)] == ["get_time"]


def test_streamed_tool_calls_arrive_as_openai_sends_them(mock: Mock) -> None:
    request = ask("call get_time then get_weather", tool_choice="required")
    plain = check_response(mock.post(request))
    response = mock.post({**request, "stream": True, "stream_options": {"include_usage": True}})
    chunks = check_response(response)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    calls = streamed_calls(chunks)
    expected = plain["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["name"], c["arguments"]) for c in calls] == [
        (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in expected
    ]
    fragments = [d for c in chunks for ch in c["choices"] for d in ch["delta"].get("tool_calls") or () if "id" not in d]
    assert len(fragments) >= 2 * len(calls), "arguments should arrive in several fragments"
    last_choice = [c for c in chunks if c["choices"]][-1]["choices"][0]
    assert last_choice == {"index": 0, "delta": {}, "finish_reason": "tool_calls"}
    assert chunks[-1]["usage"] == plain["usage"]


def test_follow_up_turn_with_tool_result_answers_text_about_it(mock: Mock) -> None:
    first = check_response(mock.post(ask("weather in Paris?", tool_choice="required")))
    call = first["choices"][0]["message"]["tool_calls"][0]
    messages = [
        {"role": "user", "content": "weather in Paris?"},
        first["choices"][0]["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": '{"temperature": 21, "sky": "clear"}'},
    ]
    body = check_response(mock.post({"messages": messages, "tools": TOOLS}))
    answer = body["choices"][0]
    assert answer["finish_reason"] == "stop"
    assert "get_weather" in answer["message"]["content"]
    assert '"temperature": 21' in answer["message"]["content"]


def test_tool_choice_naming_an_undeclared_tool_still_calls_it(mock: Mock) -> None:
    # The contract cannot say "a name from tools", so the mock takes the request leniently.
    body = check_response(mock.post(ask("x", tool_choice={"type": "function", "function": {"name": "launch"}})))
    assert calls_of(body) == [("launch", {})]


def test_unsatisfiable_parameters_are_400_not_500(mock: Mock) -> None:
    bad = {"type": "function", "function": {"name": "f", "parameters": {"type": "integer", "minimum": 5, "maximum": 1}}}
    response = mock.post({"messages": [{"role": "user", "content": "x"}], "tools": [bad], "tool_choice": "required"})
    assert response.status_code == 400
    assert "minimum" in error_message(check_response(response))


def test_managed_route_tool_shape_is_understood(mock: Mock) -> None:
    tool = {
        "name": "lookup",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    }
    body = check_response(
        mock.post({"messages": [{"role": "user", "content": "x"}], "tools": [tool], "tool_choice": "required"})
    )
    [(name, arguments)] = calls_of(body)
    assert name == "lookup" and isinstance(arguments["q"], str)


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[int, TestClient]]:
    """In-process mocks with seeds 0, 1 and 2."""
    made = {seed: TestClient(AINativeMock(MockConfig(credits=10**12, seed=seed)).app) for seed in range(3)}
    yield made
    for c in made.values():
        c.close()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parameters=PARAMETERS, prompt=st.text(max_size=40), seed=st.sampled_from([0, 1, 2]))
def test_property_arguments_validate_repeat_and_reassemble(
    clients: dict[int, TestClient], parameters: dict[str, Any], prompt: str, seed: int
) -> None:
    client = clients[seed]
    tool = {"type": "function", "function": {"name": "tool_under_test", "parameters": parameters}}
    request = {"messages": [{"role": "user", "content": prompt}], "tools": [tool], "tool_choice": "required"}
    headers = HEADERS
    plain = check_response(client.post("/v1/chat/completions", json=request, headers=headers))
    [call] = plain["choices"][0]["message"]["tool_calls"]
    jsonschema.Draft202012Validator(parameters).validate(json.loads(call["function"]["arguments"]))
    again = check_response(client.post("/v1/chat/completions", json=request, headers=headers))
    assert again["choices"] == plain["choices"]
    chunks = check_response(client.post("/v1/chat/completions", json={**request, "stream": True}, headers=headers))
    [streamed] = streamed_calls(chunks)
    assert streamed == {"id": call["id"], "name": "tool_under_test", "arguments": call["function"]["arguments"]}
