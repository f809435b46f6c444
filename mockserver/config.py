"""Settings of the mock, and how they are read: CLI over environment over config file.

Every option has one name. On the command line it is ``--name-with-dashes``; in the
environment ``AINATIVE_MOCK_NAME_IN_CAPS``; in a TOML or YAML config file the key
``name_with_underscores``. Lists are comma-separated in the environment and repeatable
(or comma-separated) on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mockserver.cassettes import DEFAULT_MATCH_KEYS
from mockserver.faults import FaultError, check_fault_choice
from mockserver.models import DEFAULT_MODEL, DEFAULT_MODELS, ModelInfo, any_model, models_from_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ENV_PREFIX", "OPTIONS", "ConfigError", "MockConfig", "Option", "load_config"]

ENV_PREFIX = "AINATIVE_MOCK_"
ERROR_STYLES = ("detail", "openai", "compat")
REPLAY_MODES = ("strict", "fallback")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
DEFAULT_KEY_PREFIXES = ("ak_", "sk_", "tmp_", "zdb_live_")


class ConfigError(ValueError):
    """A setting has a value the mock cannot use; the message names the setting.

    Example:
        >>> try:
        ...     load_config({"credits": -1}, env={})
        ... except ConfigError as error:
        ...     print(error)
        credits: must be >= 0
    """


@dataclass(frozen=True, slots=True)
class ReplyRule:
    """Reply with fixed text or a tool call when the last user message matches.

    Attributes:
        match: substring (or regular expression when ``regex``) searched in the last user message.
        regex: treat ``match`` as a regular expression.
        text: the reply text (exclusive with ``tool_call``).
        tool_call: ``{"name": ..., "arguments": {...}}`` to answer with a tool call.
    """

    match: str
    regex: bool = False
    text: str | None = None
    tool_call: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MockConfig:
    """Everything that shapes the mock's behaviour. Build with :func:`load_config` or directly.

    Example:
        >>> config = MockConfig(credits=100, rpm=5)
        >>> config.credits, config.rpm, config.replace(rpm=10).rpm
        (100, 5, 10)
    """

    host: str = "127.0.0.1"
    port: int = 8000
    seed: int = 0
    # Auth
    api_keys: tuple[str, ...] = ()
    key_prefixes: tuple[str, ...] = DEFAULT_KEY_PREFIXES
    jwt_secret: str = "ainative-mock-jwt-secret-for-tests-only"  # noqa: S105 - a documented test secret, not a credential
    # Requests and replies
    default_model: str = DEFAULT_MODEL
    default_max_tokens: int = 1024
    unknown_model_status: int = 404
    accept_any_model: bool = False
    max_body_bytes: int = 1024 * 1024
    models: tuple[ModelInfo, ...] = DEFAULT_MODELS
    replies: tuple[ReplyRule, ...] = ()
    # Streaming pacing
    ttft_ms: float = 0.0
    tokens_per_second: float = 0.0
    # Errors and browsers
    error_style: str = "detail"
    cors_origins: tuple[str, ...] = ("*",)
    # Credits, limits, outages
    credits: int = 1_000_000
    plan: str = "pro"
    rpm: int = 0
    tpm: int = 0
    unavailable_models: tuple[str, ...] = ()
    # Faults
    fault_rate: float = 0.0
    faults: tuple[str, ...] = ("429", "500", "503")
    # Control API and journal
    admin_token: str | None = None
    journal_size: int = 1000
    log_level: str = "info"
    # Replay of recorded cassettes (docs/cassettes.md)
    cassettes: str | None = None
    replay: str = "strict"
    replay_speed: float = 1.0
    replay_match: tuple[str, ...] = DEFAULT_MATCH_KEYS
    # Serving: worker processes and where their shared state lives
    workers: int = 1
    state: str | None = None

    def __post_init__(self) -> None:
        _check(self)

    def replace(self, **changes: Any) -> MockConfig:
        """A copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)

    def model(self, model_id: str) -> ModelInfo | None:
        """The model table entry for ``model_id`` (any name under ``accept_any_model``), or None."""
        for info in self.models:
            if info.id == model_id:
                return info
        return any_model(model_id) if self.accept_any_model else None


