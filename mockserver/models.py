"""The model table: which models the mock serves, their context size, price and plan gate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_MODEL", "DEFAULT_MODELS", "ModelInfo", "models_from_config"]

DEFAULT_MODEL = "claude-3-5-sonnet-20241022"


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
    """

    id: str
    context_window: int
    owned_by: str
    price: float = 1.0
    plans: frozenset[str] = field(default_factory=frozenset)
    created: int = 1729555200

    def allows(self, plan: str) -> bool:
        """Whether a key on ``plan`` may use this model."""
        return not self.plans or plan in self.plans


DEFAULT_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo("claude-3-5-sonnet-20241022", 200_000, "anthropic"),
    ModelInfo("claude-3-5-haiku-20241022", 200_000, "anthropic"),
    ModelInfo("claude-3-opus-20240229", 200_000, "anthropic", created=1709164800),
    ModelInfo("gpt-4o", 128_000, "openai", created=1715367049),
)
"""The seed document's four models, priced at 1 credit per token."""


def models_from_config(entries: Iterable[Mapping[str, Any]]) -> tuple[ModelInfo, ...]:
    """Build a model table from config-file entries (``{"id": ..., "context_window": ...}``)."""
    table = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ValueError(f"model entry {entry!r} must be a table with an 'id'")
        unknown = set(entry) - {"id", "context_window", "owned_by", "price", "plans", "created"}
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
            )
        )
    return tuple(table)
