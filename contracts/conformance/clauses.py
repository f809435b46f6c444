"""The contract's clauses: small named judges of what a run observed.

Each clause has a stable id, a one-line description and a function from
:class:`~contracts.conformance.observations.Observations` to a :class:`Verdict`.

Example:
    >>> from contracts.conformance.clauses import CLAUSES
    >>> CLAUSES["auth.missing-key"].description
    'A chat request without credentials gets 401'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import contracts
from contracts.conformance.client import Exchange
from contracts.conformance.findings import (
    CONTRACT_LAXER,
    CONTRACT_STRICTER,
    Finding,
    error_schema_paths,
    target_rejection_paths,
)
from contracts.conformance.observations import Observations, chunk_objects, stream_chunks
from contracts.conformance.sse import framing_problems, grammar_problems
from contracts.usage import usage_problem

__all__ = ["CLAUSES", "CONCERNS", "USES", "Clause", "Status", "Verdict", "clause"]

RETRY_AFTER = re.compile(r"^[0-9]+$")
BALANCE_TOLERANCE = 0.01
ACCEPTED_FOR_VALID = frozenset({402, 403, 404, 413, 429})
"""Statuses a valid request may get besides 2xx: documented, and not a verdict on the request itself."""

VALIDATION_STATUSES = frozenset({400, 422})
"""Statuses that say "this request is invalid"."""


class Status(str, Enum):
    """Outcome of one clause.

    ``WARNING``: the clause was judged and every promise clients rely on held, but the target
    accepted requests the contract calls invalid (the contract is stricter than the target).
    """

    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A clause's judgement.

    Attributes:
        status: passed, failed or skipped.
        evidence: what was seen (for a skip: why it could not be judged).
        exchange: for a failure or warning, the exchange that shows it (its request becomes a curl repro).
        findings: each failure or warning seen, with the schema paths it concerns.
    """

    status: Status
    evidence: str
    exchange: Exchange | None = None
    findings: tuple[Finding, ...] = ()


Judge = Callable[[Observations], Verdict]


@dataclass(frozen=True, slots=True)
class Clause:
    """A named rule of the contract.

    Attributes:
        id: stable identifier (``area.rule``), used in reports, JUnit and pytest ids.
        description: the rule in one line.
        judge: the function that decides it.
        concerns: the contract line a finding of this clause concerns when it names no
            narrower schema path (``"usage: total_tokens = prompt_tokens + completion_tokens"``).
        uses: label prefixes of the planned requests the clause needs (its share of the budget).
    """

    id: str
    description: str
    judge: Judge
    concerns: str = ""
    uses: tuple[str, ...] = ()

    def evaluate(self, observations: Observations) -> Verdict:
        """Judge ``observations``; a judge that crashes yields a failed verdict, not an exception."""
        try:
            verdict = self.judge(observations)
        except Exception as exc:
            verdict = failed(f"could not judge: {type(exc).__name__}: {exc}")
        if any(not f.schema_paths for f in verdict.findings):
            named = tuple(replace(f, schema_paths=f.schema_paths or (self.concerns,)) for f in verdict.findings)
            verdict = replace(verdict, findings=named)
        return verdict


CLAUSES: dict[str, Clause] = {}
"""Every clause, by id, in report order."""

CONCERNS = {
    "chat.response-schema": "chat-completion",
    "chat.usage-sum": "usage: total_tokens = prompt_tokens + completion_tokens",
    "stream.framing": "openapi: chat 200 text/event-stream framing",
    "stream.chunk-schema": "chat-completion-chunk",
    "stream.grammar": "chat-completion-chunk: stream order (role first, one finish_reason, [DONE] last)",
    "auth.missing-key": "openapi: chat security (401 without credentials)",
    "auth.malformed-key": "openapi: chat security (401 for a malformed key)",
    "auth.jwt": "openapi: credits balance security (Bearer JWT)",
    "errors.body-schema": "error",
    "credits.balance-schema": "credits-balance",
    "credits.balance-arithmetic": "credits-balance: remaining_credits = max(0, total_credits - used_credits)",
    "credits.balance-decreases": "credits-balance: used_credits grows after a paid call",
    "rate-limit.retry-after": "openapi: 429 Retry-After header",
    "models.list-schema": "models-list",
    "fuzz.invalid-rejected": "chat-request",
    "fuzz.valid-accepted": "chat-request",
}
"""The contract line each clause holds the target to (findings name narrower paths where they can)."""