def _check(config: MockConfig) -> None:
    def need(ok: bool, name: str, why: str) -> None:
        if not ok:
            raise ConfigError(f"{name}: {why}")

    need(0 <= config.port <= 65535, "port", f"{config.port} is not a port number (0..65535; 0 picks a free port)")
    need(config.error_style in ERROR_STYLES, "error_style", f"{config.error_style!r} is not one of {ERROR_STYLES}")
    need(config.unknown_model_status in (400, 403, 404, 503), "unknown_model_status", "must be 400, 403, 404 or 503")
    need(isinstance(config.accept_any_model, bool), "accept_any_model", "must be true or false")
    need(config.max_body_bytes > 0, "max_body_bytes", "must be positive")
    need(config.default_max_tokens > 0, "default_max_tokens", "must be positive")
    need(math.isfinite(config.ttft_ms) and 0 <= config.ttft_ms <= 600_000, "ttft_ms", "must be 0..600000")
    need(
        config.tokens_per_second == 0 or (math.isfinite(config.tokens_per_second) and config.tokens_per_second >= 0.01),
        "tokens_per_second",
        "must be 0 (as fast as possible) or a finite rate >= 0.01",
    )
    need(bool(config.plan.strip()), "plan", "must not be empty")
    need(config.credits >= 0, "credits", "must be >= 0")
    need(config.rpm >= 0 and config.tpm >= 0, "rpm/tpm", "must be >= 0 (0 = no limit)")
    need(0.0 <= config.fault_rate <= 1.0, "fault_rate", f"{config.fault_rate} is not in 0..1")
    need(config.journal_size > 0, "journal_size", "must be positive")
    need(config.workers >= 1, "workers", "must be >= 1")
    need(
        config.state is None or config.state.startswith(("redis://", "rediss://", "unix://")),
        "state",
        f"{config.state!r}: expected redis://HOST:PORT/DB",
    )
    need(bool(config.models), "models", "the model table is empty")
    for fault in config.faults:
        try:
            check_fault_choice(fault)
        except FaultError as exc:
            need(False, "faults", str(exc))
    need(bool(config.key_prefixes) or bool(config.api_keys), "api_keys", "no key could ever be valid")
    need(config.log_level.lower() in LOG_LEVELS, "log_level", f"{config.log_level!r} is not one of {LOG_LEVELS}")
    need(config.replay in REPLAY_MODES, "replay", f"{config.replay!r} is not one of {REPLAY_MODES}")
    need(
        math.isfinite(config.replay_speed) and config.replay_speed >= 0, "replay_speed", "must be >= 0 (0 = no delays)"
    )
    need(bool(config.replay_match) and all(config.replay_match), "replay_match", "needs at least one key")


