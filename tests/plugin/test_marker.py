"""``@pytest.mark.ainative_mock(...)``: every setting, on both fixtures, and which marker wins.

The behaviours are real test files in ``marker_project/`` (``*_cases.py``, run as ``test_*.py``).
The project runs once per session in a subprocess, with the plugin loaded from its entry point,
and each of its test functions is judged by its own outer test, so each behaviour fails on its own
with its own output.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path

import pytest

Runner = Callable[..., pytest.RunResult]
PROJECT = Path(__file__).parent / "marker_project"
MODULES = {
    "settings_cases.py": "test_settings.py",
    "nearest_cases.py": "test_nearest.py",
    "stream_fault_cases.py": "test_stream_fault.py",
}
"""Case files of the project and the names they run under."""


def functions() -> list[tuple[str, str]]:
    """(module, function) of every test function in the project."""
    found = []
    for source, target in MODULES.items():
        tree = ast.parse((PROJECT / source).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.append((target.removesuffix(".py"), node.name))
    return found


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """Run the project once: (module, function) -> [(test id, outcome, failure text)]."""
    root = tmp_path_factory.mktemp("marker_project")
    for name in ("pyproject.toml", "conftest.py"):
        (root / name).write_text((PROJECT / name).read_text(encoding="utf-8"), encoding="utf-8")
    for source, target in MODULES.items():
        (root / target).write_text((PROJECT / source).read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AINATIVE_", "OPENAI_"))}
    command = [sys.executable, "-m", "pytest", "--junitxml=report.xml", "-q"]
    subprocess.run(command, cwd=root, env=env, capture_output=True, timeout=600, check=False)
    results: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for case in ElementTree.parse(root / "report.xml").getroot().iter("testcase"):
        name = case.get("name", "")
        module = case.get("classname", "").split(".")[0]
        problem = next((child for child in case if child.tag in {"failure", "error", "skipped"}), None)
        outcome = "passed" if problem is None else problem.tag
        text = "" if problem is None else (problem.get("message", "") + "\n" + (problem.text or ""))
        results.setdefault((module, name.split("[")[0]), []).append((name, outcome, text))
    return results


@pytest.mark.parametrize(("module", "function"), functions(), ids=[f"{m}::{f}" for m, f in functions()])
def test_marker_behaviour(
    outcomes: dict[tuple[str, str], list[tuple[str, str, str]]], module: str, function: str
) -> None:
    runs = outcomes.get((module, function))
    assert runs, f"{module}::{function} did not run"
    failed = [f"{name}: {outcome}\n{text}" for name, outcome, text in runs if outcome != "passed"]
    assert not failed, "\n\n".join(failed)


def test_each_function_runs_on_both_fixtures(outcomes: dict[tuple[str, str], list[tuple[str, str, str]]]) -> None:
    fixture_free = {("test_settings", "test_same_seed_same_text_other_seed_differs")}
    server_only = {
        ("test_settings", "test_stream_pacing_on_a_real_socket"),
        ("test_settings", "test_pacing_does_not_leak_into_the_next_test"),
    }
    for key, runs in outcomes.items():
        names = " ".join(name for name, _, _ in runs)
        if key not in fixture_free | server_only:
            assert "ainative_mock" in names and "ainative_server" in names, key


BAD = """
import pytest


@pytest.mark.ainative_mock(credit=5)
def test_misspelt_setting(mock):
    pass


@pytest.mark.ainative_mock(5)
def test_positional_argument(mock):
    pass


@pytest.mark.ainative_mock(error_style="yaml")
def test_bad_value(mock):
    pass
"""


def test_bad_markers_fail_the_test_and_name_the_setting(inner: pytest.Pytester, run: Runner) -> None:
    inner.makeconftest((PROJECT / "conftest.py").read_text(encoding="utf-8"))
    inner.makepyfile(test_bad=BAD)
    result = run()
    result.assert_outcomes(errors=6)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_positional_argument?ainative_mock?*",
            "E *UsageError: @pytest.mark.ainative_mock takes keyword arguments only",
            "*ERROR at setup of test_positional_argument?ainative_server?*",
            "E *UsageError: @pytest.mark.ainative_mock takes keyword arguments only",
            "*ERROR at setup of test_bad_value?ainative_mock?*",
            "E *UsageError:*error_style*'yaml'*",
            "*ERROR at setup of test_bad_value?ainative_server?*",
            "E *UsageError:*error_style*'yaml'*",
        ]
    )
    # A misspelt name must be reported as such on both fixtures, not only echoed.
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_misspelt_setting?ainative_mock?*",
            "E *UsageError:*unknown setting 'credit'*",
            "*ERROR at setup of test_misspelt_setting?ainative_server?*",
            "E *UsageError:*unknown setting 'credit'*",
        ]
    )
