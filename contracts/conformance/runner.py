"""Plan a conformance run, send it through the budgeted client, and judge it clause by clause."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

import contracts
from contracts.conformance.budget import (
    DEFAULT_MAX_REQUESTS,
    DEFAULT_MAX_TOKENS,
    FALLBACK_MODEL,
    Budget,
    BudgetExceeded,
    SpendBound,
    spend_bound,
)
from contracts.conformance.clauses import CLAUSES, Status
from contracts.conformance.client import ContractClient, Exchange, PlannedRequest
from contracts.conformance.fuzz import CHAT_OPERATION, generated_bodies
from contracts.conformance.models import cheapest_model
from contracts.conformance.observations import Observations, RunSettings
from contracts.conformance.report import ClauseResult, Report, curl_command, mask

__all__ = ["CheckConfig", "Plan", "Routes", "TargetUnreachable", "plan_checks", "run_checks"]

MALFORMED_KEY = "not-a-valid-key"
"""A key of no known shape (no sk_/ak_/tmp_/zdb_live_ prefix)."""

PROMPT = [{"role": "user", "content": "Reply with the single word OK."}]


class TargetUnreachable(RuntimeError):
    """The target did not answer HTTP at all (down, wrong port, not an HTTP server)."""


DEFAULT_CHAT_PATH = "/api/v1/chat/completions"
DEFAULT_BALANCE_PATH = "/api/v1/public/credits/balance"
DEFAULT_MODELS_PATH = "/v1/models"


@dataclass(frozen=True, slots=True)
class Routes:
    """Paths of the operations the run exercises (each has aliases in the contract).

    Attributes:
        chat: the chat completions route (default: the canonical X-API-Key route).
        balance: the credits balance route.
        models: the OpenAI-compatible models list.
    """

    chat: str = DEFAULT_CHAT_PATH
    balance: str = DEFAULT_BALANCE_PATH
    models: str = DEFAULT_MODELS_PATH


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """Everything that shapes a run.

    Attributes:
        base_url: the target, e.g. ``https://api.ainative.studio``.
        api_key: a valid API key.
        jwt: a JWT, to check Bearer JWT auth (optional).
        max_requests: hard cap on requests sent.
        max_tokens: ``max_tokens`` forced into every paid request.
        model: model for paid requests; None picks the cheapest the target lists.
        include_paid: run the opt-in clause that spends credits on purpose.
        rate_limit_key: a key the target answers with 429 (the mock's ``ak_test_rate_limited``).
        auth_scheme: ``"x-api-key"`` or ``"bearer"``: how the API key is sent.
        routes: the paths to use.
        seed: Hypothesis seed for generated requests.
        timeout: seconds per request.
        credits_per_token: the price assumed by the spend bound.
        strict: count warnings (the target accepts requests the contract rejects) as failures.
    """

    base_url: str
    api_key: str
    jwt: str | None = None
    max_requests: int = DEFAULT_MAX_REQUESTS
    max_tokens: int = DEFAULT_MAX_TOKENS
    model: str | None = None
    include_paid: bool = False
    rate_limit_key: str | None = None
    auth_scheme: str = "x-api-key"
    routes: Routes = field(default_factory=Routes)
    seed: int = 0
    timeout: float = 30.0
    credits_per_token: float = 1.0
    strict: bool = False

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://, got {self.base_url!r}")
        if self.max_requests < 1:
            raise ValueError(f"max requests must be at least 1, got {self.max_requests}")
        if self.max_tokens < 1:
            raise ValueError(f"max tokens must be at least 1, got {self.max_tokens}")
        if not self.api_key:
            raise ValueError("an API key is required")
        if self.auth_scheme not in ("x-api-key", "bearer"):
            raise ValueError(f"auth scheme must be 'x-api-key' or 'bearer', got {self.auth_scheme!r}")

    def auth_headers(self, key: str) -> dict[str, str]:
        """Headers carrying ``key`` in the configured scheme."""
        return {"Authorization": f"Bearer {key}"} if self.auth_scheme == "bearer" else {"X-API-Key": key}

    def secrets(self) -> tuple[str, ...]:
        """Values to mask in reports."""
        return tuple(s for s in (self.api_key, self.jwt) if s)


@dataclass(frozen=True, slots=True)
class Plan:
    """The requests a run will send, in order, and what they can cost.

    Attributes:
        requests: planned requests, highest priority first (all fit in ``max_requests``).
        unsent: label -> reason for requests dropped from the plan.
        model: the model in paid requests.
        bound: the spend bound of the paid requests.
        settings: the opt-ins of the run (why a clause has no request of its own).
    """

    requests: tuple[PlannedRequest, ...]
    unsent: Mapping[str, str]
    model: str
    bound: SpendBound
    settings: RunSettings = field(default_factory=RunSettings)

    def labels_for(self, prefix: str) -> list[str]:
        """Labels of planned requests that are ``prefix`` or ``prefix-N``."""
        return [r.label for r in self.requests if r.label == prefix or r.label.startswith(prefix + "-")]

    def clause_shares(self) -> dict[str, list[str]]:
        """For each clause, the labels of the planned requests it needs (its share of the budget).

        Opt-in clauses that were not asked for have no share (the requests they would share serve others).
        """
        return {
            cid: [] if _opt_in_reason(cid, self.settings) else [lb for p in c.uses for lb in self.labels_for(p)]
            for cid, c in CLAUSES.items()
        }

    def _share_lines(self) -> list[str]:
        total = len(self.requests) or 1
        shares = self.clause_shares()
        lines = [f"Budget by clause ({len(self.requests)} request(s) planned; a request can serve several clauses):"]
        users: dict[str, list[str]] = {}
        for cid, labels in shares.items():
            for label in labels:
                users.setdefault(label, []).append(cid)
        width = max(len(cid) for cid in CLAUSES)
        for cid, labels in shares.items():
            clause = CLAUSES[cid]
            if not clause.uses:
                lines.append(f"  {cid:<{width}}   - judges every error response of the run (no request of its own)")
                continue
            if not labels:
                why = _opt_in_reason(cid, self.settings) or "; ".join(
                    sorted({self.unsent.get(p, "not planned") for p in clause.uses if not self.labels_for(p)})
                )
                lines.append(f"  {cid:<{width}}   0 request(s): {why}")
                continue
            shared = sorted({other for label in labels for other in users[label]} - {cid})
            note = f" (shared with {', '.join(shared)})" if shared else ""
            lines.append(
                f"  {cid:<{width}}  {len(labels):>2} request(s), {len(labels) / total:4.0%}: {_compact(labels)}{note}"
            )
        return lines

    def describe(self) -> str:
        """The plan as text (what ``--dry-run`` prints): requests, each clause's share, maximum spend."""
        lines = [f"{len(self.requests)} request(s), model {self.model}:"]
        for number, planned in enumerate(self.requests, start=1):
            cost = f" [paid, max_tokens {planned.max_tokens}]" if planned.paid else ""
            lines.append(f"  {number:>3}. {planned.method} {planned.path}  {planned.label}: {planned.purpose}{cost}")
        for label, reason in self.unsent.items():
            lines.append(f"  not sent: {label}: {reason}")
        lines += self._share_lines()
        lines.append(
            f"Maximum spend: {self.bound.paid_requests} paid request(s), at most {self.bound.max_tokens} tokens "
            f"= {self.bound.max_credits:g} credits at {self.bound.credits_per_token:g} credit(s)/token "
            "(prompt bytes + max_tokens per request; invalid requests are not billed by a conforming server)."
        )
        return "\n".join(lines)


def _opt_in_reason(clause_id: str, settings: RunSettings) -> str | None:
    opt_in = {
        "auth.jwt": (settings.jwt_given, "opt-in: --jwt"),
        "credits.balance-decreases": (settings.include_paid, "opt-in: --include-paid"),
        "rate-limit.retry-after": (settings.rate_limit_key_given, "opt-in: --rate-limit-key (judges any 429 seen)"),
    }
    given, reason = opt_in.get(clause_id, (True, ""))
    return None if given else reason


def _compact(labels: list[str]) -> str:
    """``fuzz-negative-0 .. fuzz-negative-15`` for a numbered run of labels, else the labels."""
    if len(labels) > 2 and all(label.rsplit("-", 1)[-1].isdigit() for label in labels):
        return f"{labels[0]} .. {labels[-1]}"
    return ", ".join(labels)


def _chat_body(model: str, max_tokens: int, *, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": PROMPT, "max_tokens": max_tokens, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def _core_requests(config: CheckConfig, model: str, discover: bool) -> list[PlannedRequest]:
    auth = config.auth_headers(config.api_key)
    routes = config.routes
    chat = _chat_body(model, config.max_tokens)
    n = config.max_tokens
    out: list[PlannedRequest] = []
    if discover:
        out.append(PlannedRequest("models", "GET", routes.models, auth, purpose="list models", judge_errors=False))
    out.append(PlannedRequest("balance", "GET", routes.balance, auth, purpose="credits balance"))
    if config.include_paid:
        out.append(PlannedRequest("paid-chat", "POST", routes.chat, auth, chat, "paid call (opt-in)", True, n))
        out.append(PlannedRequest("balance-after", "GET", routes.balance, auth, purpose="balance after the paid call"))
    out += [
        PlannedRequest("chat-json", "POST", routes.chat, auth, chat, "JSON completion", True, n),
        PlannedRequest("chat-stream", "POST", routes.chat, auth, _chat_body(model, n, stream=True), "SSE", True, n),
        PlannedRequest("auth-missing", "POST", routes.chat, {}, chat, "no credentials"),
        PlannedRequest("auth-malformed", "POST", routes.chat, config.auth_headers(MALFORMED_KEY), chat, "bad key"),
    ]
    if config.jwt:
        bearer = {"Authorization": f"Bearer {config.jwt}"}
        out.append(PlannedRequest("auth-jwt", "GET", routes.balance, bearer, purpose="balance with a JWT"))
    if config.rate_limit_key:
        limited = config.auth_headers(config.rate_limit_key)
        out.append(PlannedRequest("rate-limit-probe", "POST", routes.chat, limited, chat, "expects 429"))
    return out


def _fuzz_requests(config: CheckConfig, model: str, room: int) -> tuple[list[PlannedRequest], dict[str, str]]:
    auth = config.auth_headers(config.api_key)
    n_negative = min(32, (room * 2 + 2) // 3)
    unsent: dict[str, str] = {}
    out: list[PlannedRequest] = []
    for mode in ("negative", "positive"):
        # Positive requests get what negative generation left over (it can come up short).
        count = n_negative if mode == "negative" else min(16, room - len(out))
        label = f"fuzz-{mode}"
        if count <= 0:
            unsent[label] = f"no room left in the request budget (--max-requests {config.max_requests})"
            continue
        bodies = generated_bodies(mode, count, model=model, max_tokens=config.max_tokens, seed=config.seed)
        if not bodies:
            unsent[label] = f"schemathesis generated no usable {mode} body"
        paid = mode == "positive"
        for index, body in enumerate(bodies):
            out.append(
                PlannedRequest(
                    f"{label}-{index}", "POST", config.routes.chat, auth, body,
                    f"generated {'valid' if paid else 'invalid'} body", paid, config.max_tokens if paid else 0,
                )
            )  # fmt: skip
    return out, unsent


def plan_checks(config: CheckConfig, model: str | None = None) -> Plan:
    """Plan a run without sending anything.

    Args:
        config: the run's configuration.
        model: the model to put in paid requests; defaults to ``config.model`` or the fallback model.

    Returns:
        The plan, trimmed to ``config.max_requests``.
    """
    chosen = model or config.model or FALLBACK_MODEL
    core = _core_requests(config, chosen, discover=True)
    unsent: dict[str, str] = {}
    budget_note = f"over the request budget (--max-requests {config.max_requests})"
    for dropped in core[config.max_requests :]:
        unsent[dropped.label] = budget_note
    core = core[: config.max_requests]
    fuzz, fuzz_unsent = _fuzz_requests(config, chosen, config.max_requests - len(core))
    unsent.update(fuzz_unsent)
    requests = (*core, *fuzz)
    bound = spend_bound(((len(r.content() or b""), r.max_tokens) for r in requests if r.paid), config.credits_per_token)
    settings = RunSettings(
        include_paid=config.include_paid, jwt_given=bool(config.jwt), rate_limit_key_given=bool(config.rate_limit_key)
    )
    return Plan(requests, unsent, chosen, bound, settings)


def _documented_chat_statuses() -> frozenset[int]:
    path, method = CHAT_OPERATION
    responses = contracts.load_openapi()["paths"][path][method.lower()]["responses"]
    return frozenset(int(code) for code in responses if code.isdigit())


def _unreachable(config: CheckConfig, exchange: Exchange) -> TargetUnreachable:
    return TargetUnreachable(f"target {config.base_url} did not answer: {exchange.error}")


def run_checks(
    base_url: str,
    api_key: str,
    *,
    jwt: str | None = None,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    model: str | None = None,
    include_paid: bool = False,
    rate_limit_key: str | None = None,
    auth_scheme: str = "x-api-key",
    routes: Routes | None = None,
    seed: int = 0,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
    on_progress: Callable[[str], None] | None = None,
    strict: bool = False,
) -> Report:
    """Check a target against every clause of the contract, within a request budget.

    Args:
        base_url: the target, e.g. ``http://127.0.0.1:8000``.
        api_key: a valid API key of the target.
        jwt: a JWT to check Bearer JWT auth with (optional).
        max_requests: hard cap on requests; never exceeded.
        max_tokens: ``max_tokens`` forced into every paid request.
        model: model for paid requests; None picks the cheapest listed by the target
            (``GET /v1/models``), else ``claude-3-5-haiku-20241022``.
        include_paid: also run the opt-in clause that spends credits on purpose.
        rate_limit_key: a key the target answers with 429, to check ``Retry-After``.
        auth_scheme: ``"x-api-key"`` (default) or ``"bearer"``.
        routes: paths to use (defaults: :class:`Routes`).
        seed: Hypothesis seed of generated requests (same seed, same requests).
        timeout: seconds per request.
        transport: an httpx transport instead of the network, e.g. ``httpx.ASGITransport(app)``.
        on_progress: called with one line per request sent.
        strict: count warnings as failures in ``report.ok``.

    Returns:
        The report: one result per clause.

    Raises:
        TargetUnreachable: the first request got no HTTP answer.
        ValueError: the configuration is invalid.

    Example:
        >>> report = run_checks("http://127.0.0.1:8000", "sk_test_key")  # doctest: +SKIP
        >>> report.ok  # doctest: +SKIP
        True
    """
    config = CheckConfig(
        base_url, api_key, jwt=jwt, max_requests=max_requests, max_tokens=max_tokens, model=model,
        include_paid=include_paid, rate_limit_key=rate_limit_key, auth_scheme=auth_scheme,
        routes=routes or Routes(), seed=seed, timeout=timeout, strict=strict,
    )  # fmt: skip
    return run(config, transport=transport, on_progress=on_progress)


def run(
    config: CheckConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the checks described by ``config`` (see :func:`run_checks`)."""
    budget = Budget(config.max_requests)
    progress = on_progress or (lambda line: None)

    def announce(exchange: Exchange) -> None:
        if exchange.status is None and budget.sent == 1:
            return  # the target is unreachable: TargetUnreachable says so in one line
        progress(f"[{budget.sent:>3}/{budget.max_requests}] {exchange.request.label}: {exchange.summary()}")

    settings = RunSettings(
        include_paid=config.include_paid,
        jwt_given=bool(config.jwt),
        rate_limit_key_given=bool(config.rate_limit_key),
        documented_chat_statuses=_documented_chat_statuses(),
    )
    observations = Observations(settings=settings)
    with ContractClient(
        config.base_url, budget, transport=transport, timeout=config.timeout, on_exchange=announce
    ) as client:
        discovery = _core_requests(config, FALLBACK_MODEL, discover=True)[0]
        first = client.send(discovery)
        if first.status is None:
            raise _unreachable(config, first)
        model = config.model or cheapest_model(_json_or_none(first)) or FALLBACK_MODEL
        progress(f"model for paid requests: {model}")
        plan = plan_checks(replace(config, model=model))
        observations.unsent.update(plan.unsent)
        for planned in plan.requests[1:]:
            try:
                client.send(planned)
            except BudgetExceeded as exc:
                observations.unsent[planned.label] = str(exc)
        observations.exchanges.extend(client.exchanges)
    results = tuple(_result(clause_id, observations, config) for clause_id in CLAUSES)
    return Report(
        target=config.base_url,
        model=model,
        max_requests=config.max_requests,
        requests_sent=budget.sent,
        results=results,
        strict=config.strict,
    )


def _json_or_none(exchange: Exchange) -> Any:
    if exchange.status != 200:
        return None
    try:
        return exchange.json()
    except ValueError:
        return None


def _result(clause_id: str, observations: Observations, config: CheckConfig) -> ClauseResult:
    clause = CLAUSES[clause_id]
    verdict = clause.evaluate(observations)
    repro = None
    if verdict.status in (Status.FAILED, Status.WARNING) and verdict.exchange is not None:
        repro = curl_command(verdict.exchange.request, verdict.exchange.url, config.secrets())
    secrets = config.secrets()
    evidence = mask(verdict.evidence, secrets)  # a server may echo a key back: never report it
    findings = tuple(replace(f, evidence=mask(f.evidence, secrets)) for f in verdict.findings)
    return ClauseResult(clause.id, clause.description, verdict.status.value, evidence, repro, findings)
