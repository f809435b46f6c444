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

__all__ = ["ClauseResult", "Report", "curl_command", "mask", "render_table", "to_json", "to_junit_xml"]


@dataclass(frozen=True, slots=True)
class ClauseResult:
    """The outcome of one clause.

    Attributes:
        id: the clause id.
        description: the clause in one line.
        status: ``"passed"``, ``"failed"`` or ``"skipped"``.
        evidence: what was seen, or why the clause was skipped.
        repro: for a failure, a curl command that repeats the request that shows it.
    """

    id: str
    description: str
    status: str
    evidence: str
    repro: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """What a run found.

    Attributes:
        target: the base URL checked.
        model: the model used for paid requests.
        max_requests: the request budget.
        requests_sent: how many requests were sent.
        results: one result per clause.
    """

    target: str
    model: str
    max_requests: int
    requests_sent: int
    results: tuple[ClauseResult, ...]

    @property
    def ok(self) -> bool:
        """True when no clause failed (skips are fine)."""
        return not self.failed

    @property
    def failed(self) -> tuple[ClauseResult, ...]:
        """The failed results."""
        return tuple(r for r in self.results if r.status == "failed")

    def result(self, clause_id: str) -> ClauseResult:
        """The result of clause ``clause_id``."""
        for result in self.results:
            if result.id == clause_id:
                return result
        raise KeyError(f"no clause {clause_id!r} in the report")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``--json`` output)."""
        counts = {s: sum(r.status == s for r in self.results) for s in ("passed", "failed", "skipped")}
        return {
            "target": self.target,
            "model": self.model,
            "max_requests": self.max_requests,
            "requests_sent": self.requests_sent,
            "ok": self.ok,
            "summary": counts,
            "results": [asdict(r) for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Rebuild a report from :meth:`to_dict` output."""
        return cls(
            target=data["target"],
            model=data["model"],
            max_requests=data["max_requests"],
            requests_sent=data["requests_sent"],
            results=tuple(ClauseResult(**r) for r in data["results"]),
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
    failures = [r for r in report.results if r.repro]
    if failures:
        lines.append("")
        lines.append("Reproduce:")
        for r in failures:
            lines.append(f"  # {r.id}")
            lines.append(f"  {r.repro}")
    counts = report.to_dict()["summary"]
    lines.append("")
    lines.append(
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped; "
        f"{report.requests_sent}/{report.max_requests} requests sent to {report.target} (model {report.model})"
    )
    return "\n".join(lines)


def to_json(report: Report) -> str:
    """The report as indented JSON."""
    return json.dumps(report.to_dict(), indent=2)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def to_junit_xml(report: Report, *, suite_name: str = "ainative-conformance") -> str:
    """The report as JUnit XML: one ``testcase`` per clause (failures and skips with their evidence)."""
    counts = report.to_dict()["summary"]
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(report.results)),
        failures=str(counts["failed"]),
        skipped=str(counts["skipped"]),
        errors="0",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("target", report.target), ("model", report.model), ("requests_sent", report.requests_sent)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname="contracts.conformance", name=r.id)
        if r.status == "failed":
            failure = ET.SubElement(case, "failure", message=_xml_text(r.evidence[:500]))
            failure.text = _xml_text(r.evidence) + (_xml_text(f"\n\nReproduce:\n{r.repro}") if r.repro else "")
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", message=_xml_text(r.evidence[:500]))
        else:
            ET.SubElement(case, "system-out").text = _xml_text(r.evidence)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
