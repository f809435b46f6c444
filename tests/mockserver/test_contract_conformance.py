"""Every response the app sends validates against the contract: routes, streams, tool calls, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import contracts
from mockserver.app import BALANCE_ROUTES, CHAT_ROUTES, MODEL_ROUTES
from mockserver.chat import MANAGED_ROUTES
from mockserver.config import ReplyRule
from tests.support.chat import BODY, HEADERS
from tests.support.checks import ERROR_SCHEMAS, check_response, check_stream, finish_reason, stream_text
from tests.support.mocks import Mock, MockFactory

MANAGED_FIELDS = {"finish_reason", "credits_consumed", "credits_remaining", "plan_tier"}


@pytest.mark.parametrize("path", CHAT_ROUTES)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_every_chat_alias_answers_per_contract(mock: Mock, path: str, stream: bool) -> None:
    response = mock.post({**BODY, "stream": stream}, path=path)
    assert response.status_code == 200
    assert response.headers["x-request-id"].startswith("req_")
    body = check_response(response)
    if stream:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert stream_text(body)
    else:
        assert body["choices"][0]["message"]["content"]


@pytest.mark.parametrize("path", CHAT_ROUTES)
def test_managed_routes_and_only_they_add_credit_fields(mock: Mock, path: str) -> None:
    body = check_response(mock.post(BODY, path=path))
    if path in MANAGED_ROUTES:
        assert set(body) >= MANAGED_FIELDS
        assert body["finish_reason"] == body["choices"][0]["finish_reason"]
        assert body["credits_consumed"] == body["usage"]["total_tokens"]  # 1 credit per token by default
        assert body["credits_remaining"] == 1_000_000 - body["credits_consumed"]
        assert body["plan_tier"] == "pro"
    else:
        assert not MANAGED_FIELDS & set(body)


@pytest.mark.parametrize("path", BALANCE_ROUTES)
def test_balance_aliases_answer_per_contract(mock: Mock, path: str) -> None:
    mock.post(BODY)
    response = mock.client.get(path, headers=HEADERS)
    assert response.status_code == 200
    body = check_response(response)
    assert body["total_credits"] == 1_000_000
    assert body["used_credits"] > 0
    assert body["remaining_credits"] == body["total_credits"] - body["used_credits"]


@pytest.mark.parametrize("path", MODEL_ROUTES)
def test_models_routes_answer_per_contract(mock: Mock, path: str) -> None:
    response = mock.client.get(path, headers=HEADERS)
    assert response.status_code == 200
    ids = [m["id"] for m in check_response(response)["data"]]
    assert ids[:4] == ["claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022", "claude-3-opus-20240229", "gpt-4o"]
    assert "llama-3.3-70b-instruct" in ids


def test_health_answers_ok(mock: Mock) -> None:
    response = mock.client.get("/health")
    assert response.status_code == 200
    assert check_response(response)["status"] == "ok"


def test_openapi_document_is_served_and_valid(mock: Mock) -> None:
    import schemathesis
    from openapi_spec_validator import validate

    response = mock.client.get("/openapi.json")
    assert response.status_code == 200
    document = check_response(response)
    validate(document)
    schema = schemathesis.openapi.from_dict(document)
    operations = {(op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations())}
    for path in CHAT_ROUTES:
        assert ("POST", path) in operations
    for path in (*BALANCE_ROUTES, *MODEL_ROUTES):
        assert ("GET", path) in operations


def test_stream_with_include_usage_ends_with_a_usage_chunk(mock: Mock) -> None:
    response = mock.post({**BODY, "stream": True, "stream_options": {"include_usage": True}})
    chunks = check_response(response)
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert all(c["usage"] is None for c in chunks[:-1])
    plain = check_response(mock.post(BODY))
    assert usage == plain["usage"]


def test_stream_without_include_usage_has_no_usage(mock: Mock) -> None:
    chunks = check_response(mock.post({**BODY, "stream": True}))
    assert all("usage" not in c for c in chunks)


@pytest.mark.parametrize(
    "text",
    [
        "One two three.",
        "Line one.\nLine two.\n",
        "  leading spaces and trailing  ",
        "",
        "tabs\tand  double  spaces",
    ],
    ids=["plain", "trailing-newline", "edge-spaces", "empty", "inner-whitespace"],
)
def test_streamed_deltas_concatenate_to_the_non_streamed_content(mock: Mock, text: str) -> None:
    mock.state.reply(text)
    plain = check_response(mock.post(BODY))
    mock.state.reply(text)
    chunks = check_response(mock.post({**BODY, "stream": True}))
    assert plain["choices"][0]["message"]["content"] == text
    assert stream_text(chunks) == text


@pytest.mark.parametrize("prompt", ["What is ZeroDB?", "Count to 5", "Tell me a story about a fox"])
def test_generated_reply_streams_the_same_text(mock: Mock, prompt: str) -> None:
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": 12}
    plain = check_response(mock.post(body))
    chunks = check_response(mock.post({**body, "stream": True}))
    assert stream_text(chunks) == plain["choices"][0]["message"]["content"]
    assert finish_reason(chunks) == plain["choices"][0]["finish_reason"]


def test_one_id_and_created_per_stream_and_fresh_per_request(mock: Mock) -> None:
    first = check_response(mock.post({**BODY, "stream": True}))
    second = check_response(mock.post({**BODY, "stream": True}))
    assert first[0]["id"].startswith("chatcmpl-")
    assert first[0]["id"] != second[0]["id"]


def test_tool_call_reply_from_a_rule(make_mock: MockFactory) -> None:
    rule = ReplyRule(match="weather", tool_call={"name": "get_weather", "arguments": {"city": "New York"}})
    m = make_mock(replies=(rule,))
    body = {"messages": [{"role": "user", "content": "What is the weather?"}]}
    plain = check_response(m.post(body))
    choice = plain["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "New York"}

    chunks = check_response(m.post({**body, "stream": True, "stream_options": {"include_usage": True}}))
    assert finish_reason(chunks) == "tool_calls"
    deltas = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls", [])]
    assert deltas[0]["id"] == call["id"]
    assert deltas[0]["function"]["name"] == "get_weather"
    arguments = "".join(d["function"].get("arguments", "") for d in deltas)
    assert arguments == call["function"]["arguments"]
    assert chunks[-1]["usage"] == plain["usage"]


def test_tool_call_reply_scripted_on_the_state(mock: Mock) -> None:
    mock.state.reply(tool_call={"name": "lookup", "arguments": {"q": "zerodb"}})
    chunks = check_response(mock.post({**BODY, "stream": True}))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    assert finish_reason(chunks) == "tool_calls"


# -- errors ----------------------------------------------------------------------------------
def _post(headers: dict[str, str] | None = None, body: Any = BODY, **kwargs: Any) -> Callable[[Mock], Any]:
    return lambda m: m.post(body, headers=headers if headers is not None else HEADERS, **kwargs)


def _key(key: str) -> Callable[[Mock], Any]:
    return _post({"X-API-Key": key})


def _no_credits(m: Mock) -> Any:
    m.state.set_credits(0)
    return m.post(BODY)


def _rate_limited(m: Mock) -> Any:
    m.state.set_key(HEADERS["X-API-Key"], rpm=1)
    assert m.post(BODY).status_code == 200
    return m.post(BODY)


ERROR_TRIGGERS: dict[str, tuple[int, Callable[[Mock], Any]]] = {
    "401-no-key": (401, _post({})),
    "401-balance": (401, lambda m: m.client.get("/api/v1/public/credits/balance")),
    "401-models": (401, lambda m: m.client.get("/api/v1/models", headers={"X-API-Key": "nope"})),
    "402-magic": (402, _key("ak_test_insufficient_credits")),
    "402-credits": (402, _no_credits),
    "403-magic-key": (403, _key("ak_test_forbidden")),
    "403-magic-model": (403, _post(body={**BODY, "model": "mock-plan-gated"})),
    "404-route": (404, lambda m: m.client.post("/v1/nope", headers=HEADERS, json=BODY)),
    "405-method": (405, lambda m: m.client.get("/v1/chat/completions", headers=HEADERS)),
    "405-balance": (405, lambda m: m.client.post("/v1/public/credits/balance", headers=HEADERS, json={})),
    "413-size": (413, _post(body={**BODY, "padding": "x" * 4000})),
    "415-type": (415, _post({**HEADERS, "Content-Type": "text/plain"}, None, content=b"{}")),
    "422-validation": (422, _post(body={"messages": []})),
    "422-json": (422, _post({**HEADERS, "Content-Type": "application/json"}, None, content=b"{")),
    "429-magic": (429, _key("ak_test_rate_limited")),
    "429-rpm": (429, _rate_limited),
    "500-magic": (500, _key("ak_test_server_error")),
    "502-header": (502, _post({**HEADERS, "X-Mock-Fault": "http_error; status=502"})),
    "503-magic": (503, _key("ak_test_unavailable")),
    "404-model": (404, _post(body={**BODY, "model": "no-such-model"})),
    "503-stream": (503, _post(body={**BODY, "model": "mock-unavailable", "stream": True})),
}


@pytest.mark.parametrize("style", list(ERROR_SCHEMAS))
@pytest.mark.parametrize("trigger", list(ERROR_TRIGGERS))
def test_every_error_validates_in_every_style(make_mock: MockFactory, trigger: str, style: str) -> None:
    status, send = ERROR_TRIGGERS[trigger]
    m = make_mock(error_style=style, max_body_bytes=2000)
    response = send(m)
    assert response.status_code == status, response.text
    body = check_response(response, style)
    other = [name for s, name in ERROR_SCHEMAS.items() if style != "compat" and s != style]
    for name in other:  # the styles really differ: a detail body is no openai body and vice versa
        assert not contracts.validator_for(name).is_valid(body), f"{style} body also matches {name}"
    if status in (429, 503):
        assert response.headers["retry-after"].isdigit()


def test_compat_error_carries_every_field(make_mock: MockFactory) -> None:
    m = make_mock(error_style="compat")
    body = check_response(m.post(BODY, headers={"X-API-Key": "ak_test_insufficient_credits"}), "compat")
    assert body["detail"] == body["message"] == body["error"]["message"] == "Insufficient credits"
    assert body["code"] == "INSUFFICIENT_CREDITS"
    assert body["error"]["code"] == "insufficient_credits"
    assert body["error"]["type"] == "insufficient_quota"


def test_the_check_rejects_a_broken_stream() -> None:
    good = (
        b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":'
        b'[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    )
    assert check_stream(good)
    with pytest.raises(AssertionError, match="carriage return"):
        check_stream(good.replace(b"\n\n", b"\r\n\r\n"))
    with pytest.raises(AssertionError, match=r"\[DONE\]"):
        check_stream(good[: -len(b"data: [DONE]\n\n")])
    with pytest.raises(contracts.ContractViolation):
        check_stream(good.replace(b'"created":1', b'"created":"1"'))