USES = {
    "chat.response-schema": ("chat-json",),
    "chat.usage-sum": ("chat-json", "chat-stream"),
    "stream.framing": ("chat-stream",),
    "stream.chunk-schema": ("chat-stream",),
    "stream.grammar": ("chat-stream",),
    "auth.missing-key": ("auth-missing",),
    "auth.malformed-key": ("auth-malformed",),
    "auth.jwt": ("auth-jwt",),
    "errors.body-schema": (),
    "credits.balance-schema": ("balance",),
    "credits.balance-arithmetic": ("balance",),
    "credits.balance-decreases": ("balance", "paid-chat", "balance-after"),
    "rate-limit.retry-after": ("rate-limit-probe",),
    "models.list-schema": ("models",),
    "fuzz.invalid-rejected": ("fuzz-negative",),
    "fuzz.valid-accepted": ("fuzz-positive",),
}
"""The planned requests (label prefixes) each clause needs; clauses also judge whatever else the run saw.

``errors.body-schema`` needs none of its own: it judges every error response of the run.
"""


def clause(clause_id: str, description: str) -> Callable[[Judge], Judge]:
    """Register the decorated function as the judge of clause ``clause_id``."""

    def register(judge: Judge) -> Judge:
        if clause_id in CLAUSES:
            raise ValueError(f"clause {clause_id!r} registered twice")
        CLAUSES[clause_id] = Clause(clause_id, description, judge, CONCERNS.get(clause_id, ""), USES.get(clause_id, ()))
        return judge

    return register


def passed(evidence: str) -> Verdict:
    """A passed verdict."""
    return Verdict(Status.PASSED, evidence)


def failed(evidence: str, exchange: Exchange | None = None) -> Verdict:
    """A failed verdict, with the exchange that shows it (one finding, on the clause's own rule)."""
    label = exchange.request.label if exchange is not None else ""
    shown = f"[{label}] {evidence}" if label and not evidence.startswith("[") else evidence
    return Verdict(Status.FAILED, evidence, exchange, (Finding("failed", shown, label),))


def skipped(reason: str) -> Verdict:
    """A skipped verdict: the clause does not apply to this run."""
    return Verdict(Status.SKIPPED, reason)


def _body_json(exchange: Exchange) -> tuple[Any, str | None]:
    try:
        return exchange.json(), None
    except ValueError:
        return None, f"{exchange.summary()}: body is not JSON: {exchange.body[:80]!r}"


def _expect_status(exchange: Exchange, status: int) -> str | None:
    if exchange.status == status:
        return None
    if exchange.status is None:
        return f"{exchange.summary()}, expected {status}"
    return f"{exchange.summary()}, expected {status}: {exchange.body[:120]!r}"


def _schema_problems(name: str, instance: Any) -> str:
    errors = contracts.errors_for(name, instance)
    return "; ".join(e.message for e in errors[:3]) + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else "")


Bad = list[tuple[Exchange, str, tuple[str, ...]]]
"""Problems seen: (exchange, what is wrong, schema paths concerned; empty means the clause's own rule)."""


def _first_failure(results: Bad, checked: int, what: str) -> Verdict:
    if not results:
        return passed(f"{checked} {what} checked")
    findings = tuple(
        Finding("failed", f"[{e.request.label}] {problem}", e.request.label, paths) for e, problem, paths in results
    )
    exchange, problem, _ = results[0]
    more = f" (and {len(results) - 1} more)" if len(results) > 1 else ""
    return Verdict(Status.FAILED, f"[{exchange.request.label}] {problem}{more}", exchange, findings)


