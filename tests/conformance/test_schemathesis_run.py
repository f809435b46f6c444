"""``st run <mock>/openapi.json --url <mock>`` with schemathesis's default checks passes on the served contract.

Runs the real ``st`` command line against a default mock on a socket:

- the literal command over the whole served document (the API and the ``/_mock/`` control API,
  ``GET /_mock/events`` included), with and without an API key, no hooks: it must exit 0;
- the contract's operations alone, with a key and the project's hooks, so that the chat routes
  are exercised with valid bodies on a mock the fuzzed control API has not reconfigured.

The verdict is the JUnit report: no check failed; schemathesis's own internal generation errors
(it could not build a case) are left out of the verdict, anything else it reports as an error is not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mockserver.app import create_app
from mockserver.server import ServerThread

pytestmark = [pytest.mark.slow, pytest.mark.socket]

API_OPERATIONS = r"^/(api/)?v1/"
"""The contract's routes in the served document (the document also describes the /_mock/ control API)."""

GENERATION_ERRORS = ("Unsatisfiable", "Failed to generate", "Unable to generate", "generation")


def _st() -> str:
    found = shutil.which("st")
    assert found, "schemathesis's st command is not installed"
    return found


def verdict(junit: Path) -> tuple[list[str], int]:
    """Problems in a schemathesis JUnit report (generation errors left out), and how many operations ran."""
    root = ET.parse(junit).getroot()
    problems = []
    cases = list(root.iter("testcase"))
    for case in cases:
        for failure in case.findall("failure"):
            problems.append(f"{case.get('name')}: {failure.get('message')}: {(failure.text or '')[:400]}")
        for error in case.findall("error"):
            text = f"{error.get('message')} {error.text or ''}"
            if not any(marker in text for marker in GENERATION_ERRORS):
                problems.append(f"{case.get('name')}: error: {text[:400]}")
    return problems, len(cases)


def test_verdict_leaves_out_generation_errors_only(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        '<testsuites><testsuite name="schemathesis">'
        '<testcase name="POST /a"><error message="Unsatisfiable">Failed to generate test cases</error></testcase>'
        '<testcase name="POST /b"><error message="ConnectionError">refused</error></testcase>'
        '<testcase name="GET /c"><failure message="ST101">Server error</failure></testcase>'
        '<testcase name="GET /d" /></testsuite></testsuites>'
    )
    problems, cases = verdict(report)
    assert cases == 4
    assert [p.split(":")[0] for p in problems] == ["POST /b", "GET /c"]


@pytest.mark.parametrize("headers", [[], ["-H", "X-API-Key: ak_test_1234"]], ids=["no-key", "with-key"])
def test_st_run_over_the_whole_served_document_exits_0(tmp_path: Path, headers: list[str]) -> None:
    """The literal command: every operation, control API included, default checks, no hooks."""
    junit = tmp_path / "st.xml"
    env = {k: v for k, v in os.environ.items() if k != "SCHEMATHESIS_HOOKS"}
    with ServerThread(create_app()) as server:
        url = server.base_url
        result = subprocess.run(
            [
                _st(), "run", f"{url}/openapi.json", "--url", url, *headers,
                "--max-examples", "10", "--seed", "1", "--request-timeout", "30",
                "--no-color", "--report", "junit", "--report-junit-path", str(junit),
            ],
            capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path, env=env,
        )  # fmt: skip
    assert junit.exists(), result.stdout[-3000:] + result.stderr[-2000:]
    problems, cases = verdict(junit)
    assert problems == [], result.stdout[-5000:]
    names = {case.get("name") for case in ET.parse(junit).getroot().iter("testcase")}
    assert cases == 24 and "Stateful tests" in names  # 11 API operations, 12 control operations, the stateful phase
    assert {"GET /_mock/events", "PUT /_mock/config", "POST /_mock/faults", "PUT /_mock/keys/{key}"} <= names
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.mark.parametrize(
    ("headers", "hooks"),
    [([], None), (["-H", "X-API-Key: sk_schemathesis_key"], "contracts.conformance.schemathesis_checks")],
    ids=["no-key", "with-key-and-hooks"],
)
def test_st_run_default_checks_pass_on_the_served_mock(tmp_path: Path, headers: list[str], hooks: str | None) -> None:
    """With a key, the project's hooks keep valid bodies valid for a real server.

    Without them, schemathesis may send a ``tool_choice`` naming a function that is not in
    ``tools`` (JSON Schema cannot forbid it). The mock, lenient like the contract, calls that
    function with ``{}``; OpenAI answers 400, which would fail ST202 against it.
    """
    junit = tmp_path / "st.xml"
    env = {**os.environ, **({"SCHEMATHESIS_HOOKS": hooks} if hooks else {})}
    with ServerThread(create_app()) as server:
        url = server.base_url
        result = subprocess.run(
            [
                _st(), "run", f"{url}/openapi.json", "--url", url, *headers,
                "--include-path-regex", API_OPERATIONS, "--max-examples", "15", "--seed", "1",
                "--no-color", "--report", "junit", "--report-junit-path", str(junit),
            ],
            capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path, env=env,
        )  # fmt: skip
    assert junit.exists(), result.stdout[-3000:] + result.stderr[-2000:]
    problems, cases = verdict(junit)
    assert problems == [], result.stdout[-5000:]
    assert cases == 11  # chat on six aliases, balance on three, models on two
    if result.returncode != 0:  # only generation errors may make st exit non-zero
        assert any(marker in result.stdout for marker in GENERATION_ERRORS), result.stdout[-3000:]
