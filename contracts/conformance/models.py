"""Pick the cheapest model a target lists, so a run spends as little as it can."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contracts.conformance.budget import FALLBACK_MODEL

__all__ = ["cheapest_model"]

_CHEAP_HINT = re.compile(r"haiku|mini|nano|flash|lite|small|(?<![0-9])[1-9]b\b", re.IGNORECASE)
_PRICE_KEYS = ("price", "credits_per_token", "pricing")


def _price(entry: Mapping[str, Any]) -> float | None:
    for key in _PRICE_KEYS:
        value = entry.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def cheapest_model(models_list: Any) -> str | None:
    """The cheapest model in a ``GET /v1/models`` body, or None when it lists none.

    The contract's models list carries no prices, so: a numeric ``price`` (or
    ``credits_per_token``) on the entries wins when present; else the seed's cheapest model
    (``claude-3-5-haiku-20241022``) if listed; else the first id that looks small
    (haiku, mini, flash, 7b...); else the first id listed.

    Example:
        >>> cheapest_model({"object": "list", "data": [{"id": "gpt-4o"}, {"id": "gpt-4o-mini"}]})
        'gpt-4o-mini'
        >>> cheapest_model({"detail": "Not Found"}) is None
        True
    """
    data = models_list.get("data") if isinstance(models_list, Mapping) else None
    if not isinstance(data, list):
        return None
    entries = [e for e in data if isinstance(e, Mapping) and isinstance(e.get("id"), str) and e["id"]]
    if not entries:
        return None
    priced = [(price, e["id"]) for e in entries if (price := _price(e)) is not None]
    if len(priced) == len(entries):
        return str(min(priced)[1])
    ids = [str(e["id"]) for e in entries]
    if FALLBACK_MODEL in ids:
        return FALLBACK_MODEL
    return next((i for i in ids if _CHEAP_HINT.search(i)), ids[0])