@clause("chat.response-schema", "A non-streaming chat completion answers 200 with a body matching chat-completion")
def chat_response_schema(obs: Observations) -> Verdict:
    """The canonical JSON completion is 200 and valid; so is every other JSON 200 completion seen."""
    main = obs.get("chat-json")
    if main is None:
        return skipped(obs.why_missing("chat-json"))
    if problem := _expect_status(main, 200):
        return failed(problem, main)
    bad: Bad = []
    checked = obs.json_completions()
    for exchange in checked:
        body, problem = _body_json(exchange)
        if problem is None and (schema_problem := _schema_problems("chat-completion", body)):
            bad.append((exchange, schema_problem, error_schema_paths("chat-completion", body)))
        elif problem:
            bad.append((exchange, problem, ("chat-completion: (body) not JSON",)))
    return _first_failure(bad, len(checked), "JSON completion(s)")


@clause("chat.usage-sum", "usage.total_tokens equals prompt_tokens + completion_tokens (JSON and stream usage)")
def chat_usage_sum(obs: Observations) -> Verdict:
    """Token arithmetic holds in every usage object seen."""
    bad: Bad = []
    seen = 0
    for exchange in obs.json_completions():
        body, _ = _body_json(exchange)
        if isinstance(body, Mapping) and "usage" in body:
            seen += 1
            if problem := usage_problem(body["usage"]):
                bad.append((exchange, f"{problem} in {dict(body['usage'])}", ()))
    for exchange in obs.streams():
        for chunk in chunk_objects(stream_chunks(exchange)):
            if isinstance(chunk.get("usage"), Mapping):
                seen += 1
                if problem := usage_problem(chunk["usage"]):
                    bad.append((exchange, f"{problem} in {dict(chunk['usage'])}", ()))
    if not seen and not bad:
        return skipped("no usage object observed" + _missing_note(obs, "chat-json"))
    return _first_failure(bad, seen, "usage object(s)")


def _missing_note(obs: Observations, label: str) -> str:
    return f" ({obs.unsent[label]})" if label in obs.unsent else ""


StreamJudge = Callable[[Exchange], tuple[str, tuple[str, ...]] | str | None]


def _stream_verdict(obs: Observations, judge: StreamJudge, what: str) -> Verdict:
    main = obs.get("chat-stream")
    if main is None:
        return skipped(obs.why_missing("chat-stream"))
    if problem := _expect_status(main, 200):
        return failed(problem, main)
    bad: Bad = []
    streams = obs.streams()
    for exchange in streams:
        if found := judge(exchange):
            bad.append((exchange, found, ()) if isinstance(found, str) else (exchange, *found))
    return _first_failure(bad, len(streams), what)


@clause("stream.framing", "A streamed completion is text/event-stream framed as 'data: <one-line JSON>' + blank line")
def stream_framing(obs: Observations) -> Verdict:
    """Content type and byte framing of every stream seen."""

    def judge(exchange: Exchange) -> str | None:
        problems = framing_problems(exchange.headers.get("content-type"), exchange.body)
        return "; ".join(problems[:3]) if problems else None

    return _stream_verdict(obs, judge, "stream(s)")


@clause("stream.chunk-schema", "Every streamed chunk matches chat-completion-chunk (an error frame, error-openai)")
def stream_chunk_schema(obs: Observations) -> Verdict:
    """Each JSON payload of every stream seen validates."""

    def judge(exchange: Exchange) -> tuple[str, tuple[str, ...]] | None:
        for index, chunk in enumerate(chunk_objects(stream_chunks(exchange))):
            schema = "error-openai" if "error" in chunk and "choices" not in chunk else "chat-completion-chunk"
            if problem := _schema_problems(schema, chunk):
                return f"chunk {index}: {problem}", error_schema_paths(schema, chunk)
        return None

    return _stream_verdict(obs, judge, "stream(s)")


@clause(
    "stream.grammar",
    "Stream order: role first, one id/created, deltas, one finish_reason, then only usage, [DONE] last",
)
def stream_grammar(obs: Observations) -> Verdict:
    """Order of chunks in every stream seen."""

    def judge(exchange: Exchange) -> str | None:
        problems = grammar_problems(stream_chunks(exchange))
        return "; ".join(problems[:3]) if problems else None

    return _stream_verdict(obs, judge, "stream(s)")


