"""Schema paths of findings, the drift summary, and how each report shows a level."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

from contracts.conformance import ClauseResult, Finding, Report, render_table, to_junit_xml
from contracts.conformance.findings import (
    CONTRACT_LAXER,
    CONTRACT_STRICTER,
    drift_summary,
    error_schema_paths,
    target_rejection_paths,
)


def test_error_schema_paths_fold_indexes_and_name_the_keyword() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "", "arguments": "{}"}}
            ]},
        ],
        "temperature": 3,
    }  # fmt: skip
    assert error_schema_paths("chat-request", body) == (
        "chat-request: messages[].tool_calls[].function.name minLength",
        "chat-request: temperature maximum",
    )
    assert error_schema_paths("chat-request", {"model": "m"}) == ("chat-request: messages required",)
    assert error_schema_paths("chat-request", [1]) == ("chat-request: (body) type",)
    assert error_schema_paths("chat-request", b"\xff not json") == ("chat-request: (body) not JSON",)


def test_target_rejection_paths_read_fastapi_and_openai_errors() -> None:
    fastapi = b'{"detail": [{"loc": ["body", "tools", 0, "function"], "type": "missing", "msg": "Field required"}]}'
    assert target_rejection_paths("chat-request", fastapi) == ("chat-request: tools[].function (target: missing)",)
    openai = (
        b'{"error": {"message": "bad", "type": "invalid_request_error", "param": "messages[2].content", "code": null}}'
    )
    assert target_rejection_paths("chat-request", openai) == ("chat-request: messages[].content",)
    assert target_rejection_paths("chat-request", b'{"detail": "Bad request"}') == (
        "chat-request: (path not named by the target)",
    )


def test_drift_counts_cases_per_path_and_direction() -> None:
    findings = [
        Finding("warning", "a", "fuzz-negative-0", ("chat-request: top_p maximum",), CONTRACT_STRICTER),
        Finding(
            "warning",
            "b",
            "fuzz-negative-1",
            ("chat-request: top_p maximum", "chat-request: x type"),
            CONTRACT_STRICTER,
        ),
        Finding("failed", "c", "fuzz-positive-0", ("chat-request: user (target: string_too_long)",), CONTRACT_LAXER),
        Finding("failed", "d", "fuzz-negative-2", ("chat-request: seed type",)),  # a 5xx: not drift
    ]
    assert [(d.schema_path, d.direction, d.cases) for d in drift_summary(findings)] == [
        ("chat-request: user (target: string_too_long)", CONTRACT_LAXER, 1),
        ("chat-request: top_p maximum", CONTRACT_STRICTER, 2),
        ("chat-request: x type", CONTRACT_STRICTER, 1),
    ]


def _report(strict: bool) -> Report:
    warning = Finding("warning", "[fuzz-negative-0] accepted", "fuzz-negative-0", ("chat-request: top_p maximum",),
                      CONTRACT_STRICTER)  # fmt: skip
    results = (
        ClauseResult("a.ok", "holds", "passed", "1 checked"),
        ClauseResult("fuzz.invalid-rejected", "invalid rejected", "warning", "1 of 3 accepted", "curl x", (warning,)),
    )
    return Report("http://t", "m", 30, 5, results, strict=strict)


def test_a_warning_is_a_passed_junit_case_with_a_message_unless_strict() -> None:
    lenient = ET.fromstring(to_junit_xml(_report(strict=False)).split("\n", 1)[1])
    case = lenient.find("testcase[@name='fuzz.invalid-rejected']")
    assert case is not None
    assert case.find("failure") is None and case.find("skipped") is None
    assert (case.findtext("system-out") or "").startswith("WARNING: 1 of 3 accepted")
    levels = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert levels == {"level": "warning", "warning:schema_path": "chat-request: top_p maximum"}
    assert lenient.get("failures") == "0"
    strict = ET.fromstring(to_junit_xml(_report(strict=True)).split("\n", 1)[1])
    assert strict.get("failures") == "1"
    assert strict.find("testcase[@name='fuzz.invalid-rejected']/failure[@type='warning']") is not None


def test_ok_and_round_trip_carry_the_level() -> None:
    assert _report(strict=False).ok
    assert not _report(strict=True).ok
    again = Report.from_dict(_report(strict=True).to_dict())
    assert again == _report(strict=True)
    table = render_table(_report(strict=False))
    assert "WARNING" in table
    assert table.rstrip().splitlines()[-1].startswith("1 passed, 1 warning(s), 0 failed, 0 skipped")
    assert "chat-request: top_p maximum  1 case(s)" in table


def test_generation_does_not_depend_on_what_the_process_imported() -> None:
    code = (
        "import sys, hashlib\n"
        "if sys.argv[1] == 'mock': import mockserver\n"
        "from contracts.conformance.fuzz import generated_bodies\n"
        "print(hashlib.sha256(repr(generated_bodies('negative', 8, model='m', max_tokens=16, seed=5)).encode())"
        ".hexdigest())\n"
    )
    digests = {
        subprocess.run([sys.executable, "-c", code, which], capture_output=True, text=True, check=True).stdout
        for which in ("bare", "mock")
    }
    assert len(digests) == 1
