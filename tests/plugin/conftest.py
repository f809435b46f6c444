"""Tests of the pytest plugin: each runs pytest in a subprocess, where the plugin loads from its entry point.

The ``pytester`` plugin is registered from ``pytest_configure`` rather than with
``pytest_plugins = ["pytester"]``: pytest refuses ``pytest_plugins`` in a conftest that is not
top-level once collection has started, which is how this file is reached by a plain ``pytest`` run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

INNER_CONFIG = """
[tool.pytest]
strict = true
filterwarnings = ["error"]
addopts = ["-p", "no:cacheprovider"]
{extra}
"""
"""Settings of the inner runs: as strict as this project's own (an unregistered marker or a warning fails)."""

LEAN = ("-p", "no:hypothesispytest", "-p", "no:schemathesis")
"""Skip two heavy unrelated plugins in inner runs that do not need them (saves ~2 s of start-up per run)."""

Runner = Callable[..., pytest.RunResult]


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester directory with a strict ``pyproject.toml`` and no ``AINATIVE_*``/``OPENAI_*`` variables."""
    pytester.makepyprojecttoml(INNER_CONFIG.format(extra=""))
    for name in ("AINATIVE_BASE_URL", "AINATIVE_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "AINATIVE_MOCK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return pytester


@pytest.fixture
def inner_ini(inner: pytest.Pytester) -> Callable[[str], None]:
    """Rewrite the inner ``pyproject.toml`` with ``extra`` lines added to its ``[tool.pytest]`` table."""

    def write(extra: str) -> None:
        inner.makepyprojecttoml(INNER_CONFIG.format(extra=extra))

    return write


@pytest.fixture
def run(inner: pytest.Pytester) -> Runner:
    """Run pytest in a subprocess of ``inner`` (lean plugin set unless ``lean=False``)."""

    def runner(*args: str, lean: bool = True, timeout: float = 120) -> pytest.RunResult:
        return inner.runpytest_subprocess(*(LEAN if lean else ()), *args, timeout=timeout)

    return runner
