"""The default budget (``--max-requests 30``) gives every clause a verdict against the mock, and is never exceeded.

The request count is the server's own: an ASGI wrapper counts every HTTP request the mock receives.
"""

from __future__ import annotations

import re
import time
from typing import Any

import jwt
import pytest

from contracts.conformance import CLAUSES, run_checks
from contracts.conformance.budget import DEFAULT_MAX_REQUESTS
from contracts.conformance.cli import main
from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.server import ServerThread
from mockserver.transports import SyncASGITransport

OPT_IN = {"auth.jwt", "credits.balance-decreases", "rate-limit.retry-after"}


class CountingApp:
    """An ASGI app that counts the HTTP requests it receives before handing them to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def _token() -> str:
    payload = {"sub": "conformance", "exp": int(time.time()) + 600}
    return jwt.encode(payload, MockConfig().jwt_secret, algorithm="HS256")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_budget_judges_every_clause_with_all_opt_ins(seed: int) -> None:
    app = CountingApp(create_app())
    transport = SyncASGITransport(app)
    try:
        report = run_checks(
            "http://mock.test", "sk_conformance_key", transport=transport, seed=seed,
            jwt=_token(), include_paid=True, rate_limit_key="ak_test_rate_limited",
        )  # fmt: skip
    finally:
        transport.close()
    assert {r.id: r.status for r in report.results} == dict.fromkeys(CLAUSES, "passed"), report.to_dict()
    assert app.requests == report.requests_sent <= DEFAULT_MAX_REQUESTS


@pytest.mark.parametrize("seed", [0, 3])
def test_default_budget_without_opt_ins_skips_only_opt_in_clauses(seed: int) -> None:
    app = CountingApp(create_app())
    transport = SyncASGITransport(app)
    try:
        report = run_checks("http://mock.test", "sk_conformance_key", transport=transport, seed=seed)
    finally:
        transport.close()
    skipped = {r.id: r.evidence for r in report.results if r.status == "skipped"}
    assert set(skipped) == OPT_IN, report.to_dict()
    assert not any("budget" in evidence for evidence in skipped.values())
    assert {r.status for r in report.results if r.id not in OPT_IN} == {"passed"}
    assert app.requests == report.requests_sent <= DEFAULT_MAX_REQUESTS
    # Fuzzing used what the fixed clauses left: the whole budget, nothing more.
    assert report.requests_sent == DEFAULT_MAX_REQUESTS


@pytest.mark.socket
def test_served_mock_default_budget_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    app = CountingApp(create_app())
    with ServerThread(app) as server:
        code = main(["--base-url", server.base_url, "--api-key", "sk_conformance_key", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = out.strip().splitlines()[-1]
    sent = int(re.search(r"(\d+)/30 requests sent", summary).group(1))  # type: ignore[union-attr]
    assert app.requests == sent <= 30
    assert "0 failed" in summary and "budget" not in out


def test_dry_run_prints_each_clause_share(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base-url", "http://127.0.0.1:9", "--api-key", "sk_x", "--dry-run", "--jwt", "a.b.c"]) == 0
    out = capsys.readouterr().out
    section = out[out.index("Budget by clause") :].splitlines()[1 : len(CLAUSES) + 1]
    shares = {line.split()[0]: line for line in section}
    assert list(shares) == list(CLAUSES)
    assert re.search(r"\s1 request\(s\),\s+3%: auth-jwt$", shares["auth.jwt"])
    assert "0 request(s): opt-in: --include-paid" in shares["credits.balance-decreases"]
    assert "judges every error response" in shares["errors.body-schema"]
    negative = int(re.search(r"(\d+) request\(s\)", shares["fuzz.invalid-rejected"]).group(1))  # type: ignore[union-attr]
    positive = int(re.search(r"(\d+) request\(s\)", shares["fuzz.valid-accepted"]).group(1))  # type: ignore[union-attr]
    fixed = 7  # models, balance, chat-json, chat-stream, two auth probes, the JWT probe
    assert negative + positive == 30 - fixed  # fuzzing gets exactly what the fixed clauses leave
    assert "30 request(s)" in out
