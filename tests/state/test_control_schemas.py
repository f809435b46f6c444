"""The control API's documented request schemas state exactly what it accepts: schema and server agree.

Each body below is sent to the served operation; it is accepted (2xx) exactly when the schema the
served ``/openapi.json`` documents for the operation says it is valid. The cases are the edges
schemathesis found when the two were written separately.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from mockserver.control import SETTING_SCHEMAS
from mockserver.faults import check_fault_choice, make_fault
from mockserver.state import RUNTIME_SETTINGS
from tests.support.mocks import new_mock


def _documented(client: TestClient, method: str, path: str) -> tuple[Draft202012Validator, bool]:
    body = client.get("/openapi.json").json()["paths"][path][method.lower()]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER), body["required"]


CASES: list[tuple[str, str, Any]] = [
    ("POST", "/_mock/faults", {"fault": "0"}),
    ("POST", "/_mock/faults", {"fault": "600"}),
    ("POST", "/_mock/faults", {"fault": "429"}),
    ("POST", "/_mock/faults", {"fault": "429", "status": 503}),
    ("POST", "/_mock/faults", {"fault": "http_error"}),
    ("POST", "/_mock/faults", {"fault": "http_error", "status": 500.0}),
    ("POST", "/_mock/faults", {"fault": "latency", "ms": 5}),
    ("POST", "/_mock/faults", {"fault": "nope"}),
    ("POST", "/_mock/faults", {"fault": "disconnect", "after_chunks": True}),
    ("POST", "/_mock/faults", {}),
    ("PUT", "/_mock/keys/ak_schema_key", {}),
    ("PUT", "/_mock/keys/ak_schema_key", {"credits": 5, "unlimited": True}),
    ("PUT", "/_mock/keys/ak_schema_key", {"unlimited": {}}),
    ("PUT", "/_mock/config", {}),
    ("PUT", "/_mock/config", {"rpm": 7}),
    ("PUT", "/_mock/config", {"rpm": 7.0}),
    ("PUT", "/_mock/config", {"rpm": 7.5}),
    ("PUT", "/_mock/config", {"unknown_model_status": 404.0}),
    ("PUT", "/_mock/config", {"nope": 1}),
    ("PUT", "/_mock/config", {"faults": ["http_error"]}),
    ("PUT", "/_mock/config", {"faults": ["429", "disconnect"]}),
    ("PUT", "/_mock/config", {"faults": "503"}),
    ("PUT", "/_mock/config", {"plan": " "}),
    ("PUT", "/_mock/config", {"key_prefixes": []}),
    ("PUT", "/_mock/config", {"key_prefixes": ["mk_"]}),
    ("PUT", "/_mock/config", {"unavailable_models": "gpt-4o"}),
    ("PUT", "/_mock/config", {"tokens_per_second": 0.001}),
    ("PUT", "/_mock/config", {"error_style": "openai"}),
    ("PUT", "/_mock/config", {"replies": [{"match": "(", "regex": True, "text": "x"}]}),
    ("PUT", "/_mock/config", {"replies": [{"match": "a+", "regex": True, "text": "x"}]}),
    ("PUT", "/_mock/config", {"replies": [{"match": "a", "text": "x", "tool_call": {"name": "f"}}]}),
    ("PUT", "/_mock/config", {"models": [{"id": "m-1", "price": 2}]}),
    ("PUT", "/_mock/config", {"models": []}),
]


@pytest.mark.parametrize(("method", "path", "body"), CASES)
def test_a_body_is_accepted_exactly_when_the_documented_schema_says_it_is_valid(
    method: str, path: str, body: Any
) -> None:
    client = TestClient(new_mock().app)
    validator, _ = _documented(client, method, path.replace("ak_schema_key", "{key}"))
    response = client.request(method, path, json=body)
    assert response.status_code < 300 if validator.is_valid(body) else response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [("POST", "/_mock/faults", "/_mock/faults"), ("PUT", "/_mock/keys/k", "/_mock/keys/{key}"),
     ("PUT", "/_mock/config", "/_mock/config"), ("POST", "/_mock/replies", "/_mock/replies")],
)  # fmt: skip
def test_a_body_is_documented_as_required_exactly_when_an_empty_body_is_refused(
    method: str, path: str, template: str
) -> None:
    client = TestClient(new_mock().app)
    _, required = _documented(client, method, template)
    response = client.request(method, path)
    assert (response.status_code == 422) is required, response.text


def test_every_runtime_setting_has_a_schema() -> None:
    assert set(SETTING_SCHEMAS) == RUNTIME_SETTINGS


def test_lowering_max_body_bytes_while_running_does_not_lock_the_control_api_out() -> None:
    client = TestClient(new_mock(max_body_bytes=4096).app)
    assert client.put("/_mock/config", json={"max_body_bytes": 1}).status_code == 200
    assert client.post("/v1/chat/completions", headers={"X-API-Key": "ak_1234"}, json={}).status_code == 413
    assert client.put("/_mock/config", json={"max_body_bytes": 1024}).status_code == 200  # not locked out
    big = {"jwt_secret": "x" * 5000}
    assert client.put("/_mock/config", json=big).status_code == 413  # the limit given at start still holds


def test_a_seeded_choice_check_agrees_with_building_the_fault() -> None:
    for choice in ("http_error", "429", "0429", "600", "latency", "disconnect"):
        try:
            check_fault_choice(choice)
        except ValueError:
            with pytest.raises(ValueError):
                make_fault(choice)
        else:
            make_fault(choice)
