"""The public surface of contracts.conformance is locked; clause ids are stable."""

from __future__ import annotations

import contracts.conformance
from contracts.conformance import CLAUSES


def test_exported_names() -> None:
    assert contracts.conformance.__all__ == [
        "CLAUSES", "Budget", "BudgetExceeded", "CheckConfig", "Clause", "ClauseResult", "ContractClient",
        "DriftEntry", "Exchange", "Finding", "Plan", "PlannedRequest", "Report", "Routes", "Status",
        "TargetUnreachable", "Verdict",
        "plan_checks", "render_table", "run", "run_checks", "to_json", "to_junit_xml",
    ]  # fmt: skip


def test_clause_ids_are_stable() -> None:
    assert list(CLAUSES) == [
        "chat.response-schema", "chat.usage-sum", "stream.framing", "stream.chunk-schema", "stream.grammar",
        "auth.missing-key", "auth.malformed-key", "auth.jwt", "errors.body-schema", "credits.balance-schema",
        "credits.balance-arithmetic", "credits.balance-decreases", "rate-limit.retry-after", "models.list-schema",
        "fuzz.invalid-rejected", "fuzz.valid-accepted",
    ]  # fmt: skip
    assert all(c.description and "\n" not in c.description for c in CLAUSES.values())


def test_contracts_never_import_the_mock() -> None:
    from pathlib import Path

    root = Path(contracts.conformance.__file__).parent.parent
    offenders = [p for p in root.rglob("*.py") if "mockserver" in p.read_text(encoding="utf-8")]
    assert offenders == []
