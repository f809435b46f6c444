"""Request bodies generated from the OpenAPI document by schemathesis, tamed for a budget.

Positive bodies match ``chat-request``; negative bodies do not. Both get the run's model and
``max_tokens`` forced in (negative ones only while they stay invalid), strings cut short and
``max_iterations`` pinned to 1, so a generated request costs no more than a hand-written one.

Positive bodies also follow the rules the contract states but JSON Schema cannot express, as
OpenAI-compatible servers enforce them: a ``tool_choice`` that names a function names one of the
``tools``, and tool ``parameters`` / ``input_schema`` and ``response_format.json_schema.schema`` are
small, satisfiable JSON Schemas (generated ones are arbitrary objects). Without that, a correct
server's 400 for a tool it was never offered would read as the contract being laxer than the target.
Generation is deterministic for a given seed and cached per process.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import contracts

__all__ = ["CHAT_OPERATION", "consistent_body", "generated_bodies", "tame_negative", "tame_positive"]

CHAT_OPERATION = ("/api/v1/chat/completions", "POST")
"""The operation whose request schema generation follows (every chat alias shares it)."""

_MAX_STRING = 64
_MAX_ITEMS = 4
_NOT_JSON = object()


def _trim(value: Any) -> Any:
    """Cut strings and lists short and drop code points JSON cannot carry (lone surrogates)."""
    if isinstance(value, str):
        cleaned = "".join(ch for ch in value if not 0xD800 <= ord(ch) <= 0xDFFF)
        return cleaned[:_MAX_STRING]
    if isinstance(value, list):
        return [_trim(item) for item in value[:_MAX_ITEMS]]
    if isinstance(value, dict):
        return {_trim(k): _trim(v) for k, v in list(value.items())[: _MAX_ITEMS * 4]}
    return value


def _force(body: dict[str, Any], model: str, max_tokens: int) -> dict[str, Any]:
    forced = dict(body)
    forced["model"] = model
    forced["max_tokens"] = max_tokens
    if forced.get("preferred_model") is not None:
        forced["preferred_model"] = model
    if "tools" in forced or "max_iterations" in forced:
        forced["max_iterations"] = 1
    return forced


TOOL_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"query": {"type": "string"}}}
"""The schema put in generated valid tools and structured-output requests."""


def consistent_body(body: dict[str, Any]) -> dict[str, Any]:
    """Make a valid body follow the cross-field rules JSON Schema cannot state (see the module docstring)."""
    out = dict(body)
    names: list[str] = []
    if isinstance(out.get("tools"), list):
        tools = []
        for given in out["tools"]:
            tool = given
            if isinstance(given, dict) and isinstance(given.get("function"), dict):
                tool = {**given, "function": {**given["function"], "parameters": TOOL_SCHEMA}}
                names.append(str(given["function"].get("name")))
            elif isinstance(given, dict) and "input_schema" in given:
                tool = {**given, "input_schema": TOOL_SCHEMA}
                names.append(str(given.get("name")))
            tools.append(tool)
        out["tools"] = tools
    choice = out.get("tool_choice")
    if isinstance(choice, dict):
        function = choice.get("function")
        function = function if isinstance(function, dict) else {}
        if function.get("name") not in names:
            out["tool_choice"] = {**choice, "function": {**function, "name": names[0]}} if names else "auto"
    response_format = out.get("response_format")
    if isinstance(response_format, dict) and isinstance(response_format.get("json_schema"), dict):
        out["response_format"] = {
            **response_format, "json_schema": {**response_format["json_schema"], "schema": TOOL_SCHEMA}
        }  # fmt: skip
    return out


def tame_positive(body: Any, model: str, max_tokens: int) -> dict[str, Any] | None:
    """A valid, cheap version of a generated valid body, or None when taming broke it.

    Example:
        >>> tame_positive({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 9000}, "m", 16)
        {'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 16, 'model': 'm'}
    """
    if not isinstance(body, dict):
        return None
    tamed = consistent_body(_force(_trim(body), model, max_tokens))
    return tamed if not contracts.errors_for("chat-request", tamed) else None


def tame_negative(body: Any, model: str, max_tokens: int) -> Any:
    """A still-invalid, cheap version of a generated invalid body (None when none exists).

    Non-object bodies and raw bytes are returned as they are (a server cannot bill them).
    """
    if isinstance(body, bytes):
        return body
    if not isinstance(body, dict):
        return body if contracts.errors_for("chat-request", body) else None
    trimmed = _trim(body)
    forced = _force(trimmed, model, max_tokens)
    if contracts.errors_for("chat-request", forced):
        return forced
    return None


@contextlib.contextmanager
def _without_local_constants() -> Iterator[None]:
    """Keep Hypothesis from mixing literals of the process's own modules into generated data.

    Hypothesis (since 6.1xx) draws some values from constants found in every non-installed module
    loaded in the process, so the same seed gave different requests depending on what else was
    imported (the mock, the user's tests...). A run must send the same requests for the same seed.
    Uses Hypothesis internals; if they move, generation still works, only less reproducibly.
    """
    try:
        from hypothesis.internal.cache import LRUCache
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants

        saved = (providers._get_local_constants, providers.CONSTANTS_CACHE)
    except (ImportError, AttributeError):  # pragma: no cover - a Hypothesis without the feature
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE = LRUCache(1024)
    try:
        yield
    finally:
        providers._get_local_constants, providers.CONSTANTS_CACHE = saved


@cache
def _drawn(mode: str, count: int, seed: int) -> tuple[str, ...]:
    """``count`` bodies drawn by schemathesis in ``mode``, JSON-encoded (bytes bodies as latin-1 marked)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    # An explicit config: never pick up a schemathesis.toml (and its hooks) from the working directory.
    schema = schemathesis.openapi.from_dict(contracts.load_openapi(), config=schemathesis.Config())
    path, method = CHAT_OPERATION
    operation = schema[path][method]
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
    drawn: list[str] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Any) -> None:
        body = case.body
        if isinstance(body, bytes):
            drawn.append("b:" + body.decode("latin-1"))
        else:
            drawn.append("j:" + json.dumps(body, default=str))

    with _without_local_constants():
        collect()
    return tuple(drawn)


def _decode(item: str) -> Any:
    kind, text = item[:2], item[2:]
    return text.encode("latin-1") if kind == "b:" else json.loads(text)


def generated_bodies(mode: str, count: int, *, model: str, max_tokens: int, seed: int = 0) -> list[Any]:
    """Up to ``count`` distinct tamed bodies of ``mode`` (``"positive"`` or ``"negative"``).

    Args:
        mode: ``"positive"`` for bodies the contract accepts, ``"negative"`` for bodies it rejects.
        count: how many bodies are wanted.
        model: the model forced into every body.
        max_tokens: the ``max_tokens`` forced into every body.
        seed: the Hypothesis seed; the same seed gives the same bodies.

    Returns:
        Distinct bodies (JSON values, or bytes for raw negative bodies); fewer than ``count``
        when generation could not find enough.
    """
    if count <= 0:
        return []
    tame = tame_positive if mode == "positive" else tame_negative
    out: list[Any] = []
    seen: set[str] = set()
    pool = count * 3 + 4 if mode == "negative" else count * 2 + 2
    for item in _drawn(mode, pool, seed):
        tamed = tame(_decode(item), model, max_tokens)
        if tamed is None:
            continue
        key = repr(tamed) if isinstance(tamed, bytes) else json.dumps(tamed, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        out.append(tamed)
        if len(out) == count:
            break
    return out


def is_mapping(value: Any) -> bool:
    """Whether ``value`` is a JSON object."""
    return isinstance(value, Mapping)
