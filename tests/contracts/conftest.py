"""Fixtures shared by the contract-layer tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import schemathesis

import contracts

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The root of the ainative-contract-kit checkout these tests live in."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def openapi_generator() -> ModuleType:
    """scripts/build_openapi.py, imported from its path (scripts/ is not a package)."""
    path = REPO_ROOT / "scripts" / "build_openapi.py"
    spec = importlib.util.spec_from_file_location("build_openapi", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def api_schema() -> schemathesis.BaseSchema:
    """The bundled OpenAPI document, loaded by schemathesis with its default configuration."""
    # An explicit config stops schemathesis from discovering the repository's schemathesis.toml,
    # which targets a live server (base-url and headers from the environment) and adds hooks.
    return schemathesis.openapi.from_dict(contracts.load_openapi(), config=schemathesis.Config())
