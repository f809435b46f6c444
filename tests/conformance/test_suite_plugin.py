"""``pytest --pyargs contracts.suite`` against a reference server, in a subprocess, with and without xdist."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from contracts.conformance import CLAUSES
from tests.support.reference_server import API_KEY, RunningServer, reference_app, serve

pytest_plugins = ["pytester"]


def _plugin_args() -> list[str]:
    """``-p contracts.suite.plugin`` unless a pytest11 entry point already loads it."""
    loaded = any(ep.value == "contracts.suite.plugin" for ep in entry_points(group="pytest11"))
    return [] if loaded else ["-p", "contracts.suite.plugin"]


def _suite(pytester: pytest.Pytester, url: str, *extra: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *_plugin_args(), "-p", "no:cacheprovider", "--pyargs", "contracts.suite",
        "--ainative-base-url", url, "--ainative-api-key", API_KEY, "--ainative-max-requests", "10", "-rs",
        *extra,
    )  # fmt: skip


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_suite_runs_one_test_per_clause(
    pytester: pytest.Pytester, live_server: RunningServer, workers: list[str]
) -> None:
    result = _suite(pytester, live_server.url, *workers)
    # auth.jwt and the paid clause are opt-in; rate-limit has no 429 to judge.
    result.assert_outcomes(passed=len(CLAUSES) - 3, skipped=3)
    result.stdout.fnmatch_lines(["*skipped (opt-in)*"])
    assert live_server.state.requests <= 10  # one run, in the controller under -n


def test_suite_fails_the_clause_that_breaks(pytester: pytest.Pytester) -> None:
    app, state = reference_app("missing_done")
    with serve(app, state) as running:
        result = _suite(pytester, running.url)
    result.assert_outcomes(passed=len(CLAUSES) - 4, skipped=3, failed=1)
    result.stdout.fnmatch_lines(["*test_clause?stream.grammar?*", "*does not end with data: ?DONE?*"])


def test_suite_without_a_target_fails_plainly(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", "--pyargs", "contracts.suite")
    result.assert_outcomes(errors=len(CLAUSES))
    result.stdout.fnmatch_lines(["*needs --ainative-base-url and --ainative-api-key*"])
