"""One test per clause of the contract; each reports what the session's run found."""

from __future__ import annotations

import pytest

from contracts.conformance.clauses import CLAUSES
from contracts.conformance.report import Report


@pytest.mark.parametrize("clause_id", list(CLAUSES))
def test_clause(clause_id: str, ainative_report: Report) -> None:
    """The clause holds for the target (skipped only when it does not apply to this run)."""
    result = ainative_report.result(clause_id)
    if result.status == "skipped":
        pytest.skip(result.evidence)
    if result.status == "failed":
        repro = f"\nReproduce:\n  {result.repro}" if result.repro else ""
        pytest.fail(f"{clause_id}: {result.description}\n{result.evidence}{repro}", pytrace=False)
