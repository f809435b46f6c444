"""Judge one observed exchange (proxied or recorded traffic) with the clauses that ``check`` uses.

``check`` plans its own requests and labels them; traffic someone else sent has no labels. This
module gives an exchange the labels its shape deserves (a 200 chat completion is ``chat-json``
or ``chat-stream``, a 200 balance is ``balance``...) and runs every clause of
:data:`~contracts.conformance.clauses.CLAUSES` on it: the same judges, the same evidence.
One check has no clause in ``check`` because ``check`` only sends bodies it built:
``request.schema``, a chat request body that breaks ``chat-request``.

Example:
    >>> request = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    >>> findings = judge_exchange("POST", "/v1/chat/completions", request, 429, {}, b"{}")
    >>> sorted(f.clause for f in findings)
    ['errors.body-schema', 'rate-limit.retry-after']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import contracts
from contracts.conformance.clauses import CLAUSES, Status
from contracts.conformance.client import Exchange, PlannedRequest
from contracts.conformance.observations import Observations, RunSettings

__all__ = ["REQUEST_SCHEMA_CLAUSE", "Finding", "documented_statuses", "judge_exchange", "operation_of"]

REQUEST_SCHEMA_CLAUSE = "request.schema"
"""Clause id of a chat request body that does not match ``chat-request``."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One way an exchange breaks the contract.

    Attributes:
        clause: the clause id (``stream.grammar``...), or :data:`REQUEST_SCHEMA_CLAUSE`.
        evidence: what was seen, as the clause words it.
        level: ``"failed"`` (a promise broken) or ``"warning"`` (the target accepted what the contract
            calls invalid: the contract is stricter than the target).
    """

    clause: str
    evidence: str
    level: str = "failed"


@cache
def _operations() -> dict[tuple[str, str], tuple[str, frozenset[int]]]:
    """(METHOD, path) -> (operation kind, documented statuses), from the OpenAPI document."""
    out: dict[tuple[str, str], tuple[str, frozenset[int]]] = {}
    for path, item in contracts.load_openapi()["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, Mapping) or "responses" not in operation:
                continue
            kind = "chat" if path.endswith("/chat/completions") else "balance" if "credits" in path else "models"
            statuses = frozenset(int(code) for code in operation["responses"] if code.isdigit())
            out[(method.upper(), path)] = (kind, statuses)
    return out


def operation_of(method: str, path: str) -> str | None:
    """``"chat"``, ``"balance"`` or ``"models"`` for a route of the contract, else None.

    Example:
        >>> operation_of("POST", "/api/v1/chat/completions"), operation_of("GET", "/health")
        ('chat', None)
    """
    found = _operations().get((method.upper(), path.rstrip("/") or "/"))
    return found[0] if found else None


def documented_statuses(method: str, path: str) -> frozenset[int]:
    """Statuses the contract documents for a route (empty for a route it does not know)."""
    found = _operations().get((method.upper(), path.rstrip("/") or "/"))
    return found[1] if found else frozenset()


def _labels(kind: str | None, body: Any, status: int, request_ok: bool) -> list[str]:
    if kind == "chat":
        labels = []
        if status == 200 and isinstance(body, Mapping):
            labels.append("chat-stream" if body.get("stream") is True else "chat-json")
        if not request_ok:
            labels.append("fuzz-negative")
        elif status not in (200, 401):  # a body refused for its credentials says nothing about the body
            labels.append("fuzz-positive")
        return labels
    if kind in ("balance", "models") and status == 200:
        return [kind]
    return ["observed"]


def judge_exchange(
    method: str,
    path: str,
    request_body: bytes,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
) -> list[Finding]:
    """Every contract clause that this one exchange breaks (empty when it conforms).

    Args:
        method: the request method.
        path: the request path (no query).
        request_body: the request body as sent.
        status: the response status.
        headers: the response headers (names in any case).
        body: the whole response body (for a stream, every byte of it).
    """
    findings: list[Finding] = []
    kind = operation_of(method, path)
    parsed: Any = None
    request_ok = True
    if kind == "chat":
        try:
            parsed = json.loads(request_body) if request_body else None
        except ValueError:
            parsed = None
        errors = contracts.errors_for("chat-request", parsed)
        if errors:
            request_ok = False
            listed = "; ".join(e.message for e in errors[:3])
            findings.append(
                Finding(REQUEST_SCHEMA_CLAUSE, f"{method} {path}: request body breaks chat-request: {listed}")
            )
    lowered = {k.lower(): v for k, v in headers.items()}
    exchanges = [
        Exchange(PlannedRequest(label, method, path, {}, parsed if parsed is not None else request_body), path, status,
                 lowered, body)
        for label in _labels(kind, parsed, status, request_ok)
    ]  # fmt: skip
    observations = Observations(
        exchanges, settings=RunSettings(documented_chat_statuses=documented_statuses(method, path))
    )
    for clause in CLAUSES.values():
        verdict = clause.evaluate(observations)
        if verdict.status in (Status.FAILED, Status.WARNING):
            findings.append(Finding(clause.id, verdict.evidence, verdict.status.value))
    return findings