def _status_clause(obs: Observations, label: str, status: int) -> Verdict:
    exchange = obs.get(label)
    if exchange is None:
        return skipped(obs.why_missing(label))
    if problem := _expect_status(exchange, status):
        return failed(problem, exchange)
    return passed(exchange.summary())


@clause("auth.missing-key", "A chat request without credentials gets 401")
def auth_missing_key(obs: Observations) -> Verdict:
    """No X-API-Key and no Authorization header: 401."""
    return _status_clause(obs, "auth-missing", 401)


@clause("auth.malformed-key", "A chat request with a malformed API key gets 401")
def auth_malformed_key(obs: Observations) -> Verdict:
    """A key of no known shape: 401."""
    return _status_clause(obs, "auth-malformed", 401)


@clause("auth.jwt", "A JWT sent as 'Authorization: Bearer' is accepted (the balance answers 200)")
def auth_jwt(obs: Observations) -> Verdict:
    """Only with --jwt."""
    if not obs.settings.jwt_given:
        return skipped("not applicable: no --jwt given")
    return _status_clause(obs, "auth-jwt", 200)


@clause("errors.body-schema", "Every 4xx/5xx response carries a JSON body matching the error schema")
def errors_body_schema(obs: Observations) -> Verdict:
    """FastAPI ``{"detail": ...}`` or OpenAI ``{"error": {...}}`` on every error seen."""
    errors = [e for e in obs.exchanges if e.status is not None and e.status >= 400 and e.request.judge_errors]
    if not errors:
        return skipped("no error response observed")
    bad: Bad = []
    for exchange in errors:
        body, problem = _body_json(exchange)
        if problem is None and (schema_problem := _schema_problems("error", body)):
            bad.append((exchange, f"{exchange.summary()}: {schema_problem}", error_schema_paths("error", body)))
        elif problem:
            bad.append((exchange, problem, ("error: (body) not JSON",)))
    return _first_failure(bad, len(errors), "error response(s)")


def _balance_body(obs: Observations, label: str = "balance") -> tuple[Any, Verdict | None]:
    exchange = obs.get(label)
    if exchange is None:
        return None, skipped(obs.why_missing(label))
    if problem := _expect_status(exchange, 200):
        return None, failed(problem, exchange)
    body, problem = _body_json(exchange)
    if problem:
        return None, failed(problem, exchange)
    return body, None


