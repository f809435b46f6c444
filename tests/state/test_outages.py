"""Outages and gates: unavailable models (503), plan-gated models (403), and the magic keys and models."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

import contracts
from mockserver.models import DEFAULT_MODELS, ModelInfo
from tests.support.chat import BALANCE, CHAT, chat_body, headers
from tests.support.checks import check_response
from tests.support.mocks import new_mock

GATED = ModelInfo("gated-model", 100_000, "ainative", price=2.0, plans=frozenset({"enterprise"}))


@pytest.mark.parametrize(
    ("style", "schema"), [("detail", "error-detail"), ("openai", "error-openai"), ("compat", "error-compat")]
)
def test_model_unavailable_is_a_503_with_retry_after_in_every_error_style(style: str, schema: str) -> None:
    mock = new_mock(error_style=style)
    client = TestClient(mock.app)
    mock.state.model_unavailable("gpt-4o")
    response = client.post(CHAT, headers=headers(), json=chat_body(model="gpt-4o"))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    body = check_response(response, style)
    contracts.validate(schema, body)
    message = "Model 'gpt-4o' is temporarily unavailable"
    if style == "detail":
        assert body == {"detail": message}
    else:
        assert body["error"]["message"] == message
        assert body["error"]["type"] == "service_unavailable"
        assert body["error"]["code"] == "model_not_available"
    other = client.post(CHAT, headers=headers(), json=chat_body(model="claude-3-5-haiku-20241022"))
    assert other.status_code == 200
    mock.state.model_unavailable("gpt-4o", unavailable=False)
    back = client.post(CHAT, headers=headers(), json=chat_body(model="gpt-4o"))
    assert back.status_code == 200
    check_response(back)
    assert mock.state.ledger.account(headers()["X-API-Key"]).used == back.json()["usage"]["total_tokens"] * 10**6 + (
        other.json()["usage"]["total_tokens"] * 10**6
    )


def test_unavailable_models_setting_and_reset() -> None:
    mock = new_mock(unavailable_models=("gpt-4o",))
    client = TestClient(mock.app)
    assert client.post(CHAT, headers=headers(), json=chat_body(model="gpt-4o")).status_code == 503
    mock.state.update_config({"unavailable_models": []})
    assert client.post(CHAT, headers=headers(), json=chat_body(model="gpt-4o")).status_code == 200
    mock.state.model_unavailable("claude-3-opus-20240229")
    mock.state.reset()
    assert client.post(CHAT, headers=headers(), json=chat_body(model="claude-3-opus-20240229")).status_code == 200
    assert client.post(CHAT, headers=headers(), json=chat_body(model="gpt-4o")).status_code == 503


def test_plan_gated_model_is_403_for_other_plans_and_served_to_its_plan() -> None:
    mock = new_mock(models=(*DEFAULT_MODELS, GATED), credits=100)
    client = TestClient(mock.app)
    denied = client.post(CHAT, headers=headers(), json=chat_body(model="gated-model"))
    assert denied.status_code == 403
    assert check_response(denied) == {"detail": "Model 'gated-model' is not available on the pro plan"}
    assert "retry-after" not in denied.headers
    assert client.get(BALANCE, headers=headers()).json()["used_credits"] == 0
    mock.state.set_key(headers()["X-API-Key"], plan="enterprise")
    served = client.post(CHAT, headers=headers(), json=chat_body("hi", model="gated-model"))
    assert served.status_code == 200
    usage = check_response(served)["usage"]
    balance = check_response(client.get(BALANCE, headers=headers()))
    assert balance["plan"] == "enterprise"
    assert balance["used_credits"] == usage["total_tokens"] * 2


@pytest.mark.parametrize(
    ("key", "model", "status", "retry_after", "body"),
    [
        ("ak_test_insufficient_credits", None, 402, None, {"detail": "Insufficient credits"}),
        ("ak_test_rate_limited", None, 429, "1", {"detail": "Rate limit exceeded"}),
        ("ak_test_forbidden", None, 403, None, {"detail": "Model not available on your plan"}),
        ("ak_test_server_error", None, 500, None, {"detail": "Internal server error"}),
        ("ak_test_unavailable", None, 503, "1", {"detail": "Model unavailable"}),
        ("ak_state_0000000000000001", "mock-unavailable", 503, "1", {"detail": "Model unavailable"}),
        ("ak_state_0000000000000001", "mock-plan-gated", 403, None, {"detail": "Model not available on your plan"}),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_magic_keys_and_models(
    key: str, model: str | None, status: int, retry_after: str | None, body: dict[str, str], stream: bool
) -> None:
    mock = new_mock()
    client = TestClient(mock.app)
    for _ in range(2):  # always, not once
        response = client.post(CHAT, headers=headers(key), json=chat_body(model=model, stream=stream))
        assert response.status_code == status
        assert response.headers.get("retry-after") == retry_after
        assert check_response(response) == body
    assert [e.fault["source"] for e in mock.state.requests() if e.fault] == ["magic", "magic"]
    assert mock.state.ledger.account(key).used == 0


def test_magic_disconnect_key_leaves_non_streaming_requests_alone() -> None:
    client = TestClient(new_mock().app)
    response = client.post(CHAT, headers=headers("ak_test_disconnect"), json=chat_body())
    assert response.status_code == 200
    check_response(response)