def parse_bool(value: str) -> bool:
    """A boolean setting: true/false, yes/no, on/off or 1/0 (any case)."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a boolean (true/false)")


@dataclass(frozen=True, slots=True)
class Option:
    """One user-facing setting: its CLI flag, environment variable and file key derive from ``name``."""

    name: str
    parse: Callable[[str], Any]
    help: str
    metavar: str = "VALUE"
    is_list: bool = False
    cli: bool = True

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--tokens-per-second``."""
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        """The environment variable, e.g. ``AINATIVE_MOCK_TOKENS_PER_SECOND``."""
        return ENV_PREFIX + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "interface to bind (default 127.0.0.1)", "HOST"),
    Option("port", int, "port to bind; 0 picks a free one (default 8000)", "PORT"),
    Option("seed", int, "seed for every random choice: replies, ids' order of faults (default 0)", "N"),
    Option("api_keys", str, "accept exactly these keys instead of the prefix rule (repeatable)", "KEY", is_list=True),
    Option(
        "key_prefixes",
        str,
        "key prefixes accepted when no exact keys are set (default ak_,sk_,tmp_,zdb_live_)",
        "PREFIX",
        is_list=True,
    ),
    Option("jwt_secret", str, "HS256 secret that bearer JWTs must be signed with", "SECRET"),
    Option("default_model", str, f"model used when a request names none (default {DEFAULT_MODEL})", "MODEL"),
    Option("default_max_tokens", int, "max_tokens when a request sets none (default 1024)", "N"),
    Option(
        "unknown_model_status", int, "status for a model not in the table: 404 (default), 400, 403 or 503", "STATUS"
    ),
    Option("accept_any_model", parse_bool, "serve any model name (unknown ones at price 1, no plan gate)", "BOOL"),
    Option("max_body_bytes", int, "largest accepted request body; larger gets 413 (default 1048576)", "BYTES"),
    Option("ttft_ms", float, "streaming: milliseconds before the first content token (default 0)", "MS"),
    Option(
        "tokens_per_second", float, "streaming: content tokens per second; 0 = as fast as possible (default 0)", "RATE"
    ),
    Option("error_style", str, "error bodies: detail (FastAPI, default), openai, or compat (all fields)", "STYLE"),
    Option("cors_origins", str, "allowed browser origins (repeatable; default *)", "ORIGIN", is_list=True),
    Option("credits", int, "starting credits of every key (default 1000000)", "N"),
    Option("plan", str, "plan of every key: free, basic, pro (default) or enterprise", "PLAN"),
    Option("rpm", int, "requests per minute per key; 0 = no limit (default)", "N"),
    Option("tpm", int, "tokens per minute per key; 0 = no limit (default)", "N"),
    Option("unavailable_models", str, "answer 503 for this model (repeatable)", "MODEL", is_list=True),
    Option("fault_rate", float, "fraction 0..1 of requests that get a random fault from --faults (default 0)", "R"),
    Option(
        "faults",
        str,
        "faults the seeded generator draws from: statuses and fault names (default 429,500,503)",
        "LIST",
        is_list=True,
    ),
    Option(
        "admin_token", str, "token required by the /_mock/ control API (required when not bound to loopback)", "TOKEN"
    ),
    Option("journal_size", int, "how many requests the journal keeps (default 1000)", "N"),
    Option("log_level", str, "uvicorn log level (default info)", "LEVEL"),
    Option("cassettes", str, "replay the cassettes in this directory (or file) recorded by `proxy --record`", "DIR"),
    Option("replay", str, "a request no cassette matches: strict (a 400 naming the nearest) or fallback", "MODE"),
    Option("replay_speed", float, "time scale of replayed streams: 1 as recorded, 0 no delays (default 1)", "X"),
    Option(
        "replay_match",
        str,
        "what a request must share with a cassette (default route,model,messages,tools,stream)",
        "KEY",
        is_list=True,
    ),
    Option("workers", int, "worker processes; more than 1 needs --state (default 1)", "N"),
    Option(
        "state",
        str,
        "keep ledger, limits, queues, config and journal in Redis, shared by every worker (default: in memory)",
        "redis://HOST:PORT/DB",
    ),
    Option("models", json.loads, "the model table (config file only)", cli=False),
    Option("replies", json.loads, "reply rules (config file only)", cli=False),
)
_BY_NAME = {option.name: option for option in OPTIONS}
_UNSET_BY_DEFAULT = frozenset(f.name for f in dataclasses.fields(MockConfig) if f.default is None)
"""Settings whose default is None (no value): None coerces to None for them, not to the text "None"."""
# Singular CLI spellings that read better for repeatable flags.
CLI_ALIASES = {"unavailable_models": "--unavailable-model", "api_keys": "--api-key", "cors_origins": "--cors-origin"}


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _coerce(option: Option, value: Any, source: str) -> Any:
    """Turn a value from one source into the type MockConfig holds."""
    if value is None and option.name in _UNSET_BY_DEFAULT:
        return None
    try:
        if option.name in ("models", "replies"):
            entries = json.loads(value) if isinstance(value, str) else value  # env values are JSON text
            if not isinstance(entries, (list, tuple)):
                raise TypeError("expected a list of tables")
            if option.name == "models":
                return models_from_config(entries)
            return tuple(_reply_rule(entry) for entry in entries)
        if option.is_list:
            items: list[str] = []
            for item in value if isinstance(value, (list, tuple)) else [value]:
                items.extend(_split(str(item)))
            return tuple(option.parse(item) for item in items)
        if isinstance(value, str):
            return option.parse(value)
        if option.parse is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option.parse is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option.parse is int and isinstance(value, float) and value.is_integer():  # JSON 5.0 is the integer 5
            return int(value)
        if option.parse is parse_bool and isinstance(value, bool):
            return value
        if option.parse is str and isinstance(value, str):
            return value
        return option.parse(str(value))
    except (ValueError, TypeError, KeyError, AttributeError, re.error) as exc:
        shown = repr(value) if len(repr(value)) <= 200 else repr(value)[:199] + "…"
        raise ConfigError(f"{option.name} (from {source}): cannot use {shown}: {exc}") from None


