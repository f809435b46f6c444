"""How the plugin presents itself: fixture and marker help, opting out, suite-wide options and ini keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Runner = Callable[..., pytest.RunResult]

BOTH = """
import pytest


@pytest.fixture(params=["ainative_mock", "ainative_server"])
def mock(request):
    return request.getfixturevalue(request.param)
"""


def test_fixtures_help_shows_both_docstrings(run: Runner) -> None:
    result = run("--fixtures")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*-- fixtures defined from mockserver.pytest_plugin --*",
            "ainative_mock -- *pytest_plugin.py:*",
            "    A fresh in-process AINative mock, serving every httpx/httpx2 client (openai too) with no socket.",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        [
            "ainative_server -- *pytest_plugin.py:*",
            "    The AINative mock on a real socket (127.0.0.1, free port; one server per worker, reset per test).",
        ]
    )
    result.stdout.no_fnmatch_line("_ainative_served*")  # private: listed with -v only


def test_markers_help_shows_the_signature(run: Runner) -> None:
    result = run("--markers")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.ainative_mock(*, credits=None, plan=None, rpm=None, tpm=None, unavailable_models=None,"
            " random_faults=None, fault_rate=None, error_style=None, seed=None, ttft_ms=None, tokens_per_second=None,"
            " reply_rules=None, queued_replies=(), queued_faults=(), check_unused=True, pass_through=True,"
            " cassette=None, **settings):"
            " configure the ainative_mock or ainative_server fixture*(nearest marker wins)*"
        ]
    )


def test_opting_out_removes_the_fixtures(inner: pytest.Pytester, run: Runner) -> None:
    inner.makepyfile(
        """
        def test_uses_the_fixture(ainative_mock):
            pass


        def test_does_not(pytestconfig):
            assert not pytestconfig.pluginmanager.has_plugin("ainative_mock")
        """
    )
    result = run("-p", "no:ainative_mock")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["E       fixture 'ainative_mock' not found"])


SUITE_WIDE = """
import pytest


def test_ini_seed_and_config_file_apply(mock):
    assert mock.state.config.seed == {seed}
    balance = mock.balance()
    assert (balance["total_credits"], balance["plan"]) == (4321, "basic")
    mock.set_credits(0)
    body = __import__("httpx").post(
        mock.base_url + "/v1/public/chat/completions",
        headers=mock.headers,
        json={{"messages": [{{"role": "user", "content": "Hi"}}]}},
        timeout=20,
    ).json()
    assert body["error"]["code"] == "insufficient_credits"  # error_style from the file


@pytest.mark.ainative_mock(credits=5, seed=3)
def test_a_marker_overrides_the_suite_settings(mock):
    assert mock.state.config.seed == 3
    assert mock.state.config.error_style == "openai"
    assert mock.balance()["total_credits"] == 5


def test_reset_goes_back_to_the_suite_settings(mock):
    assert mock.state.config.seed == {seed}
    assert mock.balance()["total_credits"] == 4321
"""
MOCK_TOML = 'credits = 4321\nplan = "basic"\nerror_style = "openai"\n'


def test_ini_seed_and_command_line_config_file(
    inner: pytest.Pytester, inner_ini: Callable[[str], None], run: Runner
) -> None:
    inner_ini('ainative_mock_seed = "42"')
    inner.makefile(".toml", mock=MOCK_TOML)
    inner.makeconftest(BOTH)
    inner.makepyfile(test_suite=SUITE_WIDE.format(seed=42))
    result = run("--ainative-mock-config", "mock.toml", "-v")
    result.assert_outcomes(passed=6)


def test_ini_config_file_and_command_line_seed(
    inner: pytest.Pytester, inner_ini: Callable[[str], None], run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the ini path is relative to the root directory, whatever directory pytest is started from
    inner_ini('ainative_mock_config = "conf/mock.toml"\nainative_mock_seed = "42"')
    (inner.path / "conf").mkdir()
    (inner.path / "conf" / "mock.toml").write_text("[mock]\n" + MOCK_TOML, encoding="utf-8")
    suite = inner.mkdir("suite")
    (suite / "conftest.py").write_text(BOTH, encoding="utf-8")
    (suite / "test_suite.py").write_text(SUITE_WIDE.format(seed=9), encoding="utf-8")
    monkeypatch.chdir(suite)
    result = run("--ainative-mock-seed", "9")
    result.assert_outcomes(passed=6)


def test_a_broken_config_file_is_a_usage_error_naming_it(inner: pytest.Pytester, run: Runner) -> None:
    inner.makefile(".toml", mock="credits = -1\n")
    inner.makepyfile("def test_it(ainative_mock):\n    pass\n")
    result = run("--ainative-mock-config", "mock.toml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["E *UsageError: ainative_mock marker or options: credits: must be >= 0"])
