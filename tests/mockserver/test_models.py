"""The model catalogue: every documented model is served; an unknown name is a 404 no SDK retries."""

from __future__ import annotations

import re
import time
from pathlib import Path

import openai
import pytest

from mockserver.config import ConfigError, MockConfig, load_config
from mockserver.models import DEFAULT_MODELS, PLANS, suggest_models
from mockserver.testing import ServedMock
from tests.support.chat import BODY, HEADERS, USER
from tests.support.checks import ERROR_SCHEMAS, check_response, error_message
from tests.support.mocks import Mock, MockFactory

DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"
SECTION_11 = [
    "claude-3-5-sonnet-20241022",
    "claude-3-5-haiku-20241022",
    "claude-3-opus-20240229",
    "gpt-4o",
    "meta-llama/llama-3.3-70b-instruct",
    "meta-llama/llama-3.1-8b-instruct",
    "qwen-coder-32b",
    "qwen-coder-7b",
    "nouscoder-14b",
    "minimax-m2.7",
    "qwen-7b",
    "gemma-2b",
    "gemma-9b",
    "llama-3.3-8b-instruct",
    "llama-3.3-70b-instruct",
    "llama-4-maverick-17b-128e",
    "deepseek-r1-distill-qwen-7b",
    "gpt-5.3-codex",
    "qwen3-coder-30b-a3b",
    "claude-sonnet-4.5",
    "claude-sonnet-4.6",
    "claude-opus-4.5",
    "claude-opus-4.6",
    "meta-llama/Llama-3.3-70B-Instruct",
    "qwen3-coder-flash",
    "deepseek-4-flash",
    "kimi-k2",
    "claude-opus-4",
]


def test_the_catalogue_holds_section_11_and_nothing_twice() -> None:
    ids = [m.id for m in DEFAULT_MODELS]
    assert sorted(ids) == sorted(SECTION_11)
    assert len(set(ids)) == len(ids)
    for model in DEFAULT_MODELS:
        assert model.price > 0 and model.context_window >= 32_000 and model.owned_by and model.source
        assert model.plans <= set(PLANS), model


@pytest.mark.parametrize("model", SECTION_11)
def test_every_catalogued_model_is_served(make_mock: MockFactory, model: str) -> None:
    m = make_mock(plan="enterprise")
    body = check_response(m.post({**BODY, "model": model}))
    assert body["model"] == model
    info = m.state.config.model(model)
    assert info is not None and body["provider"] == info.owned_by
    spent = m.client.get("/v1/public/credits/balance", headers=HEADERS).json()["used_credits"]
    assert spent == pytest.approx(body["usage"]["total_tokens"] * info.price)


def test_plan_gates_follow_the_docs(make_mock: MockFactory) -> None:
    free = make_mock(plan="free")
    assert free.post({**BODY, "model": "llama-3.3-8b-instruct"}).status_code == 200
    assert free.post({**BODY, "model": "llama-3.3-70b-instruct"}).status_code == 403  # Basic+
    basic = make_mock(plan="basic")
    assert basic.post({**BODY, "model": "llama-3.3-70b-instruct"}).status_code == 200
    assert basic.post({**BODY, "model": "qwen-coder-32b"}).status_code == 403  # Pro+
    assert make_mock(plan="pro").post({**BODY, "model": "claude-opus-4"}).status_code == 403  # enterprise only


def test_models_list_is_the_catalogue(mock: Mock) -> None:
    listed = check_response(mock.client.get("/v1/models", headers=HEADERS))
    assert [m["id"] for m in listed["data"]] == [m.id for m in DEFAULT_MODELS]


@pytest.mark.parametrize("style", list(ERROR_SCHEMAS))
def test_unknown_model_is_404_model_not_found_naming_known_models(make_mock: MockFactory, style: str) -> None:
    m = make_mock(error_style=style)
    response = m.post({**BODY, "model": "gpt-4o-mini"})
    assert response.status_code == 404
    assert "retry-after" not in response.headers
    body = check_response(response, style)
    message = error_message(body)
    assert "'gpt-4o-mini' does not exist" in message
    assert "gpt-4o," in message  # the closest spelling comes first
    assert len(re.findall(r"claude-|gpt-|llama", message)) >= 3
    if style != "detail":
        assert body["error"]["code"] == "model_not_found"
    if style == "compat":
        assert body["code"] == "MODEL_NOT_FOUND"


