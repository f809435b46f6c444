"""pytest hooks and the fixture of the conformance suite (options, one run per session, xdist hand-off).

The run happens once: in the xdist controller when ``-n`` is used with ``--ainative-base-url``
(the report is handed to the workers through ``workerinput``), else lazily in the first test that
needs it. Nothing runs in sessions that do not use the suite.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from contracts.conformance.budget import DEFAULT_MAX_REQUESTS, DEFAULT_MAX_TOKENS
from contracts.conformance.report import Report, render_table
from contracts.conformance.runner import CheckConfig, TargetUnreachable, run

__all__ = ["ContractDriftWarning"]

_REPORT = pytest.StashKey[dict[str, Any]]()
_WORKER_KEY = "ainative_conformance_report"


class ContractDriftWarning(UserWarning):
    """A clause warns: the target accepts requests the contract calls invalid (the contract is stricter).

    The test passes and pytest lists the warning; ``--ainative-strict`` fails it instead.
    """


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--ainative-*`` options."""
    group = parser.getgroup("ainative", "AINative contract conformance (contracts.suite)")
    group.addoption("--ainative-base-url", help="target base URL (env AINATIVE_BASE_URL)")
    group.addoption("--ainative-api-key", help="a valid API key (env AINATIVE_API_KEY)")
    group.addoption("--ainative-jwt", help="a JWT: also check Bearer JWT auth (env AINATIVE_JWT)")
    group.addoption("--ainative-max-requests", type=int, default=DEFAULT_MAX_REQUESTS, help="hard cap on requests")
    group.addoption("--ainative-max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="max_tokens of paid requests")
    group.addoption("--ainative-model", help="model of paid requests (default: the cheapest listed)")
    group.addoption("--ainative-include-paid", action="store_true", help="run the opt-in clause that spends credits")
    group.addoption("--ainative-rate-limit-key", help="a key the target answers with 429 (mock: ak_test_rate_limited)")
    group.addoption("--ainative-auth", choices=("x-api-key", "bearer"), default="x-api-key", help="how to send the key")
    group.addoption("--ainative-seed", type=int, default=0, help="seed of generated requests (default 0)")
    group.addoption(
        "--ainative-strict", action="store_true",
        help="fail clauses that only warn (the target accepts requests the contract calls invalid)",
    )  # fmt: skip


def _opt(config: pytest.Config, name: str, env: str | None = None) -> Any:
    value = config.getoption(name)
    if value is None and env is not None:
        value = os.environ.get(env) or None
    return value


def _run(config: pytest.Config) -> dict[str, Any]:
    """Run the checks once per process; the outcome as a JSON-ready dict."""
    if _REPORT in config.stash:
        return config.stash[_REPORT]
    base_url = _opt(config, "ainative_base_url", "AINATIVE_BASE_URL")
    api_key = _opt(config, "ainative_api_key", "AINATIVE_API_KEY")
    outcome: dict[str, Any]
    if not base_url or not api_key:
        outcome = {"error": "contracts.suite needs --ainative-base-url and --ainative-api-key "
                   "(or AINATIVE_BASE_URL and AINATIVE_API_KEY)"}  # fmt: skip
    else:
        try:
            check = CheckConfig(
                base_url, api_key, jwt=_opt(config, "ainative_jwt", "AINATIVE_JWT"),
                max_requests=config.getoption("ainative_max_requests"),
                max_tokens=config.getoption("ainative_max_tokens"), model=config.getoption("ainative_model"),
                include_paid=config.getoption("ainative_include_paid"),
                rate_limit_key=config.getoption("ainative_rate_limit_key"),
                auth_scheme=config.getoption("ainative_auth"), strict=config.getoption("ainative_strict"),
                seed=config.getoption("ainative_seed"),
            )  # fmt: skip
            outcome = run(check).to_dict()
        except (ValueError, TargetUnreachable) as exc:
            outcome = {"error": str(exc)}
    config.stash[_REPORT] = outcome
    return outcome


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: run the checks once and hand the report to each worker.

    Only when ``--ainative-base-url`` is given: this plugin is installed for every project, and a
    ``pytest -n`` run that never asked for conformance checks must send nothing (the environment
    variables alone, which AINative's SDKs also read, are not a request to spend credits).
    """
    if node.config.getoption("ainative_base_url"):
        node.workerinput[_WORKER_KEY] = json.dumps(_run(node.config))


def pytest_report_header(config: pytest.Config) -> str | None:
    """Name the target and the budget."""
    base_url = config.getoption("ainative_base_url")
    if not base_url:
        return None
    return f"ainative conformance: {base_url} (max {config.getoption('ainative_max_requests')} requests)"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the clause table where the run happened (controller or single process)."""
    outcome = config.stash.get(_REPORT, None)
    if outcome is not None and "error" not in outcome:
        terminalreporter.write_sep("=", "ainative conformance report")
        terminalreporter.write_line(render_table(Report.from_dict(outcome)))


@pytest.fixture(scope="session")
def ainative_report(pytestconfig: pytest.Config) -> Report:
    """The conformance report of the target (the checks run once per session)."""
    workerinput = getattr(pytestconfig, "workerinput", None)
    if workerinput is not None and _WORKER_KEY in workerinput:
        outcome = json.loads(workerinput[_WORKER_KEY])
    else:
        outcome = _run(pytestconfig)
    if "error" in outcome:
        pytest.fail(outcome["error"], pytrace=False)
    return Report.from_dict(outcome)
