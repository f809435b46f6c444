"""The marker's options: one keyword-only class, the same options on both fixtures, old names that warn."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields

import pytest

from mockserver.options import DEPRECATED_NAMES, MockOptions, OptionError

Runner = Callable[..., pytest.RunResult]
CHAT = "/v1/public/chat/completions"

# -- the class -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), DEPRECATED_NAMES.items())
def test_old_names_warn_and_mean_the_new_ones(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=rf"ainative_mock\({old}=\.\.\.\) is deprecated; use {new}=\.\.\."):
        options = MockOptions.from_marker({old: ["x"]})
    assert options == MockOptions.from_marker({new: ["x"]})


def test_an_old_and_a_new_name_together_are_refused() -> None:
    with (
        pytest.warns(DeprecationWarning, match="is deprecated; use random_faults"),
        pytest.raises(OptionError, match="give random_faults or its old name faults"),
    ):
        MockOptions.from_marker({"faults": ["500"], "random_faults": ["503"]})


@pytest.mark.parametrize("name", ["host", "port", "log_level"])
def test_settings_no_fixture_can_honour_are_named(name: str) -> None:
    with pytest.raises(OptionError, match=f"option '{name}' cannot apply to the mock fixtures"):
        MockOptions.from_marker({name: 1})


def test_an_unknown_name_is_named_with_the_known_ones() -> None:
    with pytest.raises(OptionError, match=r"unknown setting 'credit'; known: .*credits"):
        MockOptions.from_marker({"credit": 1})


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        MockOptions(5)  # type: ignore[misc]


def test_serve_settings_keep_their_serve_names() -> None:
    options = MockOptions.from_marker({"random_faults": ["503"], "reply_rules": [], "api_keys": ["ak_x_1234"]})
    assert options.config_settings() == {"faults": ["503"], "replies": [], "api_keys": ["ak_x_1234"]}


def test_pass_through_is_refused_on_the_served_fixture_only() -> None:
    options = MockOptions(pass_through=False)
    options.check_for("ainative_mock")
    with pytest.raises(OptionError, match="option 'pass_through' applies to ainative_mock only"):
        options.check_for("ainative_server")


# -- every option on both fixtures ------------------------------------------------------------------

EVERY_OPTION = """
import dataclasses

import httpx
import pytest

from mockserver.options import MockOptions

CHAT = "/v1/public/chat/completions"


def chat(mock, text="Hello there", key=None, **body):
    headers = {"X-API-Key": key} if key else mock.headers
    return httpx.post(mock.base_url + CHAT, headers=headers, timeout=20,
                      json={"messages": [{"role": "user", "content": text}], **body})


def text(response):
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def check_rpm(mock):
    return [chat(mock).status_code for _ in range(2)] == [200, 429]


def check_tpm(mock):
    return [chat(mock).status_code for _ in range(2)] == [200, 429]


def check_unavailable(mock):
    return chat(mock, model="gpt-4o").status_code == 503


def check_rules(mock):
    return text(chat(mock, "weather?")) == "Sunny"


CASES = {
    "credits": ({"credits": 7}, lambda mock: mock.balance()["total_credits"] == 7),
    "plan": ({"plan": "basic"}, lambda mock: mock.balance()["plan"] == "basic"),
    "rpm": ({"rpm": 1}, check_rpm),
    "tpm": ({"tpm": 40}, check_tpm),
    "unavailable_models": ({"unavailable_models": ["gpt-4o"]}, check_unavailable),
    "random_faults": ({"random_faults": ["503"], "fault_rate": 1}, lambda mock: chat(mock).status_code == 503),
    "fault_rate": ({"fault_rate": 1}, lambda mock: chat(mock).status_code in {429, 500, 503}),
    "error_style": ({"error_style": "openai", "credits": 0}, lambda mock: "error" in chat(mock).json()),
    "seed": ({"seed": 5}, lambda mock: mock.state.config.seed == 5),
    "ttft_ms": ({"ttft_ms": 5}, lambda mock: mock.state.config.ttft_ms == 5),
    "tokens_per_second": ({"tokens_per_second": 500}, lambda mock: mock.state.config.tokens_per_second == 500),
    "reply_rules": ({"reply_rules": [{"match": "weather", "text": "Sunny"}]}, check_rules),
    "queued_replies": ({"queued_replies": ["first"]}, lambda mock: text(chat(mock)) == "first"),
    "queued_faults": ({"queued_faults": ["500"]}, lambda mock: chat(mock).status_code == 500),
    "check_unused": ({"check_unused": False, "queued_replies": ["never used"]}, lambda mock: True),  # no teardown error
    "pass_through": ({"pass_through": False}, lambda mock: mock.interceptor.pass_through is False),
    "cassette": ({"cassette": "hello"}, lambda mock: text(chat(mock)) == "from the cassette"),
    "settings": (
        {"api_keys": ["ak_only_this_one_1"]},  # a startup setting: ainative_server starts a server for the test
        lambda mock: chat(mock).status_code == 401 and chat(mock, key="ak_only_this_one_1").status_code == 200,
    ),
}


