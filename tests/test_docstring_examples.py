"""Every ``Example:`` in a docstring of the packages runs and shows what it claims."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import contracts
import mockserver

MODULES = sorted(
    info.name
    for package in (contracts, mockserver)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    if not info.name.startswith("contracts.suite.test_") and not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", ["contracts", "mockserver", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    results = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert results.failed == 0, f"{results.failed} docstring example(s) of {name} failed"


def test_the_packages_have_examples_to_run() -> None:
    attempted = sum(doctest.testmod(importlib.import_module(name)).attempted for name in MODULES)
    assert attempted >= 15
