"""Match journal entries against filters, and explain near misses (behind ``assert_requested``).

A filter names a field of :class:`~mockserver.journal.JournalEntry` (``path``, ``method``,
``model``, ``status``, ``stream``), ``key`` (the full key: compared with the journal's masked form),
``fault`` (a fault name, or None for no fault) or ``body`` (a mapping: each given top-level field
of the JSON body must be equal). Each check is a small function returning what differs, or None.

Example:
    >>> from mockserver.journal import JournalEntry
    >>> entry = JournalEntry(seq=1, method="POST", path="/v1/chat/completions", status=402, body={"model": "gpt-4o"})
    >>> differences(entry, {"status": 200, "body": {"model": "gpt-4o"}})
    ['status: expected 200, got 402']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mockserver.auth import mask_secret
from mockserver.journal import JournalEntry

__all__ = ["FILTERS", "check_filters", "describe", "differences", "explain_mismatch", "matching"]

_MISSING = object()


def _plain(name: str) -> Callable[[JournalEntry, Any], str | None]:
    def check(entry: JournalEntry, expected: Any) -> str | None:
        actual = getattr(entry, name)
        return None if actual == expected else f"{name}: expected {expected!r}, got {actual!r}"

    return check


def _method(entry: JournalEntry, expected: str) -> str | None:
    return None if entry.method == expected.upper() else f"method: expected {expected.upper()!r}, got {entry.method!r}"


def _key(entry: JournalEntry, expected: str | None) -> str | None:
    wanted = None if expected is None else mask_secret(expected)
    return None if entry.key == wanted else f"key: expected {wanted!r}, got {entry.key!r}"


def _fault(entry: JournalEntry, expected: str | None) -> str | None:
    actual = entry.fault["fault"] if entry.fault else None
    return None if actual == expected else f"fault: expected {expected!r}, got {actual!r}"


def _body(entry: JournalEntry, expected: Mapping[str, Any]) -> str | None:
    body = entry.body if isinstance(entry.body, dict) else {}
    for name, value in expected.items():
        actual = body.get(name, _MISSING)
        if actual != value:
            shown = "nothing" if actual is _MISSING else repr(actual)
            return f"body[{name!r}]: expected {value!r}, got {shown}"
    return None


FILTERS: dict[str, Callable[[JournalEntry, Any], str | None]] = {
    "path": _plain("path"),
    "method": _method,
    "model": _plain("model"),
    "status": _plain("status"),
    "stream": _plain("stream"),
    "key": _key,
    "fault": _fault,
    "body": _body,
}
"""Every filter ``assert_requested``/``get_request`` take, and its check."""


def check_filters(filters: Mapping[str, Any]) -> None:
    """Raise TypeError naming any filter that does not exist."""
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise TypeError(f"unknown request filter(s) {unknown}; filters: {', '.join(FILTERS)}")


def matching(entries: list[JournalEntry], filters: Mapping[str, Any]) -> list[JournalEntry]:
    """The entries matching every filter, in order."""
    check_filters(filters)
    return [entry for entry in entries if not differences(entry, filters)]


def differences(entry: JournalEntry, filters: Mapping[str, Any]) -> list[str]:
    """What differs between ``entry`` and ``filters`` (empty: it matches); TypeError for an unknown filter."""
    check_filters(filters)
    return [diff for name, value in filters.items() if (diff := FILTERS[name](entry, value)) is not None]


def describe(entry: JournalEntry) -> str:
    """One line for an entry: ``#3 POST /v1/chat/completions -> 402 (model=gpt-4o, stream=False)``."""
    fault = f", fault={entry.fault['fault']}" if entry.fault else ""
    details = f"model={entry.model}, stream={entry.stream}{fault}"
    return f"#{entry.seq} {entry.method} {entry.path} -> {entry.status} ({details})"


def explain_mismatch(
    entries: list[JournalEntry], filters: Mapping[str, Any], wanted: str, matched: list[JournalEntry], limit: int = 5
) -> str:
    """The failure message: what was wanted, how many matched, and the closest requests with what differs."""
    shown = ", ".join(
        f"{name}={mask_secret(value) if name == 'key' and value else value!r}" for name, value in filters.items()
    )
    shown = shown or "no filter"
    lines = [f"expected {wanted} request(s) matching {shown}; {len(matched)} matched"]
    lines += [f"  matched: {describe(entry)}" for entry in matched[:limit]]
    chosen = {id(entry) for entry in matched}
    misses = sorted((e for e in entries if id(e) not in chosen), key=lambda e: (len(differences(e, filters)), -e.seq))
    if not entries:
        lines.append("the mock received no request")
    elif misses:
        lines.append(f"closest of the {len(entries)} request(s) received:")
        for entry in misses[:limit]:
            lines.append(f"  {describe(entry)}: " + "; ".join(differences(entry, filters)))
        if len(misses) > limit:
            lines.append(f"  ... and {len(misses) - limit} more")
    return "\n".join(lines)