def test_every_option_of_the_class_has_a_case():
    assert set(CASES) == {field.name for field in dataclasses.fields(MockOptions)}


@pytest.mark.parametrize("fixture", ["ainative_mock", "ainative_server"])
@pytest.mark.parametrize(
    "option", [pytest.param(name, marks=pytest.mark.ainative_mock(**case[0]), id=name) for name, case in CASES.items()]
)
def test_option(request, fixture, option):
    mock = request.getfixturevalue(fixture)
    assert CASES[option][1](mock)


def test_the_shared_server_is_back_to_defaults(ainative_server):
    assert ainative_server.balance()["total_credits"] == 1_000_000
    assert ainative_server.state.config.rpm == 0
    assert chat(ainative_server).status_code == 200
"""


CASSETTE = {
    "version": 1,
    "request": {"method": "POST", "route": CHAT, "body": {"messages": [{"role": "user", "content": "Hello there"}]}},
    "response": {
        "status": 200,
        "headers": {"content-type": "application/json"},
        "json": {
            "id": "chatcmpl-cassette",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "from the cassette"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
        },
    },
}


def test_every_option_applies_on_both_fixtures(inner: pytest.Pytester, run: Runner) -> None:
    inner.makepyfile(test_every_option=EVERY_OPTION)
    (inner.path / "cassettes").mkdir()
    (inner.path / "cassettes" / "hello.json").write_text(json.dumps(CASSETTE), encoding="utf-8")
    result = run("-v")
    cases = len(fields(MockOptions))
    result.assert_outcomes(passed=2 * cases - 1 + 2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_option?pass_through-ainative_server? _*",
            "E *UsageError: @pytest.mark.ainative_mock on ainative_server: option 'pass_through' applies to "
            "ainative_mock only*",
        ]
    )


WARNINGS_SHOWN = """
[tool.pytest]
strict = true
filterwarnings = ["error", "default::DeprecationWarning"]
addopts = ["-p", "no:cacheprovider"]
"""
OLD_NAMES = """
import httpx
import pytest


def chat(mock):
    return httpx.post(mock.base_url + "/v1/public/chat/completions", headers=mock.headers, timeout=20,
                      json={"messages": [{"role": "user", "content": "weather?"}]})


@pytest.fixture(params=["ainative_mock", "ainative_server"])
def mock(request):
    return request.getfixturevalue(request.param)


@pytest.mark.ainative_mock(faults=["503"], fault_rate=1)
def test_faults(mock):
    assert chat(mock).status_code == 503


@pytest.mark.ainative_mock(replies=[{"match": "weather", "text": "Sunny"}])
def test_replies(mock):
    assert chat(mock).json()["choices"][0]["message"]["content"] == "Sunny"


@pytest.mark.ainative_mock(scripted_replies=["scripted"])
def test_scripted_replies(mock):
    assert chat(mock).json()["choices"][0]["message"]["content"] == "scripted"
"""


def test_old_names_still_work_on_both_fixtures_and_warn(inner: pytest.Pytester, run: Runner) -> None:
    inner.makepyprojecttoml(WARNINGS_SHOWN)
    inner.makepyfile(test_old_names=OLD_NAMES)
    result = run("-v")
    result.assert_outcomes(passed=6, warnings=6)
    for old, new in DEPRECATED_NAMES.items():
        result.stdout.fnmatch_lines(
            [f"*DeprecationWarning: @pytest.mark.ainative_mock({old}=...) is deprecated; use {new}=...*"]
        )
