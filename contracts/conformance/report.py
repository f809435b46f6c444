"""The report of a run, and its renderings: a text table, JSON, JUnit XML, curl reproductions."""

from __future__ import annotations

import json
import re
import shlex
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from contracts.conformance.client import PlannedRequest
from contracts.conformance.findings import DIRECTIONS, DriftEntry, Finding, drift_summary

__all__ = ["STATUSES", "ClauseResult", "Report", "curl_command", "mask", "render_table", "to_json", "to_junit_xml"]

STATUSES = ("passed", "warning", "failed", "skipped")
"""The statuses of a clause, in report order."""


@dataclass(frozen=True, slots=True)
class ClauseResult:
    """The outcome of one clause.

    Attributes:
        id: the clause id.
        description: the clause in one line.
        status: ``"passed"``, ``"warning"``, ``"failed"`` or ``"skipped"``.
        evidence: what was seen, or why the clause was skipped.
        repro: for a failure or warning, a curl command that repeats the request that shows it.
        findings: every failure and warning seen, each with its level and schema paths.
    """

    id: str
    description: str
    status: str
    evidence: str
    repro: str | None = None
    findings: tuple[Finding, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClauseResult:
        """Rebuild a result from its ``asdict`` form."""
        findings = tuple(Finding.from_dict(f) for f in data.get("findings", ()))
        return cls(data["id"], data["description"], data["status"], data["evidence"], data.get("repro"), findings)


@dataclass(frozen=True, slots=True)
class Report:
    """What a run found.

    Attributes:
        target: the base URL checked.
        model: the model used for paid requests.
        max_requests: the request budget.
        requests_sent: how many requests were sent.
        results: one result per clause.
        strict: whether warnings count as failures (``--strict``).
    """

    target: str
    model: str
    max_requests: int
    requests_sent: int
    results: tuple[ClauseResult, ...]
    strict: bool = False

    @property
    def ok(self) -> bool:
        """True when no clause failed (skips are fine; warnings too, unless the run is strict)."""
        return not self.failed and not (self.strict and self.warnings)

    @property
    def failed(self) -> tuple[ClauseResult, ...]:
        """The failed results."""
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def warnings(self) -> tuple[ClauseResult, ...]:
        """The results that only warn: the target accepted requests the contract calls invalid."""
        return tuple(r for r in self.results if r.status == "warning")

    @property
    def drift(self) -> tuple[DriftEntry, ...]:
        """Every schema path where the target and the contract disagreed, which way, how many cases."""
        return drift_summary(f for r in self.results for f in r.findings)

    def counts(self) -> dict[str, int]:
        """How many clauses have each status."""
        return {s: sum(r.status == s for r in self.results) for s in STATUSES}

    def result(self, clause_id: str) -> ClauseResult:
        """The result of clause ``clause_id``."""
        for result in self.results:
            if result.id == clause_id:
                return result
        raise KeyError(f"no clause {clause_id!r} in the report")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``--json`` output)."""
        return {
            "target": self.target,
            "model": self.model,
            "max_requests": self.max_requests,
            "requests_sent": self.requests_sent,
            "strict": self.strict,
            "ok": self.ok,
            "summary": self.counts(),
            "results": [asdict(r) for r in self.results],
            "drift": [asdict(d) for d in self.drift],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Rebuild a report from :meth:`to_dict` output."""
        return cls(
            target=data["target"],
            model=data["model"],
            max_requests=data["max_requests"],
            requests_sent=data["requests_sent"],
            results=tuple(ClauseResult.from_dict(r) for r in data["results"]),
            strict=bool(data.get("strict", False)),
        )


