"""ARCHITECTURE.md's layers, checked on the import statements: ``contracts/`` never imports ``mockserver/``,
and ``mockserver/`` uses ``contracts/`` only through its public package and the conformance CLI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_FROM_MOCK = {
    "contracts",
    "contracts.usage",
    "contracts.conformance.cli",
    "contracts.conformance.traffic",
    "contracts.conformance.clauses",
    "contracts.conformance.report",
    "contracts.conformance.sse",
}
"""What mockserver/ may import from contracts/: the package API, the shared usage rule, the ``check`` CLI
(``ainative-mock check``), and the clauses, SSE event parser and reports the validation proxy judges and records
traffic with. Not the
conformance runner's transport: the mock has its own (``mockserver/transports.py``)."""


def imports(package: str) -> dict[str, set[str]]:
    """Module path -> every module it imports (absolute names)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_contracts_never_import_the_mock() -> None:
    offenders = {
        path: sorted(n for n in names if n == "mockserver" or n.startswith("mockserver."))
        for path, names in imports("contracts").items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_mock_uses_contracts_only_through_the_allowed_modules() -> None:
    modules = {
        path: {n for n in names if n == "contracts" or n.startswith("contracts.")}
        for path, names in imports("mockserver").items()
    }
    offenders = {}
    for path, names in modules.items():
        # "from contracts.conformance.cli import run_command" records both the module and module.name
        bad = {n for n in names if n not in ALLOWED_FROM_MOCK and n.rsplit(".", 1)[0] not in ALLOWED_FROM_MOCK}
        if bad:
            offenders[path] = sorted(bad)
    assert offenders == {}


def test_the_in_process_transports_live_in_the_mock() -> None:
    assert (ROOT / "mockserver" / "transports.py").is_file()
    mock_imports = set().union(*imports("mockserver").values())
    assert "contracts.conformance.asgi" not in mock_imports
