"""The public surface of ``mockserver`` is deliberate: changing it must change this test."""

from __future__ import annotations

import doctest
import importlib

import pytest

import mockserver

EXPECTED = [
    "MAGIC_KEYS",
    "MAGIC_MODELS",
    "ConfigError",
    "Fault",
    "FaultError",
    "InProcessMock",
    "LiveCallBlockedError",
    "MockConfig",
    "ServedMock",
    "UnexpectedRequestsError",
    "UnusedMockError",
    "create_app",
    "load_config",
]
INTERNALS = {
    "AINativeMock": "mockserver.app",
    "DEFAULT_MODELS": "mockserver.models",
    "JournalEntry": "mockserver.journal",
    "MockController": "mockserver.testing",
    "MockState": "mockserver.state",
    "ModelInfo": "mockserver.models",
    "ReplyRule": "mockserver.config",
    "ServerThread": "mockserver.server",
    "parse_fault": "mockserver.faults",
}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_all_is_exactly_the_expected_names() -> None:
    assert mockserver.__all__ == EXPECTED


def examples_of(name: str) -> list[doctest.DocTest]:
    """The doctests of a public name: its own docstring, else its entry in ``mockserver.__test__``."""
    value = getattr(mockserver, name)
    finder = doctest.DocTestFinder(recurse=False)
    if isinstance(value, dict):
        own = []
    else:
        module = importlib.import_module(value.__module__)
        own = finder.find(value, name, module=module, globs=vars(module).copy())
    extra = mockserver.__test__.get(name)
    if extra is not None:
        own.append(doctest.DocTestParser().get_doctest(extra, vars(mockserver).copy(), name, "mockserver", 0))
    return [test for test in own if test.examples]


@pytest.mark.parametrize("name", EXPECTED)
def test_every_public_name_has_an_example_that_runs(name: str) -> None:
    tests = examples_of(name)
    assert tests, f"mockserver.{name} has no docstring example"
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize(("name", "module"), INTERNALS.items())
def test_internals_stay_importable_from_their_modules(name: str, module: str) -> None:
    value = getattr(importlib.import_module(module), name)
    with pytest.warns(DeprecationWarning, match=f"import it from {module}"):
        assert getattr(mockserver, name) is value


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mockserver.Nope  # type: ignore[attr-defined]


def test_the_package_docstring_example_runs() -> None:
    results = doctest.testmod(mockserver, optionflags=OPTIONS)
    assert results.attempted >= 3  # the package example and the two constants; the rest run in their modules
    assert results.failed == 0