def test_unknown_model_404_is_fast() -> None:
    # Under 50 ms, judged as the median of several requests (the machine is shared).
    from starlette.testclient import TestClient

    from mockserver.app import AINativeMock

    with TestClient(AINativeMock().app) as client:
        times = []
        for _ in range(9):
            started = time.perf_counter()
            response = client.post("/v1/chat/completions", headers=HEADERS, json={**BODY, "model": "nope"})
            assert response.status_code == 404
            times.append(time.perf_counter() - started)
    assert sorted(times)[4] < 0.05


def test_suggestions_prefer_close_spellings() -> None:
    assert suggest_models("LLAMA-3.3-70B-INSTRUCT", DEFAULT_MODELS, 2)[0] == "llama-3.3-70b-instruct"
    assert suggest_models("claude-sonet-4.5", DEFAULT_MODELS, 3)[0] == "claude-sonnet-4.5"
    assert len(suggest_models("zzz", DEFAULT_MODELS)) == 5


@pytest.mark.parametrize("status", [400, 403, 503])
def test_unknown_model_status_keeps_the_other_choices(make_mock: MockFactory, status: int) -> None:
    response = make_mock(unknown_model_status=status, error_style="openai").post({**BODY, "model": "gpt-99"})
    assert response.status_code == status
    assert check_response(response, "openai")["error"]["code"] == "model_not_found"


def test_accept_any_model_serves_any_name_at_price_1_without_gate(make_mock: MockFactory) -> None:
    m = make_mock(accept_any_model=True, plan="free")
    body = check_response(m.post({**BODY, "model": "my-finetune-v7"}))
    assert body["model"] == "my-finetune-v7"
    balance = m.client.get("/v1/public/credits/balance", headers=HEADERS).json()
    assert balance["used_credits"] == body["usage"]["total_tokens"]
    assert m.post({**BODY, "model": "qwen-coder-32b"}).status_code == 403  # catalogued gates still hold
    assert m.post({**BODY, "model": "mock-unavailable"}).status_code == 503


def test_accept_any_model_from_cli_env_and_file(tmp_path: Path) -> None:
    from mockserver.cli import build_parser

    args = build_parser().parse_args(["serve", "--accept-any-model", "--unknown-model-status", "503"])
    assert args.accept_any_model == "true"
    config = load_config({"accept_any_model": args.accept_any_model, "unknown_model_status": "503"}, env={})
    assert config.accept_any_model and config.unknown_model_status == 503
    assert load_config(env={"AINATIVE_MOCK_ACCEPT_ANY_MODEL": "yes"}).accept_any_model
    file = tmp_path / "mock.toml"
    file.write_text("accept_any_model = true\n")
    assert load_config(env={}, config_file=file).accept_any_model
    with pytest.raises(ConfigError, match="accept_any_model"):
        load_config(env={"AINATIVE_MOCK_ACCEPT_ANY_MODEL": "maybe"})
    assert MockConfig().unknown_model_status == 404


def test_unavailable_models_stay_503(make_mock: MockFactory) -> None:
    m = make_mock(unavailable_models=("kimi-k2",))
    response = m.post({**BODY, "model": "kimi-k2"})
    assert response.status_code == 503 and response.headers["retry-after"] == "1"


@pytest.mark.socket
def test_openai_sdk_with_default_retries_sends_one_request_for_an_unknown_model(served: ServedMock) -> None:
    client = openai.OpenAI(base_url=served.base_url + "/api/v1", api_key=HEADERS["X-API-Key"])  # default retries
    with client, pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)  # type: ignore[arg-type]
    assert caught.value.status_code == 404
    assert [(e.model, e.status) for e in served.state.requests()] == [("gpt-4o-mini", 404)]


def test_docs_list_every_model_with_its_source() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = {
        cells[0].strip("` "): cells
        for line in text.splitlines()
        if line.startswith("| `")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    assert sorted(rows) == sorted(m.id for m in DEFAULT_MODELS)
    for model in DEFAULT_MODELS:
        _, provider, context, price, plans, source = rows[model.id][:6]
        assert provider == model.owned_by
        assert int(context.replace(",", "")) == model.context_window
        assert float(price) == model.price
        assert plans == (", ".join(p for p in PLANS if p in model.plans) if model.plans else "every plan")
        assert model.source in source
