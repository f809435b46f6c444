"""FAILED vs WARNING: a correct but lenient server passes with warnings; real breakage still fails.

The lenient server (``reference_app(lenient=True)``) validates bodies with default pydantic models,
as a FastAPI backend does: it is correct, but accepts some requests the contract calls invalid.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from contracts.conformance import CLAUSES, Report, render_table, run_checks
from contracts.conformance.asgi import SyncASGITransport
from contracts.conformance.cli import main
from contracts.conformance.findings import CONTRACT_LAXER, CONTRACT_STRICTER
from tests.support.reference_server import API_KEY, reference_app, serve

SEEDS = [0, 2, 3, 4]
SCHEMA_PATH = re.compile(r"^chat-request: \S+ [A-Za-z]+$")
"""``chat-request: messages[].tool_calls[].function.name minLength``: schema, path, keyword."""


def _check(url: str, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], ET.Element]:
    json_path, xml_path = tmp_path / "r.json", tmp_path / "r.xml"
    argv = ["--base-url", url, "--api-key", API_KEY, "--quiet", "--json", str(json_path), "--junit-xml", str(xml_path)]
    code = main([*argv, *extra])
    return code, json.loads(json_path.read_text()), ET.parse(xml_path).getroot()


@pytest.mark.parametrize("seed", SEEDS)
def test_lenient_server_passes_with_warnings_that_name_schema_paths(
    seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, state = reference_app(lenient=True)
    with serve(app, state) as running:
        code, data, _ = _check(running.url, tmp_path, "--seed", str(seed))
        table = capsys.readouterr().out
        assert code == 0, table
        assert state.requests == data["requests_sent"] <= 30
        strict_code, strict_data, strict_xml = _check(running.url, tmp_path, "--seed", str(seed), "--strict")
    statuses = {r["id"]: r["status"] for r in data["results"]}
    assert "failed" not in statuses.values(), table
    assert [i for i, s in statuses.items() if s == "warning"] in ([], ["fuzz.invalid-rejected"])
    warnings = [f for r in data["results"] for f in r["findings"]]
    assert bool(warnings) == (statuses["fuzz.invalid-rejected"] == "warning"), table
    for finding in warnings:
        assert finding["level"] == "warning"
        assert finding["direction"] == CONTRACT_STRICTER
        assert finding["label"].startswith("fuzz-negative-")
        assert finding["schema_paths"], finding
        assert all(SCHEMA_PATH.match(path) for path in finding["schema_paths"]), finding
    # The drift summary counts exactly those paths, and the table shows it last.
    assert {d["schema_path"] for d in data["drift"]} == {p for f in warnings for p in f["schema_paths"]}
    assert all(d["direction"] == CONTRACT_STRICTER for d in data["drift"])
    assert "Drift summary" in table
    assert table.index("Drift summary") > table.index("fuzz.valid-accepted")
    for entry in data["drift"]:
        assert entry["schema_path"] in table
    # --strict: the same run (same seed, same requests) exits 1 when it warned, the warnings become failures.
    assert strict_data["strict"] is True
    assert {r["id"]: r["status"] for r in strict_data["results"]} == statuses
    if warnings:
        assert strict_code == 1
        assert strict_data["ok"] is False
        assert strict_xml.get("failures") == "1"
        assert strict_xml.find("testcase[@name='fuzz.invalid-rejected']/failure[@type='warning']") is not None
    else:
        assert strict_code == 0


def test_leniency_is_found_under_most_seeds() -> None:
    """The generator finds the lenient server's leniencies under most seeds (each seed is a different sample)."""
    warned = []
    for seed in range(5):
        app, _ = reference_app(lenient=True)
        report = run_checks("http://lenient.test", API_KEY, transport=SyncASGITransport(app), seed=seed)
        assert report.ok and not report.failed
        warned.append(bool(report.warnings))
    assert sum(warned) >= 3, warned


@pytest.mark.parametrize("lenient", [False, True], ids=["strict-server", "lenient-server"])
def test_a_500_to_one_generated_invalid_body_fails(lenient: bool) -> None:
    app, state = reference_app(lenient=lenient, crash_on_invalid=3)
    report = run_checks("http://crash.test", API_KEY, transport=SyncASGITransport(app))
    assert state.crashed == 1
    assert not report.ok
    assert [r.id for r in report.failed] == ["fuzz.invalid-rejected"]
    result = report.result("fuzz.invalid-rejected")
    failures = [f for f in result.findings if f.level == "failed"]
    assert len(failures) == 1
    assert "-> 500" in failures[0].evidence
    assert failures[0].schema_paths and all(p.startswith("chat-request: ") for p in failures[0].schema_paths)
    assert failures[0].direction is None  # a crash is not drift
    assert result.repro is not None and "fuzz-negative" not in result.repro  # repro is a curl command
    assert "-> 500" in result.evidence


