"""Hostile tool ``parameters`` and ``response_format`` schemas: a 200 or a clear 400, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from tests.support.chat import HEADERS
from tests.support.checks import check_response, error_message

KEYWORDS = [
    "type", "properties", "required", "items", "prefixItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref",
    "$defs", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
    "minItems", "maxItems", "uniqueItems", "additionalProperties", "minProperties", "maxProperties", "format",
    "pattern", "not", "if", "then",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["object", "array", "string", "integer", "number", "boolean", "null", "#/$defs/x", "#", "date"]),
    st.text(max_size=8),
)
HOSTILE = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYWORDS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(AINativeMock(MockConfig(credits=10**12)).app) as c:
        yield c


def _answer(client: TestClient, body: dict[str, Any]) -> Any:
    response = client.post("/v1/chat/completions", json=body, headers=HEADERS)
    assert response.status_code in (200, 400, 422), response.text
    answer = check_response(response)
    if response.status_code == 400:
        assert error_message(answer)
    return answer if response.status_code == 200 else None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parameters=st.dictionaries(st.sampled_from(KEYWORDS), HOSTILE, max_size=6), stream=st.booleans())
def test_hostile_tool_parameters(client: TestClient, parameters: dict[str, Any], stream: bool) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    body = {"messages": [{"role": "user", "content": "x"}], "tools": [tool], "tool_choice": "required"}
    _answer(client, {**body, "stream": stream})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=st.dictionaries(st.sampled_from(KEYWORDS), HOSTILE, max_size=6))
@example(schema={"type": None, "multipleOf": False})  # was a division by zero: a 500
@example(schema={"type": "integer", "multipleOf": 0})
@example(schema={"type": "number", "multipleOf": -1.5})
def test_hostile_response_format_schema(client: TestClient, schema: dict[str, Any]) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    answer = _answer(client, {"messages": [{"role": "user", "content": "x"}], "response_format": response_format})
    if answer is not None and answer["choices"][0]["finish_reason"] == "stop":  # not cut by max_tokens
        # whatever the mock answers is valid against the schema
        jsonschema.Draft202012Validator(schema).validate(json.loads(answer["choices"][0]["message"]["content"]))
