"""The public surface of ``contracts`` is deliberate: changing it must change this test."""

from __future__ import annotations

from types import ModuleType

import pytest

import contracts

EXPECTED_ALL = [
    "SCHEMA_BASE_URI",
    "ContractViolation",
    "ContractViolationEntry",
    "errors_for",
    "is_valid",
    "load_openapi",
    "load_schema",
    "openapi_bytes",
    "schema_names",
    "validate",
    "validator_for",
]


def test_all_is_exactly_the_expected_names() -> None:
    assert contracts.__all__ == EXPECTED_ALL


def isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_sorted_isort_style() -> None:
    assert contracts.__all__ == sorted(contracts.__all__, key=isort_style)


def test_every_exported_name_exists() -> None:
    missing = [name for name in contracts.__all__ if not hasattr(contracts, name)]
    assert missing == []


def test_no_public_name_outside_all() -> None:
    names = vars(contracts).items()
    public = {name for name, value in names if not name.startswith("_") and not isinstance(value, ModuleType)}
    assert public == set(contracts.__all__)


@pytest.mark.parametrize("name", contracts.schema_names())
def test_validator_is_built_once_per_schema(name: str) -> None:
    assert contracts.validator_for(name) is contracts.validator_for(name)


def test_validators_of_different_schemas_differ() -> None:
    assert contracts.validator_for("usage") is not contracts.validator_for("chat-request")


def test_validators_check_formats() -> None:
    assert contracts.validator_for("credits-balance").format_checker is not None


def test_contract_violation_is_a_value_error() -> None:
    assert issubclass(contracts.ContractViolation, ValueError)


def test_contract_error_is_a_deprecated_alias_of_the_entry() -> None:
    with pytest.warns(DeprecationWarning, match="ContractViolationEntry"):
        from contracts import ContractError
    assert ContractError is contracts.ContractViolationEntry
    with pytest.warns(DeprecationWarning, match="ContractViolationEntry"):
        assert contracts.validation.ContractError is contracts.ContractViolationEntry
    assert all(isinstance(e, contracts.ContractViolationEntry) for e in contracts.errors_for("usage", {}))
    assert not issubclass(contracts.ContractViolationEntry, BaseException)
