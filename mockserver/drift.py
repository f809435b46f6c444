"""``ainative-mock drift DIR``: where recorded real traffic disagrees with the contract.

Every cassette's answer is held to the contract more strictly than ``check`` holds a server:

- **fields**: the response schemas are closed (``unevaluatedProperties: false`` wherever a schema
  lists properties), so a field the real API added and the contract lacks shows up by path;
- **schemas**: values of the wrong type, missing required fields, unknown enum values;
- **statuses**: a status the OpenAPI document does not list for that route, and routes it lacks;
- **clauses**: the clauses that are not about schemas (stream grammar, framing, usage sum,
  ``Retry-After`` on 429...), as ``check`` judges them.

Findings are grouped (schema path with array indexes folded to ``[*]``, status by route), counted,
and shown with one example each. Exit status: 0 the cassettes agree with the contract, 1 drift,
2 the directory cannot be read.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from contracts import SCHEMA_BASE_URI, load_schema, schema_names
from contracts.conformance.traffic import documented_statuses, judge_exchange, operation_of
from mockserver.cassettes import Cassette, CassetteError, load_cassettes

__all__ = ["DriftFinding", "DriftReport", "find_drift", "main", "strict_errors"]

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2
SCHEMA_CLAUSES = frozenset(
    {
        "chat.response-schema",
        "stream.chunk-schema",
        "credits.balance-schema",
        "models.list-schema",
        "errors.body-schema",
    }
)
"""Clauses the strict schema pass already covers (reported by path instead)."""
_NOT_SCHEMAS = frozenset({"examples", "const", "enum", "default", "description", "title"})


def _close(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: (v if k in _NOT_SCHEMAS else _close(v)) for k, v in node.items()}
        if isinstance(node.get("properties"), dict) and not (
            {"additionalProperties", "unevaluatedProperties", "patternProperties"} & node.keys()
        ):
            out["unevaluatedProperties"] = False
        return out
    if isinstance(node, list):
        return [_close(v) for v in node]
    return node


@cache
def _strict_validator(name: str) -> Draft202012Validator:
    closed = {n: _close(copy.deepcopy(load_schema(n))) for n in schema_names()}
    registry: Registry = Registry().with_resources(
        (SCHEMA_BASE_URI + f"{n}.json", Resource.from_contents(schema)) for n, schema in closed.items()
    )
    return Draft202012Validator(closed[name], registry=registry)


def _fold(parts: Iterable[str | int]) -> str:
    out = "$"
    for part in parts:
        out += "[*]" if isinstance(part, int) else f".{part}"
    return out


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The errors of the branch that came closest (fewest errors) when an anyOf/oneOf failed."""
    if not error.context:
        yield error
        return
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else 0, []).append(sub)
    best = min(branches.values(), key=len)
    for sub in best:
        yield from _leaves(sub)


def strict_errors(name: str, instance: Any) -> list[tuple[str, str]]:
    """(folded JSON path, problem) for every way ``instance`` breaks the closed schema ``name``.

    Example:
        >>> strict_errors("usage", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "cached": 0})
        [('$.cached', 'field not in the contract')]
    """
    found: dict[tuple[str, str], None] = {}
    for error in _strict_validator(name).iter_errors(instance):
        for leaf in _leaves(error):
            parts = list(leaf.absolute_path)
            if leaf.validator == "unevaluatedProperties" and isinstance(leaf.instance, Mapping):
                listed = re.findall(r"'([^']*)'", leaf.message.split("(", 1)[-1])
                extra = [k for k in listed if k in leaf.instance] or ["?"]
                for key in extra:
                    found[(_fold([*parts, key]), "field not in the contract")] = None
            elif leaf.validator == "required":
                missing = re.match(r"'([^']*)' is a required property", leaf.message)
                path = _fold([*parts, missing.group(1)]) if missing else _fold(parts)
                found[(path, "required field missing")] = None
            else:
                found[(_fold(parts), f"{leaf.validator}: {leaf.message[:160]}")] = None
    return list(found)


@dataclass
class DriftFinding:
    """One kind of disagreement, with how many cassettes show it and one example."""

    group: str
    problem: str
    count: int = 0
    example: str = ""
    cassettes: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)


