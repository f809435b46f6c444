"""Every way of giving a setting refuses values the mock could not serve with, naming the setting."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import ConfigError, create_app, load_config

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
BAD_SETTINGS = [
    pytest.param({"replies": [{"match": "x", "tool_call": "foo"}]}, "replies", id="tool-call-not-a-table"),
    pytest.param({"replies": [{"match": "hi", "text": 5}]}, "replies", id="reply-text-not-a-string"),
    pytest.param({"replies": [{"match": "(", "regex": True, "text": "a"}]}, "replies", id="bad-regex"),
    pytest.param({"replies": [{"match": "a", "text": "b", "weight": 2}]}, "replies", id="unknown-rule-key"),
    pytest.param({"models": ["abc"]}, "models", id="model-not-a-table"),
    pytest.param({"models": []}, "models", id="empty-model-table"),
    pytest.param({"ttft_ms": 1e12}, "ttft_ms", id="endless-ttft"),
    pytest.param({"tokens_per_second": 1e-300}, "tokens_per_second", id="endless-stream"),
    pytest.param({"plan": ""}, "plan", id="empty-plan"),
    pytest.param({"log_level": "loud"}, "log_level", id="log-level"),
]


@pytest.mark.parametrize(("settings", "name"), BAD_SETTINGS)
def test_the_control_api_refuses_and_keeps_serving(settings: dict[str, Any], name: str) -> None:
    client = TestClient(create_app())
    response = client.put("/_mock/config", json=settings)
    if name == "log_level":  # fixed at start: refused as not changeable while running
        assert response.status_code == 422
    else:
        assert response.status_code == 422, response.text
        assert name in str(response.json()["detail"])  # the message or the field's location
    assert client.post("/v1/chat/completions", headers={"X-API-Key": "ak_1234"}, json=CHAT).status_code == 200


@pytest.mark.parametrize(("settings", "name"), BAD_SETTINGS)
def test_load_config_names_the_setting(settings: dict[str, Any], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config(settings, env={})


def test_models_and_replies_read_json_from_the_environment() -> None:
    config = load_config(
        env={
            "AINATIVE_MOCK_MODELS": '[{"id": "env-model", "price": 0.5}]',
            "AINATIVE_MOCK_REPLIES": '[{"match": "ping", "text": "pong"}]',
        }
    )
    assert [m.id for m in config.models] == ["env-model"]
    assert config.models[0].price == 0.5
    assert config.replies[0].text == "pong"
    with pytest.raises(ConfigError, match="AINATIVE_MOCK_MODELS"):
        load_config(env={"AINATIVE_MOCK_MODELS": "not json"})
