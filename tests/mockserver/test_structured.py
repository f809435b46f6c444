"""Structured output (response_format json_object / json_schema) and stop sequences."""

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
from mockserver.config import MockConfig
from tests.mockserver.schema_strategies import PARAMETERS, VALUES
from tests.support.chat import HEADERS
from tests.support.checks import check_response, error_message, stream_text
from tests.support.mocks import Mock


def ask(text: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **fields}


def content(body: dict[str, Any]) -> str:
    text = body["choices"][0]["message"]["content"]
    assert isinstance(text, str)
    return text


def test_json_object_is_a_json_object(mock: Mock) -> None:
    body = check_response(mock.post(ask("Describe ZeroDB", response_format={"type": "json_object"})))
    value = json.loads(content(body))
    assert isinstance(value, dict) and value
    assert body["choices"][0]["finish_reason"] == "stop"


def test_text_format_is_plain_text(mock: Mock) -> None:
    plain = check_response(mock.post(ask("Describe ZeroDB")))
    text = check_response(mock.post(ask("Describe ZeroDB", response_format={"type": "text"})))
    assert content(text) == content(plain)


def test_json_schema_stream_equals_the_plain_content(mock: Mock) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["name", "n"],
    }
    request = ask("x", response_format={"type": "json_schema", "json_schema": {"name": "thing", "schema": schema}})
    plain = content(check_response(mock.post(request)))
    chunks = check_response(mock.post({**request, "stream": True}))
    assert stream_text(chunks) == plain
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) > 1


def test_unusable_json_schema_is_400(mock: Mock) -> None:
    bad = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "string", "minLength": 9, "maxLength": 1}},
    }
    response = mock.post(ask("x", response_format=bad))
    assert response.status_code == 400
    assert "minLength" in error_message(check_response(response))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(AINativeMock(MockConfig(credits=10**12)).app) as c:
        yield c


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=st.one_of(PARAMETERS, VALUES), prompt=st.text(max_size=30))
def test_property_json_schema_content_validates_and_repeats(client: TestClient, schema: Any, prompt: str) -> None:
    request = ask(
        prompt,
        response_format={"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}},
    )
    body = check_response(client.post("/v1/chat/completions", json=request, headers=HEADERS))
    assert body["choices"][0]["finish_reason"] == "stop"
    jsonschema.Draft202012Validator(schema).validate(json.loads(content(body)))
    again = check_response(client.post("/v1/chat/completions", json=request, headers=HEADERS))
    assert content(again) == content(body)


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("5", "1, 2, 3, 4, "),
        (["7", ", 3"], "1, 2"),
        (["zzz"], "1, 2, 3, 4, 5, 6, 7, 8, 9"),
        (None, "1, 2, 3, 4, 5, 6, 7, 8, 9"),
    ],
)
def test_stop_sequences_cut_the_reply(mock: Mock, stop: Any, expected: str) -> None:
    body = check_response(mock.post(ask("count to 9", stop=stop)))
    assert content(body) == expected
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(expected.split())
    chunks = check_response(mock.post(ask("count to 9", stop=stop, stream=True)))
    assert stream_text(chunks) == expected


def test_stop_before_max_tokens_and_length_after(mock: Mock) -> None:
    cut = check_response(mock.post(ask("count to 9", stop="9", max_tokens=3)))
    assert content(cut) == "1, 2, 3," and cut["choices"][0]["finish_reason"] == "length"
