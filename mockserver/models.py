"""The model table: which models the mock serves, their provider, context size, price and plan gate.

The catalogue is the one AINative's clients and docs document (CONTRACT-NOTES section 11);
``docs/models.md`` lists it with the source of every entry and is checked against this table
by the tests.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODELS",
    "PLANS",
    "ModelInfo",
    "any_model",
    "models_from_config",
    "suggest_models",
    "unknown_model_message",
]

DEFAULT_MODEL = "claude-3-5-sonnet-20241022"
PLANS = ("free", "basic", "pro", "enterprise")
"""The plans, cheapest first (CONTRACT-NOTES section 9)."""

_EVERY = frozenset[str]()
_BASIC_UP = frozenset({"basic", "pro", "enterprise"})
_PRO_UP = frozenset({"pro", "enterprise"})
_ENTERPRISE = frozenset({"enterprise"})


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model the mock serves.

    Attributes:
        id: the model id clients send as ``model``.
        context_window: context size in tokens (reported by the models list).
        owned_by: provider name (``owned_by`` in the models list, ``provider`` in completions).
        price: credits charged per token (prompt and completion alike).
        plans: plans allowed to use it; empty means every plan. Other plans get 403.
        created: Unix time reported by the models list.
        source: where the entry comes from (a CONTRACT-NOTES source tag), for the docs.
    """

    id: str
    context_window: int
    owned_by: str
    price: float = 1.0
    plans: frozenset[str] = field(default_factory=frozenset)
    created: int = 1729555200
    source: str = "config"

    def allows(self, plan: str) -> bool:
        """Whether a key on ``plan`` may use this model."""
        return not self.plans or plan in self.plans


def _m(
    model_id: str, context: int, provider: str, price: float, plans: frozenset[str], source: str, created: int = 0
) -> ModelInfo:
    return ModelInfo(model_id, context, provider, price, plans, created or 1729555200, source)


DEFAULT_MODELS: tuple[ModelInfo, ...] = (
    # The seed document's four (context sizes from the seed), 1 credit per token as before.
    _m("claude-3-5-sonnet-20241022", 200_000, "anthropic", 1.0, _EVERY, "SEED"),
    _m("claude-3-5-haiku-20241022", 200_000, "anthropic", 1.0, _EVERY, "SEED"),
    _m("claude-3-opus-20240229", 200_000, "anthropic", 1.0, _EVERY, "SEED", 1709164800),
    _m("gpt-4o", 128_000, "openai", 1.0, _EVERY, "SEED", 1715367049),
    # The older chat-completions docs page (128K context stated there).
    _m("meta-llama/llama-3.3-70b-instruct", 128_000, "meta", 0.5, _EVERY, "DOCS-CHAT old"),
    _m("meta-llama/llama-3.1-8b-instruct", 128_000, "meta", 0.1, _EVERY, "DOCS-CHAT old"),
    # The current docs page: code, text and reasoning models with their plan gates (Free / Basic+ / Pro+).
    _m("qwen-coder-32b", 32_768, "huggingface", 0.5, _PRO_UP, "DOCS-CHAT new"),
    _m("qwen-coder-7b", 32_768, "huggingface", 0.1, _BASIC_UP, "DOCS-CHAT new"),
    _m("nouscoder-14b", 32_768, "huggingface", 0.25, _PRO_UP, "DOCS-CHAT new"),
    _m("minimax-m2.7", 204_800, "nvidia_nim", 0.5, _PRO_UP, "DOCS-CHAT new"),
    _m("qwen-7b", 32_768, "huggingface", 0.1, _EVERY, "DOCS-CHAT new"),
    _m("gemma-2b", 32_768, "huggingface", 0.05, _EVERY, "DOCS-CHAT new"),
    _m("gemma-9b", 128_000, "huggingface", 0.25, _PRO_UP, "DOCS-CHAT new"),
    _m("llama-3.3-8b-instruct", 128_000, "meta", 0.1, _EVERY, "DOCS-CHAT new"),
    _m("llama-3.3-70b-instruct", 128_000, "meta", 0.5, _BASIC_UP, "DOCS-CHAT new"),
    _m("llama-4-maverick-17b-128e", 1_000_000, "meta", 0.5, _PRO_UP, "DOCS-CHAT new"),
    _m("deepseek-r1-distill-qwen-7b", 128_000, "huggingface", 0.1, _PRO_UP, "DOCS-CHAT new"),
    # The IDE's "current coding model IDs".
    _m("gpt-5.3-codex", 400_000, "openai", 2.0, _EVERY, "IDE-NOTES"),
    _m("qwen3-coder-30b-a3b", 262_144, "huggingface", 0.25, _EVERY, "IDE-NOTES"),
    _m("claude-sonnet-4.5", 200_000, "anthropic", 1.5, _EVERY, "IDE-NOTES"),
    _m("claude-sonnet-4.6", 200_000, "anthropic", 1.5, _EVERY, "IDE-NOTES"),
    _m("claude-opus-4.5", 200_000, "anthropic", 5.0, _EVERY, "IDE-NOTES"),
    _m("claude-opus-4.6", 200_000, "anthropic", 5.0, _EVERY, "IDE-NOTES"),
    # The OpenAI-compatible clients (ainative-openai README, the AI SDK provider).
    _m("meta-llama/Llama-3.3-70B-Instruct", 128_000, "meta", 0.5, _EVERY, "PY-OAI, AISDK"),
    _m("qwen3-coder-flash", 1_000_000, "alibaba", 0.25, _EVERY, "PY-OAI, AISDK"),
    _m("deepseek-4-flash", 128_000, "deepseek", 0.25, _EVERY, "PY-OAI, AISDK"),
    _m("kimi-k2", 128_000, "moonshot", 0.5, _EVERY, "PY-OAI, AISDK"),
    # The SDK README's plan tiers (free llama-3.3-8b-instruct ... enterprise claude-opus-4).
    _m("claude-opus-4", 200_000, "anthropic", 5.0, _ENTERPRISE, "SDK README"),
)
"""The catalogue of CONTRACT-NOTES section 11 (see ``docs/models.md`` for the source of each entry)."""


