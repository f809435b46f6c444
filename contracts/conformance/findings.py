"""Findings: what a clause saw that matters, at which level, about which line of the contract.

A finding is **failed** when the target breaks a promise clients rely on, and a **warning** when
the target only accepts a request the contract calls invalid (the contract is stricter than the
target there). Each finding names the schema paths it concerns, as
``chat-request: messages[].tool_calls[].function.name minLength``, so a maintainer knows which
line of the contract to loosen or tighten. Findings that show a disagreement between the target
and the contract carry a direction; the drift summary counts them per schema path.

Example:
    >>> error_schema_paths("chat-request", {"messages": []})
    ('chat-request: messages minItems',)
    >>> drift_summary([Finding("warning", "[fuzz-negative-0] ...", "fuzz-negative-0",
    ...                        ("chat-request: messages minItems",), CONTRACT_STRICTER)])
    (DriftEntry(schema_path='chat-request: messages minItems', direction='contract-stricter', cases=1),)
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import contracts

__all__ = [
    "CONTRACT_LAXER",
    "CONTRACT_STRICTER",
    "DIRECTIONS",
    "DriftEntry",
    "Finding",
    "drift_summary",
    "error_schema_paths",
    "target_rejection_paths",
]

CONTRACT_STRICTER = "contract-stricter"
"""The target accepted a request the contract calls invalid (a warning)."""

CONTRACT_LAXER = "contract-laxer"
"""The target rejected, as invalid, a request the contract calls valid (a failure: the mock is too lax)."""

DIRECTIONS = {
    CONTRACT_STRICTER: "target accepts what the contract rejects",
    CONTRACT_LAXER: "target rejects what the contract accepts",
}
"""Each drift direction in words."""

UNNAMED_PATH = "(path not named by the target)"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a clause found.

    Attributes:
        level: ``"failed"`` or ``"warning"``.
        evidence: what was seen, naming the request (``[fuzz-negative-3] ...``).
        label: the label of the request that shows it.
        schema_paths: the contract lines concerned, ``"<schema>: <path> <keyword>"``.
        direction: :data:`CONTRACT_STRICTER` or :data:`CONTRACT_LAXER` when the finding is a
            disagreement between the target and the contract; None otherwise.
    """

    level: str
    evidence: str
    label: str = ""
    schema_paths: tuple[str, ...] = ()
    direction: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Rebuild a finding from its ``asdict`` form."""
        return cls(
            level=data["level"],
            evidence=data["evidence"],
            label=data.get("label", ""),
            schema_paths=tuple(data.get("schema_paths", ())),
            direction=data.get("direction"),
        )


@dataclass(frozen=True, slots=True)
class DriftEntry:
    """One schema path where the target and the contract disagreed.

    Attributes:
        schema_path: the contract line, ``"<schema>: <path> <keyword>"``.
        direction: :data:`CONTRACT_STRICTER` or :data:`CONTRACT_LAXER`.
        cases: how many requests showed the disagreement.
    """

    schema_path: str
    direction: str
    cases: int


def render_location(location: Sequence[str | int]) -> str:
    """``("messages", 0, "content")`` as ``messages[].content`` (array indexes fold to ``[]``).

    Example:
        >>> render_location(("messages", 2, "tool_calls", 0, "function", "name"))
        'messages[].tool_calls[].function.name'
        >>> render_location(())
        '(body)'
    """
    out = ""
    for part in location:
        if isinstance(part, int):
            out += "[]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(body)"


def error_schema_paths(schema: str, instance: Any) -> tuple[str, ...]:
    """The contract lines ``instance`` breaks in ``schema``, each once, in path order.

    A body that is not JSON at all (raw bytes) breaks the schema at its root.
    """
    if isinstance(instance, (bytes, bytearray)):
        try:
            instance = json.loads(instance)
        except ValueError:
            return (f"{schema}: (body) not JSON",)
    paths = (f"{schema}: {render_location(e.location)} {e.keyword}" for e in contracts.errors_for(schema, instance))
    return tuple(dict.fromkeys(paths))


_INDEX = re.compile(r"\[[0-9]+\]|\.[0-9]+(?=\.|$)")


def target_rejection_paths(schema: str, body: bytes) -> tuple[str, ...]:
    """The fields a target's validation error names, as contract lines of ``schema``.

    Reads FastAPI/pydantic ``{"detail": [{"loc": [...], "type": ...}]}`` and OpenAI
    ``{"error": {"param": ..., "code": ...}}`` bodies; a body that names no field gives one
    ``(path not named by the target)`` entry.

    Example:
        >>> body = b'{"detail": [{"loc": ["body", "messages", 0, "name"], "type": "string_too_long"}]}'
        >>> target_rejection_paths("chat-request", body)
        ('chat-request: messages[].name (target: string_too_long)',)
    """
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    found: list[str] = []
    if isinstance(data, Mapping):
        detail = data.get("detail")
        if isinstance(detail, list):
            for item in detail:
                if isinstance(item, Mapping) and isinstance(item.get("loc"), list):
                    loc = [p for p in item["loc"] if isinstance(p, (str, int)) and not isinstance(p, bool)]
                    if loc and loc[0] == "body":
                        loc = loc[1:]
                    kind = item.get("type")
                    suffix = f" (target: {kind})" if isinstance(kind, str) and kind else ""
                    found.append(f"{schema}: {render_location(loc)}{suffix}")
        error = data.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("param"), str) and error["param"]:
            param = _INDEX.sub("[]", error["param"])
            code = error.get("code")
            suffix = f" (target: {code})" if isinstance(code, str) and code else ""
            found.append(f"{schema}: {param}{suffix}")
    return tuple(dict.fromkeys(found)) or (f"{schema}: {UNNAMED_PATH}",)


def drift_summary(findings: Iterable[Finding]) -> tuple[DriftEntry, ...]:
    """Count, per schema path and direction, the requests where the target and the contract disagreed."""
    counts: Counter[tuple[str, str]] = Counter()
    for finding in findings:
        if finding.direction is None:
            continue
        for path in finding.schema_paths:
            counts[(path, finding.direction)] += 1
    ordered = sorted(counts.items(), key=lambda item: (item[0][1], -item[1], item[0][0]))
    return tuple(DriftEntry(path, direction, cases) for (path, direction), cases in ordered)