def mask(value: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``value`` by asterisks and its last 4 characters.

    Example:
        >>> mask("X-API-Key: sk_live_123456", ["sk_live_123456"])
        'X-API-Key: ****3456'
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        value = value.replace(secret, "****" + secret[-4:])
    return value


def curl_command(request: PlannedRequest, url: str, secrets: Iterable[str] = ()) -> str:
    """A curl command that repeats ``request`` (secrets masked to their last 4 characters).

    Example:
        >>> from contracts.conformance.client import PlannedRequest
        >>> request = PlannedRequest("x", "GET", "/b", {"X-API-Key": "sk_abcdef"})
        >>> print(curl_command(request, "http://h/b", ["sk_abcdef"]))
        curl -sS -X GET http://h/b -H 'X-API-Key: ****cdef'
    """
    secrets = tuple(secrets)
    parts = ["curl", "-sS", "-X", request.method, shlex.quote(url)]
    headers = dict(request.headers)
    content = request.content()
    if content is not None:
        headers.setdefault("Content-Type", "application/json")
    if isinstance(request.body, Mapping) and request.body.get("stream") is True:
        parts.insert(1, "-N")
    for name, value in headers.items():
        parts += ["-H", shlex.quote(mask(f"{name}: {value}", secrets))]
    prefix = ""
    if content is not None:
        try:
            text = content.decode("utf-8")
            printable = text.isprintable()
        except UnicodeDecodeError:
            printable = False
        if printable:
            parts += ["--data-raw", shlex.quote(mask(text, secrets))]
        else:
            escaped = "".join(f"\\x{byte:02x}" for byte in content)
            prefix = f"printf '%b' '{escaped}' | "
            parts += ["--data-binary", "@-"]
    return prefix + " ".join(parts)


def render_table(report: Report, *, width: int = 60) -> str:
    """The report as a text table: id, description, status, evidence; then repro commands.

    Args:
        report: the report.
        width: wrap evidence at this many characters.
    """
    id_w = max(len(r.id) for r in report.results)
    desc_w = 48
    header = f"{'CLAUSE':<{id_w}}  {'DESCRIPTION':<{desc_w}}  {'STATUS':<7}  EVIDENCE"
    lines = [header, "-" * len(header)]
    for r in report.results:
        description = textwrap.shorten(r.description, desc_w, placeholder="...")
        evidence = textwrap.wrap(r.evidence, width) or [""]
        lines.append(f"{r.id:<{id_w}}  {description:<{desc_w}}  {r.status.upper():<7}  {evidence[0]}")
        lines += [f"{'':<{id_w}}  {'':<{desc_w}}  {'':<7}  {more}" for more in evidence[1:]]
    failures = [r for r in report.results if r.repro and r.status == "failed"]  # warnings: in JSON and JUnit
    if failures:
        lines.append("")
        lines.append("Reproduce:")
        for r in failures:
            lines.append(f"  # {r.id} ({r.status})")
            lines.append(f"  {r.repro}")
    lines += _drift_lines(report)
    counts = report.counts()
    lines.append("")
    strict = " (--strict: warnings fail)" if report.strict and counts["warning"] else ""
    lines.append(
        f"{counts['passed']} passed, {counts['warning']} warning(s){strict}, {counts['failed']} failed, "
        f"{counts['skipped']} skipped; {report.requests_sent}/{report.max_requests} requests sent to "
        f"{report.target} (model {report.model})"
    )
    return "\n".join(lines)


def _drift_lines(report: Report) -> list[str]:
    drift = report.drift
    lines = ["", "Drift summary (where the target and the contract disagree):"]
    if not drift:
        return [*lines, "  none seen"]
    path_w = max(len(d.schema_path) for d in drift)
    for direction, words in DIRECTIONS.items():
        entries = [d for d in drift if d.direction == direction]
        if not entries:
            continue
        level = "warning" if direction == "contract-stricter" else "FAILED"
        lines.append(f"  {direction} ({words}; {level}):")
        lines += [f"    {d.schema_path:<{path_w}}  {d.cases} case(s)" for d in entries]
    return lines


def to_json(report: Report) -> str:
    """The report as indented JSON."""
    return json.dumps(report.to_dict(), indent=2)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def to_junit_xml(report: Report, *, suite_name: str = "ainative-conformance") -> str:
    """The report as JUnit XML: one ``testcase`` per clause (failures and skips with their evidence)."""
    counts = report.counts()
    failures = counts["failed"] + (counts["warning"] if report.strict else 0)
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(report.results)),
        failures=str(failures),
        skipped=str(counts["skipped"]),
        errors="0",
    )
    properties = ET.SubElement(suite, "properties")
    settings = (
        ("target", report.target), ("model", report.model), ("requests_sent", report.requests_sent),
        ("strict", str(report.strict).lower()),
    )  # fmt: skip
    for name, value in settings:
        ET.SubElement(properties, "property", name=name, value=str(value))
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname="contracts.conformance", name=r.id)
        case_properties = ET.SubElement(case, "properties")
        ET.SubElement(case_properties, "property", name="level", value=r.status)
        for finding in r.findings:
            for path in finding.schema_paths:
                ET.SubElement(case_properties, "property", name=f"{finding.level}:schema_path", value=_xml_text(path))
        details = _xml_text(r.evidence) + (_xml_text(f"\n\nReproduce:\n{r.repro}") if r.repro else "")
        if r.status == "failed" or (r.status == "warning" and report.strict):
            kind = "warning" if r.status == "warning" else "failure"
            failure = ET.SubElement(case, "failure", message=_xml_text(r.evidence[:500]), type=kind)
            failure.text = details
        elif r.status == "warning":
            # Passed with a message: the clause was judged and every promise clients rely on held.
            ET.SubElement(case, "system-out").text = "WARNING: " + details
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", message=_xml_text(r.evidence[:500]))
        else:
            ET.SubElement(case, "system-out").text = _xml_text(r.evidence)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
