"""Settings: CLI over environment over file (TOML and YAML), and checked values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mockserver.config import OPTIONS, ConfigError, MockConfig, ReplyRule, coerce_settings, config_as_dict, load_config
from mockserver.state import RUNTIME_SETTINGS

TOML = """\
[mock]
port = 1111
seed = 5
credits = 300
error_style = "openai"
key_prefixes = ["mock_", "ak_"]
ttft_ms = 120

[[mock.replies]]
match = "hello"
text = "Hi from the file"
"""

YAML = """\
port: 1111
seed: 5
credits: 300
error-style: openai
key_prefixes: [mock_, ak_]
ttft_ms: 120
models:
  - {id: local-model, context_window: 4096, owned_by: me, price: 0.5}
"""


@pytest.fixture(params=["toml", "yaml"])
def config_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A config file of each format with the same settings."""
    path = tmp_path / f"mock.{request.param}"
    path.write_text(TOML if request.param == "toml" else YAML, encoding="utf-8")
    return path


def test_file_alone(config_file: Path) -> None:
    config = load_config(env={}, config_file=config_file)
    assert (config.port, config.seed, config.credits, config.error_style) == (1111, 5, 300, "openai")
    assert config.key_prefixes == ("mock_", "ak_")
    assert config.ttft_ms == 120.0
    if config_file.suffix == ".toml":
        assert config.replies == (ReplyRule(match="hello", text="Hi from the file"),)
    else:
        assert [m.id for m in config.models] == ["local-model"]
        assert config.models[0].price == 0.5


def test_env_over_file(config_file: Path) -> None:
    env = {"AINATIVE_MOCK_PORT": "2222", "AINATIVE_MOCK_KEY_PREFIXES": "env_, sk_", "AINATIVE_MOCK_SEED": ""}
    config = load_config(env=env, config_file=config_file)
    assert config.port == 2222
    assert config.key_prefixes == ("env_", "sk_")
    assert config.seed == 5  # empty env values are ignored
    assert config.credits == 300


def test_cli_over_env_over_file(config_file: Path) -> None:
    env = {"AINATIVE_MOCK_PORT": "2222", "AINATIVE_MOCK_CREDITS": "400"}
    cli = {"port": "3333", "credits": None, "key_prefixes": ["cli_"]}
    config = load_config(cli=cli, env=env, config_file=config_file)
    assert config.port == 3333
    assert config.credits == 400  # not given on the CLI: the environment's value
    assert config.key_prefixes == ("cli_",)
    assert config.seed == 5


def test_config_file_from_env(config_file: Path) -> None:
    config = load_config(env={"AINATIVE_MOCK_CONFIG": str(config_file)})
    assert config.port == 1111


def test_defaults_with_nothing_set() -> None:
    assert load_config(cli={}, env={}) == MockConfig()


def test_every_option_is_a_config_field() -> None:
    fields = set(MockConfig.__dataclass_fields__)
    assert {option.name for option in OPTIONS} <= fields


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"AINATIVE_MOCK_PORT": "abc"}, "AINATIVE_MOCK_PORT"),
        ({"AINATIVE_MOCK_FAULT_RATE": "1.5"}, "fault_rate"),
        ({"AINATIVE_MOCK_ERROR_STYLE": "xml"}, "error_style"),
        ({"AINATIVE_MOCK_RPM": "-1"}, "rpm"),
        ({"AINATIVE_MOCK_LOG_LEVEL": "loud"}, "log_level"),
    ],
)
def test_bad_env_values_name_the_setting(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        load_config(env=env)


@pytest.mark.parametrize(
    ("suffix", "text", "says"),
    [
        (".toml", "bogus_setting = 1\n", "bogus_setting"),
        (".yaml", "port: [1, 2]\n", "port"),
        (".toml", "port = \n", "mock.toml"),
        (".ini", "port=1\n", ".toml"),
        (".yaml", "- just\n- a list\n", "table"),
        (".toml", '[[replies]]\nmatch = "x"\n', "text"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, suffix: str, text: str, says: str) -> None:
    path = tmp_path / f"mock{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=says):
        load_config(env={}, config_file=path)


UNUSUAL = {  # a value other than the default for every setting that can change at run time
    "seed": 7, "default_model": "gpt-4o", "default_max_tokens": 33, "unknown_model_status": 404,
    "accept_any_model": True, "max_body_bytes": 4096, "ttft_ms": 5, "tokens_per_second": 50, "error_style": "openai",
    "credits": 77, "plan": "pro", "rpm": 3, "tpm": 1000, "unavailable_models": ["gpt-4o"], "fault_rate": 0.1,
    "faults": ["429", "disconnect"], "api_keys": ["ak_one_123456789012"], "key_prefixes": ["ak_"],
    "jwt_secret": "s3cret", "models": [{"id": "m1", "context_window": 100, "price": 2.0, "plans": ["free"]}],
    "replies": [{"match": "hi", "text": "hello"}, {"match": "w", "tool_call": {"name": "f", "arguments": {"a": 1}}}],
    "cassettes": "recorded", "replay": "fallback", "replay_speed": 2.0, "replay_match": ["model"],
}  # fmt: skip


@pytest.mark.parametrize("start", [{}, UNUSUAL], ids=["defaults", "unusual"])
def test_the_unmasked_view_of_a_config_reads_back_as_the_same_config(start: dict[str, Any]) -> None:
    """Shared state stores settings re-read from a watched file this way: nothing may change on the way."""
    assert set(UNUSUAL) == RUNTIME_SETTINGS  # a new run-time setting must be added above
    config = MockConfig().replace(**coerce_settings(start, "test"))
    plain = json.loads(json.dumps(config_as_dict(config, masked=False)))
    back = MockConfig().replace(**coerce_settings({name: plain[name] for name in RUNTIME_SETTINGS}, "back"))
    assert {name: getattr(back, name) for name in RUNTIME_SETTINGS} == {
        name: getattr(config, name) for name in RUNTIME_SETTINGS
    }
    assert config_as_dict(config)["jwt_secret"] in (None, "***")  # the default view still masks
