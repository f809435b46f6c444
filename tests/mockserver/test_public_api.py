"""The public surface of ``mockserver`` is deliberate: changing it must change this test."""

from __future__ import annotations

import doctest

import mockserver

EXPECTED = [
    "DEFAULT_MODELS",
    "MAGIC_KEYS",
    "MAGIC_MODELS",
    "AINativeMock",
    "ConfigError",
    "Fault",
    "FaultError",
    "InProcessMock",
    "JournalEntry",
    "MockConfig",
    "MockController",
    "MockState",
    "ModelInfo",
    "ReplyRule",
    "ServedMock",
    "ServerThread",
    "UnusedMockError",
    "create_app",
    "load_config",
    "parse_fault",
]


def test_all_is_exactly_the_expected_names() -> None:
    assert mockserver.__all__ == EXPECTED


def test_every_exported_name_exists_and_is_documented() -> None:
    for name in mockserver.__all__:
        value = getattr(mockserver, name)
        if callable(value):
            assert value.__doc__, f"mockserver.{name} has no docstring"


def test_the_package_docstring_example_runs() -> None:
    results = doctest.testmod(mockserver, raise_on_error=False)
    assert results.attempted >= 2
    assert results.failed == 0
