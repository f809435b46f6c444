"""One test per clause of the contract; each reports what the session's run found."""

from __future__ import annotations

import warnings

import pytest

from contracts.conformance.clauses import CLAUSES
from contracts.conformance.report import Report
from contracts.suite.plugin import ContractDriftWarning


@pytest.mark.parametrize("clause_id", list(CLAUSES))
def test_clause(clause_id: str, ainative_report: Report, request: pytest.FixtureRequest) -> None:
    """The clause holds for the target (skipped only when it does not apply to this run).

    A clause that only warns passes with a :class:`ContractDriftWarning` (``--ainative-strict``
    fails it); the level and the schema paths of its findings go to ``--junitxml`` as properties.
    """
    result = ainative_report.result(clause_id)
    # Item.user_properties land in --junitxml (record_property would warn under junit_family xunit2).
    properties = request.node.user_properties
    properties.append(("level", result.status))
    properties += [(f"{f.level}:schema_path", path) for f in result.findings for path in f.schema_paths]
    if result.status == "skipped":
        pytest.skip(result.evidence)
    repro = f"\nReproduce:\n  {result.repro}" if result.repro else ""
    if result.status == "failed" or (result.status == "warning" and ainative_report.strict):
        level = "warning (--ainative-strict)" if result.status == "warning" else "failed"
        pytest.fail(f"{clause_id} {level}: {result.description}\n{result.evidence}{repro}", pytrace=False)
    if result.status == "warning":
        warnings.warn(ContractDriftWarning(f"{clause_id}: {result.evidence}"), stacklevel=1)