@clause("credits.balance-schema", "GET credits balance answers 200 with a body matching credits-balance")
def credits_balance_schema(obs: Observations) -> Verdict:
    """The 8-field bare object."""
    body, verdict = _balance_body(obs)
    if verdict is not None:
        return verdict
    if problem := _schema_problems("credits-balance", body):
        paths = error_schema_paths("credits-balance", body)
        exchange = obs.get("balance")
        label = exchange.request.label if exchange else "balance"
        return Verdict(Status.FAILED, problem, exchange, (Finding("failed", f"[{label}] {problem}", label, paths),))
    return passed(f"balance {json.dumps(body)[:120]}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@clause("credits.balance-arithmetic", "remaining_credits = max(0, total_credits - used_credits), within 0.01")
def credits_balance_arithmetic(obs: Observations) -> Verdict:
    """Balance fields add up."""
    body, verdict = _balance_body(obs)
    if verdict is not None:
        # The status and JSON problems belong to credits.balance-schema; do not report them twice.
        return skipped(f"no balance to judge: {verdict.evidence}") if verdict.status is Status.FAILED else verdict
    fields = ("total_credits", "used_credits", "remaining_credits")
    if not isinstance(body, Mapping) or not all(_number(body.get(f)) for f in fields):
        return skipped("balance lacks numeric total/used/remaining credits (see credits.balance-schema)")
    if body.get("unlimited") is True:
        return skipped("not applicable: the plan is unlimited")
    total, used, remaining = (float(body[f]) for f in fields)
    expected = max(0.0, total - used)
    if abs(remaining - expected) > BALANCE_TOLERANCE:
        return failed(
            f"remaining_credits {remaining:g}, expected max(0, {total:g} - {used:g}) = {expected:g}",
            obs.get("balance"),
        )
    return passed(f"remaining {remaining:g} = max(0, {total:g} - {used:g})")


@clause("credits.balance-decreases", "The balance goes down after a paid chat call (opt-in: --include-paid)")
def credits_balance_decreases(obs: Observations) -> Verdict:
    """Balance before, one paid call, balance after."""
    if not obs.settings.include_paid:
        return skipped("skipped (opt-in): pass --include-paid to spend credits on this check")
    before, verdict = _balance_body(obs)
    if verdict is not None:
        return verdict
    paid = obs.get("paid-chat")
    if paid is None:
        return skipped(obs.why_missing("paid-chat"))
    if problem := _expect_status(paid, 200):
        return failed(problem, paid)
    after, verdict = _balance_body(obs, "balance-after")
    if verdict is not None:
        return verdict
    try:
        used = (float(before["used_credits"]), float(after["used_credits"]))
        remaining = (float(before["remaining_credits"]), float(after["remaining_credits"]))
    except (KeyError, TypeError, ValueError):
        return failed(f"balance bodies lack used/remaining credits: {before!r} -> {after!r}", obs.get("balance-after"))
    if used[1] > used[0] or remaining[1] < remaining[0]:
        return passed(f"used {used[0]:g} -> {used[1]:g}, remaining {remaining[0]:g} -> {remaining[1]:g}")
    return failed(
        f"balance unchanged after a paid call: used {used[0]:g} -> {used[1]:g}, "
        f"remaining {remaining[0]:g} -> {remaining[1]:g}",
        paid,
    )


@clause("rate-limit.retry-after", "Every 429 carries Retry-After in whole seconds")
def rate_limit_retry_after(obs: Observations) -> Verdict:
    """Judges each 429 seen; with a rate-limit probe key, the probe must get one."""
    probe = obs.get("rate-limit-probe")
    if obs.settings.rate_limit_key_given and probe is not None and probe.status != 429:
        return failed(f"rate-limit probe: {probe.summary()}, expected 429", probe)
    limited = [e for e in obs.exchanges if e.status == 429]
    if not limited:
        reason = obs.why_missing("rate-limit-probe") if obs.settings.rate_limit_key_given else ""
        return skipped("no 429 observed" + (f" ({reason})" if reason else "; --rate-limit-key provokes one"))
    bad: Bad = []
    for exchange in limited:
        value = exchange.headers.get("retry-after")
        if value is None:
            bad.append((exchange, f"{exchange.summary()} without a Retry-After header", ()))
        elif not RETRY_AFTER.match(value.strip()):
            bad.append((exchange, f"{exchange.summary()}: Retry-After {value!r} is not whole seconds", ()))
    return _first_failure(bad, len(limited), "429 response(s)")


@clause("models.list-schema", "GET models answers 200 with a body matching models-list")
def models_list_schema(obs: Observations) -> Verdict:
    """The OpenAI-compatible model catalogue."""
    exchange = obs.get("models")
    if exchange is None:
        return skipped(obs.why_missing("models"))
    if exchange.status in (404, 405):
        return skipped(f"not applicable: the target does not serve it ({exchange.summary()})")
    if problem := _expect_status(exchange, 200):
        return failed(problem, exchange)
    body, problem = _body_json(exchange)
    if problem is None and (schema_problem := _schema_problems("models-list", body)):
        problem = schema_problem
    return failed(problem, exchange) if problem else passed(f"{len(body['data'])} model(s) listed")


def _unanswered(exchange: Exchange, paths: tuple[str, ...]) -> Finding | None:
    """A failed finding for no answer, a 5xx, or a status no request should get (1xx/3xx)."""
    status, label = exchange.status, exchange.request.label
    if status is None:
        return Finding("failed", f"[{label}] {exchange.summary()}", label, paths)
    if status >= 500:
        return Finding("failed", f"[{label}] {exchange.summary()}: server error: {exchange.body[:100]!r}", label, paths)
    if status < 200 or 300 <= status < 400:
        return Finding("failed", f"[{label}] {exchange.summary()}: not an answer to a chat request", label, paths)
    return None


def _fuzz_verdict(findings: list[Finding], exchanges: list[Exchange], obs: Observations, what: str) -> Verdict:
    if not findings:
        return passed(f"{len(exchanges)} {what} checked")
    by_label = {e.request.label: e for e in exchanges}
    failures = [f for f in findings if f.level == "failed"]
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return Verdict(Status.FAILED, failures[0].evidence + more, by_label.get(failures[0].label), tuple(findings))
    counts: dict[str, int] = {}
    for finding in findings:
        for path in finding.schema_paths:
            counts[path] = counts.get(path, 0) + 1
    paths = ", ".join(f"{path} ({n})" for path, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    evidence = (
        f"{len(findings)} of {len(exchanges)} {what} accepted although the contract rejects them "
        f"(contract stricter than the target): {paths}"
    )
    return Verdict(Status.WARNING, evidence, by_label.get(findings[0].label), tuple(findings))


@clause(
    "fuzz.invalid-rejected",
    "Generated invalid chat requests (schemathesis negative mode) get 4xx; 2xx warns, 5xx fails",
)
def fuzz_invalid_rejected(obs: Observations) -> Verdict:
    """Bodies that break chat-request are refused as client errors.

    A 2xx is a warning naming the schema paths the body breaks (the target is more lenient than
    the contract, which clients do not depend on); no answer or a 5xx is a failure.
    """
    exchanges = obs.with_prefix("fuzz-negative")
    if not exchanges:
        return skipped(obs.why_missing("fuzz-negative"))
    findings = []
    for exchange in exchanges:
        paths = error_schema_paths("chat-request", exchange.request.body)
        if finding := _unanswered(exchange, paths):
            findings.append(finding)
        elif exchange.status is not None and 200 <= exchange.status < 300:
            label = exchange.request.label
            evidence = f"[{label}] {exchange.summary()}: accepted a body that breaks {', '.join(paths)}"
            findings.append(Finding("warning", evidence, label, paths, CONTRACT_STRICTER))
    return _fuzz_verdict(findings, exchanges, obs, "generated invalid request(s)")


@clause(
    "fuzz.valid-accepted",
    "Generated valid chat requests (positive mode) get 200 or a documented error that is not about the body",
)
def fuzz_valid_accepted(obs: Observations) -> Verdict:
    """Bodies that match chat-request are served (or refused for reasons other than the body).

    A 400/422 means the target rejects what the contract (and so the mock) accepts: users' code
    passes on the mock and fails in production. A failure, naming the fields the target's error names.
    """
    exchanges = obs.with_prefix("fuzz-positive")
    if not exchanges:
        return skipped(obs.why_missing("fuzz-positive"))
    documented = obs.settings.documented_chat_statuses or ACCEPTED_FOR_VALID
    allowed = ACCEPTED_FOR_VALID & documented
    findings = []
    for exchange in exchanges:
        label, status = exchange.request.label, exchange.status
        if finding := _unanswered(exchange, ()):
            findings.append(finding)
        elif status in VALIDATION_STATUSES:
            paths = target_rejection_paths("chat-request", exchange.body)
            evidence = (
                f"[{label}] {exchange.summary()}: rejected a body the contract accepts "
                f"(contract laxer than the target): {exchange.body[:160]!r}"
            )
            findings.append(Finding("failed", evidence, label, paths, CONTRACT_LAXER))
        elif status is not None and not 200 <= status < 300 and status not in allowed:
            expected = "2xx or one of " + ", ".join(str(s) for s in sorted(allowed))
            evidence = f"[{label}] {exchange.summary()}, expected {expected}: {exchange.body[:100]!r}"
            findings.append(Finding("failed", evidence, label))
    return _fuzz_verdict(findings, exchanges, obs, "generated valid request(s)")
