"""Conformance checks: hold any server that claims the AINative Chat Completions API to its contract.

Talks HTTP only. Entry points: :func:`run_checks` (library), ``ainative-mock check`` (CLI, see
:mod:`contracts.conformance.cli`), ``pytest --pyargs contracts.suite`` (pytest), and the
schemathesis checks of :mod:`contracts.conformance.schemathesis_checks` (``st run``).

Example:
    >>> from contracts.conformance import CLAUSES
    >>> "stream.grammar" in CLAUSES
    True
"""

from contracts.conformance.budget import Budget, BudgetExceeded
from contracts.conformance.clauses import CLAUSES, Clause, Status, Verdict
from contracts.conformance.client import ContractClient, Exchange, PlannedRequest
from contracts.conformance.findings import DriftEntry, Finding
from contracts.conformance.report import ClauseResult, Report, render_table, to_json, to_junit_xml
from contracts.conformance.runner import CheckConfig, Plan, Routes, TargetUnreachable, plan_checks, run, run_checks

__all__ = [
    "CLAUSES",
    "Budget",
    "BudgetExceeded",
    "CheckConfig",
    "Clause",
    "ClauseResult",
    "ContractClient",
    "DriftEntry",
    "Exchange",
    "Finding",
    "Plan",
    "PlannedRequest",
    "Report",
    "Routes",
    "Status",
    "TargetUnreachable",
    "Verdict",
    "plan_checks",
    "render_table",
    "run",
    "run_checks",
    "to_json",
    "to_junit_xml",
]