def _reply_rule(entry: Mapping[str, Any]) -> ReplyRule:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("match"), str):
        raise ValueError(f"reply rule {entry!r} needs a string 'match'")
    unknown = set(entry) - {"match", "regex", "text", "tool_call"}
    if unknown:
        raise ValueError(f"reply rule {entry['match']!r}: unknown keys {sorted(unknown)}")
    if ("text" in entry) == ("tool_call" in entry):
        raise ValueError(f"reply rule {entry['match']!r} needs exactly one of 'text' or 'tool_call'")
    if "text" in entry and not isinstance(entry["text"], str):
        raise ValueError(f"reply rule {entry['match']!r}: text must be a string")
    tool_call = entry.get("tool_call")
    if tool_call is not None and (
        not isinstance(tool_call, Mapping)
        or not isinstance(tool_call.get("name"), str)
        or not tool_call["name"]
        or not isinstance(tool_call.get("arguments", {}), (Mapping, str))
    ):
        raise ValueError(f"reply rule {entry['match']!r}: tool_call needs a 'name' and object 'arguments'")
    regex = entry.get("regex", False)
    if not isinstance(regex, bool):
        raise ValueError(f"reply rule {entry['match']!r}: regex must be true or false")
    if regex:
        re.compile(entry["match"])  # refuse a bad pattern now, not on every request
    return ReplyRule(match=entry["match"], regex=regex, text=entry.get("text"), tool_call=tool_call)


def coerce_settings(settings: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Check and convert ``{option name: value}`` with the rules of a config file.

    Raises:
        ConfigError: an unknown name or an unusable value (the message names ``source``).
    """
    out: dict[str, Any] = {}
    for key, value in settings.items():
        option = _BY_NAME.get(key)
        if option is None:
            raise ConfigError(f"{source}: unknown setting {key!r}")
        out[key] = _coerce(option, value, source)
    return out


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) config file into a dict."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {file}: {exc.strerror}") from None
    try:
        if file.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif file.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {file}: use a .toml, .yaml or .yml file")
    except ConfigError:
        raise
    except Exception as exc:  # parse errors of either format
        raise ConfigError(f"config file {file}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {file}: expected a table of settings")
    if isinstance(data.get("mock"), dict):  # allow a [mock] table
        data = data["mock"]
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def load_config(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> MockConfig:
    """Merge settings: ``cli`` over ``env`` (``AINATIVE_MOCK_*``) over ``config_file``.

    Args:
        cli: option name to value, for the options given on the command line (None = not given).
        env: the environment; defaults to ``os.environ``.
        config_file: path of a TOML or YAML file; defaults to ``$AINATIVE_MOCK_CONFIG`` if set.

    Raises:
        ConfigError: an unknown key or an unusable value, naming the setting and its source.

    Example:
        >>> load_config({"seed": "7"}, env={"AINATIVE_MOCK_CREDITS": "50"}).seed, load_config(env={}).credits
        (7, 1000000)
        >>> load_config(env={"AINATIVE_MOCK_CREDITS": "50"}).credits
        50
    """
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    config_file = config_file or env.get(ENV_PREFIX + "CONFIG") or None
    if config_file:
        for key, value in read_config_file(config_file).items():
            option = _BY_NAME.get(key)
            if option is None:
                raise ConfigError(f"config file {config_file}: unknown setting {key!r}")
            merged[key] = _coerce(option, value, f"config file {config_file}")
    for option in OPTIONS:
        if option.env in env and env[option.env] != "":
            merged[option.name] = _coerce(option, env[option.env], option.env)
    for name, value in (cli or {}).items():
        if value is None:
            continue
        option = _BY_NAME.get(name)
        if option is None:
            raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(_BY_NAME))}")
        merged[name] = _coerce(option, value, CLI_ALIASES.get(name, option.flag))
    return MockConfig(**merged)


def config_as_dict(config: MockConfig, *, masked: bool = True) -> dict[str, Any]:
    """A JSON-ready view of ``config`` (for ``GET /_mock/config``), secrets masked.

    With ``masked=False`` the secrets are kept, and each value is one :func:`coerce_settings`
    reads back as it was (how shared state stores settings re-read from a watched file).
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name == "models":
            value = [
                {
                    "id": m.id,
                    "context_window": m.context_window,
                    "owned_by": m.owned_by,
                    "price": m.price,
                    "plans": sorted(m.plans),
                    **({} if masked else {"created": m.created, "source": m.source}),
                }
                for m in value
            ]
        elif f.name == "replies":
            value = [dataclasses.asdict(rule) for rule in value]
            if not masked:  # a rule has exactly one of text and tool_call: leave the other out
                value = [{k: v for k, v in rule.items() if v is not None} for rule in value]
        elif not masked:
            value = list(value) if isinstance(value, tuple) else value
        elif f.name == "state" and value is not None:
            parts = urlsplit(value)
            if parts.password:  # redis://:secret@host:6379/0
                value = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
        elif f.name in ("jwt_secret", "admin_token"):
            value = None if value is None else "***"
        elif f.name == "api_keys":
            from mockserver.auth import mask_secret

            value = [mask_secret(key) for key in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out