def test_a_server_stricter_than_the_contract_fails_with_the_field_it_names() -> None:
    app, _ = reference_app(lenient=True, forbid_unknown_fields=True)
    report = run_checks("http://strict.test", API_KEY, transport=SyncASGITransport(app))
    assert [r.id for r in report.failed] == ["fuzz.valid-accepted"]
    findings = report.result("fuzz.valid-accepted").findings
    assert findings and all(f.level == "failed" and f.direction == CONTRACT_LAXER for f in findings)
    laxer = [d for d in report.drift if d.direction == CONTRACT_LAXER]
    assert laxer
    assert all(
        d.schema_path.startswith("chat-request: ") and "(target: extra_forbidden)" in d.schema_path for d in laxer
    )
    assert sum(d.cases for d in laxer) >= len(findings)


def test_table_json_junit_and_pytest_suite_show_the_same_levels(
    pytester: pytest.Pytester, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conformance.test_suite_plugin import _plugin_args

    app, state = reference_app(lenient=True)
    with serve(app, state) as running:
        code, data, xml = _check(running.url, tmp_path, "--seed", "3")
        table = capsys.readouterr().out
        junit = tmp_path / "suite.xml"
        result = pytester.runpytest_subprocess(
            *_plugin_args(), "-p", "no:cacheprovider", "--pyargs", "contracts.suite",
            "--ainative-base-url", running.url, "--ainative-api-key", API_KEY, "--ainative-seed", "3",
            f"--junitxml={junit}", "-rs",
        )  # fmt: skip
    assert code == 0
    from_json = {r["id"]: r["status"] for r in data["results"]}
    assert "warning" in from_json.values()
    from_table = {}
    for clause_id in CLAUSES:
        line = next(line for line in table.splitlines() if line.startswith(clause_id + " "))
        from_table[clause_id] = next(
            s for s in ("PASSED", "WARNING", "FAILED", "SKIPPED") if f"  {s}  " in line
        ).lower()
    from_junit = {
        case.get("name"): case.find("properties/property[@name='level']").get("value")  # type: ignore[union-attr]
        for case in xml.findall("testcase")
    }
    suite_xml = ET.parse(junit).getroot()
    from_suite = {}
    for case in suite_xml.iter("testcase"):
        clause_id = re.sub(r"^test_clause\[(.*)\]$", r"\1", case.get("name", ""))
        level = case.find("properties/property[@name='level']")
        assert level is not None
        from_suite[clause_id] = level.get("value")
    assert from_table == from_json == from_junit == from_suite
    # pytest outcomes: a warning is a passed test with a ContractDriftWarning.
    counts = Report.from_dict(data).counts()
    result.assert_outcomes(passed=counts["passed"] + counts["warning"], skipped=counts["skipped"], warnings=1)
    result.stdout.fnmatch_lines(["*ContractDriftWarning: fuzz.invalid-rejected*"])


def test_pytest_suite_strict_fails_the_warning(pytester: pytest.Pytester) -> None:
    from tests.conformance.test_suite_plugin import _plugin_args

    app, state = reference_app(lenient=True)
    with serve(app, state) as running:
        result = pytester.runpytest_subprocess(
            *_plugin_args(), "-p", "no:cacheprovider", "--pyargs", "contracts.suite",
            "--ainative-base-url", running.url, "--ainative-api-key", API_KEY, "--ainative-seed", "3",
            "--ainative-strict",
        )  # fmt: skip
    result.assert_outcomes(passed=len(CLAUSES) - 4, skipped=3, failed=1)
    result.stdout.fnmatch_lines(["*fuzz.invalid-rejected warning (--ainative-strict)*", "*chat-request: *"])


def test_the_docs_example_is_what_the_tool_prints() -> None:
    """docs/conformance.md shows a real run (lenient server, seed 6) in the tool's current format.

    The exact paths follow the contract's schemas (other work changes them), so this holds the
    example to the format and the verdict, and every path it shows to a real contract line.
    """
    docs = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text(encoding="utf-8")
    app, _ = reference_app(lenient=True)
    report = run_checks("http://127.0.0.1:8000", API_KEY, transport=SyncASGITransport(app), seed=6)
    lines = render_table(report).splitlines()
    assert report.ok and report.warnings
    drift_at = lines.index("Drift summary (where the target and the contract disagree):")
    assert "\n".join(lines[drift_at : drift_at + 2]) in docs  # header and the direction line
    assert "\n".join(lines[:2]) in docs  # the table header
    footer = re.sub(r"\d+", r"\\d+", re.escape(lines[-1]))
    assert re.search(footer, docs)
    shown = re.findall(r"^    (chat-request: \S+ \w+) +\d+ case\(s\)$", docs, flags=re.MULTILINE)
    assert shown
    assert all(SCHEMA_PATH.match(path) for path in shown)