def any_model(model_id: str) -> ModelInfo:
    """The entry served for a name outside the table under ``accept_any_model``: price 1, no gate."""
    return ModelInfo(model_id, 128_000, "ainative", 1.0, _EVERY, source="accept_any_model")


def suggest_models(model_id: str, models: Sequence[ModelInfo], count: int = 5) -> list[str]:
    """A few known model ids to name when ``model_id`` is unknown: the closest spellings first.

    Example:
        >>> suggest_models("gpt-4", DEFAULT_MODELS, 3)
        ['gpt-4o', 'claude-3-5-sonnet-20241022', 'claude-3-5-haiku-20241022']
    """
    ids = [m.id for m in models]
    close = difflib.get_close_matches(model_id, ids, n=count, cutoff=0.6)
    lowered = {i.lower(): i for i in ids}
    if model_id.lower() in lowered and lowered[model_id.lower()] not in close:
        close.insert(0, lowered[model_id.lower()])
    for known in ids:
        if len(close) >= count:
            break
        if known not in close:
            close.append(known)
    return close[:count]


def unknown_model_message(model_id: str, models: Sequence[ModelInfo]) -> str:
    """The error message for a model that is not in the table, naming a few known ones."""
    shown = model_id if len(model_id) <= 100 else model_id[:99] + "…"
    known = ", ".join(suggest_models(model_id, models))
    return f"The model '{shown}' does not exist. Known models include: {known} (GET /v1/models lists them all)."


def models_from_config(entries: Iterable[Mapping[str, Any]]) -> tuple[ModelInfo, ...]:
    """Build a model table from config-file entries (``{"id": ..., "context_window": ...}``)."""
    table = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ValueError(f"model entry {entry!r} must be a table with an 'id'")
        unknown = set(entry) - {"id", "context_window", "owned_by", "price", "plans", "created", "source"}
        if unknown:
            raise ValueError(f"model {entry.get('id')!r}: unknown keys {sorted(unknown)}")
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            raise ValueError(f"model entry {dict(entry)!r} needs a non-empty string id")
        table.append(
            ModelInfo(
                id=entry["id"],
                context_window=int(entry.get("context_window", 128_000)),
                owned_by=str(entry.get("owned_by", "ainative")),
                price=float(entry.get("price", 1.0)),
                plans=frozenset(entry.get("plans", ())),
                created=int(entry.get("created", 1729555200)),
                source=str(entry.get("source", "config")),
            )
        )
    return tuple(table)