@dataclass
class DriftReport:
    """Every disagreement found in a set of cassettes, grouped."""

    cassettes: int = 0
    findings: dict[tuple[str, str], DriftFinding] = field(default_factory=dict)

    @property
    def drift(self) -> bool:
        """Whether any cassette disagrees with the contract."""
        return bool(self.findings)

    def add(self, group: str, problem: str, cassette: Cassette, example: str) -> None:
        """Count one occurrence (once per cassette)."""
        finding = self.findings.setdefault((group, problem), DriftFinding(group, problem))
        name = cassette.path.name if cassette.path else "(cassette)"
        key = str(cassette.path) if cassette.path else str(id(cassette))  # two folders can hold the same name
        if key in finding._seen:
            return
        finding._seen.add(key)
        finding.cassettes.append(name)
        finding.count += 1
        if not finding.example:
            finding.example = f"{name}: {example}"

    def render(self) -> str:
        """The report as text."""
        if not self.findings:
            return f"No drift: {self.cassettes} cassette(s) agree with the contract."
        lines = [f"Drift: {len(self.findings)} disagreement(s) in {self.cassettes} cassette(s)", ""]
        for finding in sorted(self.findings.values(), key=lambda f: (f.group, -f.count)):
            lines.append(f"{finding.group}: {finding.problem}  [{finding.count} cassette(s)]")
            lines.append(f"    e.g. {finding.example}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "cassettes": self.cassettes,
            "drift": self.drift,
            "findings": [
                {
                    "group": f.group,
                    "problem": f.problem,
                    "count": f.count,
                    "example": f.example,
                    "cassettes": f.cassettes,
                }
                for f in sorted(self.findings.values(), key=lambda f: (f.group, -f.count))
            ],
        }


def _snippet(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."


def _value_at(instance: Any, path: str) -> Any:
    current = instance
    for part in re.findall(r"\.([^.\[]+)|\[\*\]", path):
        if part == "":
            current = current[0] if isinstance(current, list) and current else None
        elif isinstance(current, Mapping):
            current = current.get(part)
        else:
            return None
    return current


def _judge_body(report: DriftReport, cassette: Cassette, schema: str, instance: Any, where: str) -> None:
    for path, problem in strict_errors(schema, instance):
        report.add(f"{schema} {path}", problem, cassette, f"{where}{_snippet(_value_at(instance, path))}")


def _judge(report: DriftReport, cassette: Cassette) -> None:
    request, response = cassette.request, cassette.response
    kind = operation_of(request.method, request.route)
    route = f"{request.method} {request.route}"
    if kind is None:
        report.add(f"route {route}", "route not in the contract", cassette, f"answered {response.status}")
        return
    documented = documented_statuses(request.method, request.route)
    if response.status not in documented:
        listed = ", ".join(str(s) for s in sorted(documented))
        report.add(
            f"status {route}", f"{response.status} not documented ({listed})", cassette, f"status {response.status}"
        )
    if response.events is not None:
        for index, event in enumerate(response.events):
            try:
                chunk = json.loads(event.data)
            except ValueError:
                continue
            if isinstance(chunk, Mapping):
                schema = "error-openai" if "error" in chunk and "choices" not in chunk else "chat-completion-chunk"
                _judge_body(report, cassette, schema, chunk, f"event {index}: ")
    else:
        body = response.json()
        if response.status >= 400:
            _judge_body(report, cassette, "error", body, "")
        elif 200 <= response.status < 300:
            schema = {"chat": "chat-completion", "balance": "credits-balance", "models": "models-list"}[kind]
            _judge_body(report, cassette, schema, body, "")
    request_bytes = json.dumps(request.body).encode() if request.body is not None else b""
    body_bytes = response.stream_bytes() if response.events is not None else response.body
    for finding in judge_exchange(
        request.method, request.route, request_bytes, response.status, response.headers, body_bytes
    ):
        if finding.clause not in SCHEMA_CLAUSES:
            report.add(f"clause {finding.clause}", finding.evidence[:200], cassette, route)


def find_drift(cassettes: Sequence[Cassette]) -> DriftReport:
    """Judge every cassette; returns the grouped report."""
    report = DriftReport(cassettes=len(cassettes))
    for cassette in cassettes:
        _judge(report, cassette)
    return report


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the ``drift`` arguments to ``parser`` (or a new parser)."""
    parser = parser or argparse.ArgumentParser(prog="ainative-mock drift")
    parser.add_argument("directory", type=Path, metavar="DIR", help="a cassette directory (or one cassette file)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    return parser


def run_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``drift`` for parsed ``args``; returns the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        cassettes = load_cassettes(args.directory)
    except CassetteError as exc:
        print(f"ainative-mock drift: {exc}", file=err)
        return EXIT_USAGE
    if not cassettes:
        print(f"ainative-mock drift: no cassette (*.json) in {args.directory}", file=err)
        return EXIT_USAGE
    report = find_drift(cassettes)
    print(report.render(), file=out)
    if args.json:
        try:
            args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"ainative-mock drift: cannot write {args.json}: {exc}", file=err)
            return EXIT_USAGE
    return EXIT_DRIFT if report.drift else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``ainative-mock drift`` without the host CLI."""
    return run_command(build_parser().parse_args(argv))
