"""The test suite's own layout: helpers are imported as modules of the ``tests`` package, never via sys.path."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent


def _python_files() -> list[Path]:
    return [path for path in TESTS.rglob("*.py") if "marker_project" not in path.parts]


def test_no_conftest_edits_sys_path() -> None:
    offenders = [str(path.relative_to(TESTS)) for path in TESTS.rglob("conftest.py") if "sys.path" in path.read_text()]
    assert offenders == []


def test_helper_modules_are_imported_through_the_tests_package() -> None:
    helpers = {
        path.stem
        for path in _python_files()
        if not path.name.startswith("test_") and path.name not in ("conftest.py", "__init__.py")
    }
    bare = re.compile(r"^\s*(?:from|import) (" + "|".join(sorted(helpers)) + r")\b", re.MULTILINE)
    offenders = [
        f"{path.relative_to(TESTS)}: {match.group(0).strip()}"
        for path in _python_files()
        for match in bare.finditer(path.read_text())
    ]
    assert offenders == [], "import these as tests.<folder>.<module> (shared ones live in tests/support)"
