"""The runner against the reference server (every clause passes) and its broken variants (one clause fails)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.conformance import CLAUSES, Report, run_checks
from contracts.conformance.asgi import SyncASGITransport
from tests.support.reference_server import API_KEY, DEFECTS, JWT, RATE_LIMITED_KEY, RunningServer

FULL = {"jwt": JWT, "include_paid": True, "rate_limit_key": RATE_LIMITED_KEY, "max_requests": 16}

EXPECTED_FAILURE = {
    "wrong_chunk_order": {"stream.grammar"},
    "missing_done": {"stream.grammar"},
    "two_finish_reasons": {"stream.grammar"},
    "accepts_bad_key": {"auth.malformed-key"},
    "usage_does_not_add_up": {"chat.usage-sum"},
    "balance_string_number": {"credits.balance-schema"},
    "500_on_bad_body": {"fuzz.invalid-rejected"},
    "429_without_retry_after": {"rate-limit.retry-after"},
}


def _in_process(app: Any, **options: Any) -> Report:
    return run_checks("http://reference.test", API_KEY, transport=SyncASGITransport(app), **{**FULL, **options})


def _statuses(report: Report) -> dict[str, str]:
    return {r.id: r.status for r in report.results}


def test_every_defect_has_an_expectation() -> None:
    assert set(EXPECTED_FAILURE) == set(DEFECTS)


def test_reference_server_passes_every_clause_in_process(make_app: Any) -> None:
    app, state = make_app()
    report = _in_process(app)
    assert _statuses(report) == dict.fromkeys(CLAUSES, "passed"), report.to_dict()
    assert report.ok
    assert report.requests_sent == state.requests <= 16


def test_reference_server_passes_every_clause_on_a_socket(live_server: RunningServer) -> None:
    report = run_checks(live_server.url, API_KEY, **FULL)
    assert _statuses(report) == dict.fromkeys(CLAUSES, "passed"), report.to_dict()
    assert report.requests_sent == live_server.state.requests


def test_defaults_skip_only_opt_in_and_unprovoked_clauses(make_app: Any) -> None:
    app, _ = make_app()
    report = run_checks("http://reference.test", API_KEY, transport=SyncASGITransport(app), max_requests=16)
    skipped = {r.id for r in report.results if r.status == "skipped"}
    assert skipped == {"auth.jwt", "credits.balance-decreases", "rate-limit.retry-after"}
    assert report.result("credits.balance-decreases").evidence.startswith("skipped (opt-in)")
    assert report.ok


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_is_caught_by_its_clause_and_no_other(make_app: Any, defect: str) -> None:
    app, _ = make_app(defect)
    report = _in_process(app)
    failed = {r.id for r in report.failed}
    assert failed == EXPECTED_FAILURE[defect], report.to_dict()
    assert not report.ok
    assert report.warnings == ()  # the reference server is exactly as strict as the contract: nothing to warn of
    assert all(f.level == "failed" and f.schema_paths for r in report.failed for f in r.findings)
    for result in report.failed:
        assert result.repro is not None
        assert result.repro.startswith(("curl ", "printf "))
        assert API_KEY not in result.repro  # masked to the last 4 characters


def test_the_cheapest_listed_model_is_used(make_app: Any) -> None:
    app, _ = make_app()
    assert _in_process(app).model == "claude-3-5-haiku-20241022"
    assert _in_process(app, model="gpt-4o").model == "gpt-4o"


@pytest.mark.parametrize("limit", [1, 3, 7, 12])
def test_never_more_requests_than_the_budget(make_app: Any, limit: int) -> None:
    app, state = make_app()
    report = _in_process(app, max_requests=limit)
    assert state.requests == report.requests_sent <= limit
    assert state.requests == limit  # the plan fills the budget, and the cap holds exactly there
    skipped_for_budget = [r for r in report.results if "budget" in r.evidence]
    assert skipped_for_budget or limit >= 12


def test_budget_holds_on_a_socket(live_server: RunningServer) -> None:
    report = run_checks(live_server.url, API_KEY, max_requests=4)
    assert live_server.state.requests == report.requests_sent == 4


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_is_failed_by_its_clause_alone_at_the_default_budget(make_app: Any, defect: str) -> None:
    app, state = make_app(defect)
    report = run_checks("http://reference.test", API_KEY, transport=SyncASGITransport(app), seed=1, **{
        "jwt": JWT, "include_paid": True, "rate_limit_key": RATE_LIMITED_KEY,
    })  # fmt: skip
    assert {r.id for r in report.failed} == EXPECTED_FAILURE[defect], report.to_dict()
    assert report.warnings == ()
    assert state.requests == report.requests_sent <= 30
