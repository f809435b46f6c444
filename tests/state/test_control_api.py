"""The /_mock/ control API: journal, reset, keys, faults, replies, config; bad bodies; the admin gate."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

import contracts
from mockserver.app import AINativeMock
from tests.support.chat import BALANCE, CHAT, KEY, chat_body, headers
from tests.support.checks import check_response
from tests.support.mocks import new_mock


@pytest.fixture
def mock() -> AINativeMock:
    """A fresh mock with a small journal."""
    return new_mock(journal_size=3, credits=1000)


@pytest.fixture
def client(mock: AINativeMock) -> TestClient:
    """An in-process client of ``mock``."""
    return TestClient(mock.app)


def error_json(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    contracts.validate("error", body)
    return body


def test_requests_journal_is_bounded_by_journal_size(client: TestClient) -> None:
    for prompt in ("one", "two", "three", "four", "five"):
        assert client.post(CHAT, headers=headers(), json=chat_body(prompt)).status_code == 200
    response = client.get("/_mock/requests")
    assert response.status_code == 200
    journal = response.json()
    assert journal["total"] == 5
    assert [r["seq"] for r in journal["requests"]] == [3, 4, 5]
    assert [r["body"]["messages"][0]["content"] for r in journal["requests"]] == ["three", "four", "five"]
    last = journal["requests"][-1]
    assert last["status"] == 200 and last["path"] == CHAT and last["key"] == "ak_…0001"
    assert last["charged"] == last["usage"]["total_tokens"]
    assert "started" not in last


def test_reset_restores_ledger_queues_journal_and_config(client: TestClient, mock: AINativeMock) -> None:
    client.post(CHAT, headers=headers(), json=chat_body())
    assert client.put("/_mock/config", json={"rpm": 7}).status_code == 200
    assert client.post("/_mock/faults", json={"fault": "500"}).status_code == 201
    assert client.post("/_mock/replies", json={"text": "later"}).status_code == 201
    response = client.post("/_mock/reset")
    assert (response.status_code, response.json()) == (200, {"status": "reset"})
    assert client.get("/_mock/requests").json() == {"total": 0, "requests": []}
    assert client.get("/_mock/faults").json() == {"pending": []}
    assert client.get("/_mock/config").json()["rpm"] == 0
    assert mock.state.pending() == {"replies": [], "faults": []}
    balance = check_response(client.get(BALANCE, headers=headers()))
    assert (balance["total_credits"], balance["used_credits"]) == (1000, 0)


def test_put_key_sets_credits_plan_and_own_limits(client: TestClient) -> None:
    response = client.put(f"/_mock/keys/{KEY}", json={"credits": 50, "plan": "free", "rpm": 1})
    assert response.status_code == 200
    balance = response.json()
    contracts.validate("credits-balance", balance)
    assert (balance["total_credits"], balance["plan"], balance["period_end"]) == (50, "free", None)
    assert check_response(client.get(BALANCE, headers=headers())) == balance
    first = client.post(CHAT, headers=headers(), json=chat_body("hi"))
    assert first.status_code == 200
    denied = client.post(CHAT, headers=headers(), json=chat_body("hi"))
    error_json(denied, 429)
    assert int(denied.headers["retry-after"]) >= 1
    other = client.post(CHAT, headers=headers("ak_someone_else_01"), json=chat_body("hi"))
    assert other.status_code == 200  # the limit is this key's own
    unlimited = client.put(f"/_mock/keys/{KEY}", json={"credits": 0, "unlimited": True})
    assert unlimited.json()["unlimited"] is True


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"credits": -1}, ["body", "credits"]),
        ({"credits": "many"}, ["body", "credits"]),
        ({"plan": ""}, ["body", "plan"]),
        ({"rpm": 1.5}, ["body", "rpm"]),
        ({"unlimited": "yes"}, ["body", "unlimited"]),
    ],
)
def test_put_key_bad_bodies_are_422_naming_the_field(client: TestClient, body: dict[str, Any], loc: list[str]) -> None:
    detail = error_json(client.put(f"/_mock/keys/{KEY}", json=body), 422)["detail"]
    assert detail[0]["loc"] == loc
    assert check_response(client.get(BALANCE, headers=headers()))["total_credits"] == 1000  # nothing changed


def test_put_key_unknown_field_and_bad_json(client: TestClient) -> None:
    detail = error_json(client.put(f"/_mock/keys/{KEY}", json={"credit": 5}), 422)["detail"]
    assert "'credit'" in detail[0]["msg"]
    broken = client.put(f"/_mock/keys/{KEY}", content=b"{not json", headers={"content-type": "application/json"})
    assert error_json(broken, 422)["detail"][0]["type"] == "json_invalid"


def test_faults_queue_list_and_clear(client: TestClient) -> None:
    queued = client.post("/_mock/faults", json={"fault": "http_error", "status": 503, "times": 2, "model": "gpt-4o"})
    assert queued.status_code == 201
    assert queued.json() == {"queued": {"fault": "http_error", "status": 503, "retry_after": 1, "times": 2}}
    assert client.post("/_mock/faults", json={"fault": "stall", "ms": 10}).status_code == 201
    pending = client.get("/_mock/faults").json()["pending"]
    assert pending == [
        {"fault": "http_error", "status": 503, "retry_after": 1, "remaining": 2, "model": "gpt-4o", "route": None},
        {"fault": "stall", "ms": 10.0, "remaining": 1, "model": None, "route": None},
    ]
    assert client.post(CHAT, headers=headers(), json=chat_body()).status_code == 200  # other model
    failed = client.post(CHAT, headers=headers(), json=chat_body(model="gpt-4o"))
    error_json(failed, 503)
    assert failed.headers["retry-after"] == "1"
    assert client.get("/_mock/faults").json()["pending"][0]["remaining"] == 1
    cleared = client.delete("/_mock/faults")
    assert (cleared.status_code, cleared.json()) == (200, {"pending": []})
    assert client.post(CHAT, headers=headers(), json=chat_body(model="gpt-4o")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "fault"),
        ({"fault": ""}, "fault"),
        ({"fault": "500", "times": 0}, "times"),
        ({"fault": "http_error", "status": 200}, "status"),
        ({"fault": "stall", "ms": -5}, "ms"),
        ({"fault": "disconnect", "after_chunks": "3"}, "after_chunks"),
        ({"fault": "500", "retry_after": 1.5}, "retry_after"),
    ],
)
def test_faults_bad_bodies_are_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    detail = error_json(client.post("/_mock/faults", json=body), 422)["detail"]
    named = [p["loc"][1:] for p in detail]
    assert [field] in named or (field == "fault" and [] in named and "'fault'" in detail[0]["msg"]), detail
    assert client.get("/_mock/faults").json() == {"pending": []}


def test_unknown_fault_name_is_422(client: TestClient) -> None:
    body = error_json(client.post("/_mock/faults", json={"fault": "explode"}), 422)
    assert "unknown fault 'explode'" in body["detail"]
    body = error_json(client.post("/_mock/faults", json={"fault": "http_error"}), 422)
    assert "needs a status" in body["detail"]


def test_replies_script_the_next_answers(client: TestClient) -> None:
    response = client.post("/_mock/replies", json={"text": "Scripted hello"})
    assert (response.status_code, response.json()) == (201, {"pending": ["Scripted hello"]})
    tool = client.post("/_mock/replies", json={"tool_call": {"name": "lookup", "arguments": {"q": "x"}}})
    assert tool.json() == {"pending": ["Scripted hello", {"tool_call": "lookup"}]}
    first = check_response(client.post(CHAT, headers=headers(), json=chat_body()))
    assert first["choices"][0]["message"]["content"] == "Scripted hello"
    second = check_response(client.post(CHAT, headers=headers(), json=chat_body()))
    assert second["choices"][0]["finish_reason"] == "tool_calls"
    assert second["choices"][0]["message"]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q":"x"}'}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"text": 5}, ["body", "text"]),
        ({"tool_call": {"arguments": {}}}, ["body", "tool_call"]),
        ({"tool_call": {"name": ""}}, ["body", "tool_call", "name"]),
        ({}, ["body"]),
        ({"text": "a", "tool_call": {"name": "f"}}, ["body"]),
    ],
)
def test_replies_bad_bodies_are_422(client: TestClient, body: dict[str, Any], loc: list[str]) -> None:
    detail = error_json(client.post("/_mock/replies", json=body), 422)["detail"]
    assert detail[0]["loc"] == loc


def test_config_get_and_put(client: TestClient) -> None:
    config = client.get("/_mock/config").json()
    assert config["credits"] == 1000 and config["admin_token"] is None and config["jwt_secret"] == "***"
    changed = client.put("/_mock/config", json={"rpm": 1, "unavailable_models": "gpt-4o", "credits": 40})
    assert changed.status_code == 200
    assert (changed.json()["rpm"], changed.json()["unavailable_models"], changed.json()["credits"]) == (
        1,
        ["gpt-4o"],
        40,
    )
    assert check_response(client.get(BALANCE, headers=headers()))["total_credits"] == 40
    error_json(client.post(CHAT, headers=headers(), json=chat_body(model="gpt-4o")), 503)
    assert client.post(CHAT, headers=headers(), json=chat_body("hi")).status_code == 200
    error_json(client.post(CHAT, headers=headers(), json=chat_body("hi")), 429)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"rpm": "lots"}, ["rpm", "lots"]),
        ({"fault_rate": 2}, ["fault_rate"]),
        ({"port": 1234}, ["cannot change", "port"]),
        ({"colour": "blue"}, ["unknown setting", "colour"]),
        ({"faults": ["explode"]}, ["faults", "explode"]),
        ([1, 2], ["body"]),
    ],
)
def test_config_bad_values_are_422_naming_the_setting(client: TestClient, body: Any, words: list[str]) -> None:
    error = error_json(client.put("/_mock/config", json=body), 422)["detail"]
    text = error if isinstance(error, str) else str(error)
    for word in words:
        assert word in text
    assert client.get("/_mock/config").json()["rpm"] == 0


ROUTES = [
    ("GET", "/_mock/requests", None),
    ("POST", "/_mock/reset", None),
    ("PUT", f"/_mock/keys/{KEY}", {"credits": 1}),
    ("GET", "/_mock/faults", None),
    ("POST", "/_mock/faults", {"fault": "500"}),
    ("DELETE", "/_mock/faults", None),
    ("POST", "/_mock/replies", {"text": "x"}),
    ("GET", "/_mock/config", None),
    ("PUT", "/_mock/config", {"rpm": 1}),
    ("GET", "/_mock/accounts", None),
]
GATED_ELSEWHERE = {("GET", "/_mock/events"), ("PUT", "/_mock/accounts/{id}")}
"""A stream and a route that needs a listed id: their admin gate is tested in tests/mockserver/test_events.py."""


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_beyond_loopback_without_admin_token_the_control_api_is_off(method: str, path: str, body: Any) -> None:
    mock = new_mock(host="0.0.0.0")
    client = TestClient(mock.app)
    response = client.request(method, path, json=body)
    assert "--admin-token" in error_json(response, 403)["detail"]
    assert mock.state.pending() == {"replies": [], "faults": []}
    assert mock.state.config.rpm == 0
    assert client.post(CHAT, headers=headers(), json=chat_body()).status_code == 200  # the API itself works


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_admin_token_is_required_when_set(method: str, path: str, body: Any, host: str) -> None:
    client = TestClient(new_mock(host=host, admin_token="s3cret-token").app)
    error_json(client.request(method, path, json=body), 401)
    error_json(client.request(method, path, json=body, headers={"Authorization": "Bearer wrong"}), 401)
    error_json(client.request(method, path, json=body, headers={"X-Admin-Token": "s3cret-tokenX"}), 401)
    error_json(client.request(method, path, json=body, headers={"Authorization": "Basic s3cret-token"}), 401)
    ok = client.request(method, path, json=body, headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code in (200, 201), ok.text
    ok = client.request(method, path, json=body, headers={"X-Admin-Token": "s3cret-token"})
    assert ok.status_code in (200, 201), ok.text


def test_control_bodies_share_the_chat_size_limit_and_content_type_rule() -> None:
    mock = new_mock(max_body_bytes=64)
    client = TestClient(mock.app)
    too_large = client.post("/_mock/replies", json={"text": "x" * 100})
    assert "64-byte limit" in error_json(too_large, 413)["detail"]
    form = client.post(
        "/_mock/faults", content=b"fault=500", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert "application/json" in error_json(form, 415)["detail"]
    assert mock.state.pending() == {"replies": [], "faults": []}
    assert client.post("/_mock/reset").status_code == 200  # an empty body still means {}


def test_control_resources_list_exactly_the_routes_and_openapi_operations() -> None:
    from mockserver.control import RESOURCES, control_openapi_paths

    paths = control_openapi_paths()
    served = {(method, path.replace("{key}", KEY)) for method, path, _ in ROUTES} | GATED_ELSEWHERE
    documented = {
        (verb.upper(), path.replace("{key}", KEY))
        for path, item in paths.items()
        for verb in item
        if verb != "parameters"
    }
    assert documented == served
    assert [resource.path for resource in RESOURCES] == list(paths)


def test_startup_config_is_kept_apart_from_the_running_config(mock: AINativeMock) -> None:
    mock.state.update_config({"rpm": 5})
    assert (mock.startup_config.rpm, mock.state.config.rpm) == (0, 5)
    with pytest.warns(DeprecationWarning, match="startup_config"):
        assert mock.config is mock.startup_config
    mock.state.reset()
    assert mock.state.config is mock.startup_config


def test_every_setting_is_either_a_startup_or_a_runtime_setting() -> None:
    import dataclasses

    from mockserver.config import MockConfig
    from mockserver.state import RUNTIME_SETTINGS, STARTUP_SETTINGS

    assert {f.name for f in dataclasses.fields(MockConfig)} == STARTUP_SETTINGS | RUNTIME_SETTINGS
    assert not STARTUP_SETTINGS & RUNTIME_SETTINGS
    assert {"host", "port", "admin_token", "cors_origins", "journal_size"} <= STARTUP_SETTINGS
