"""Every schema file is a well-formed Draft 2020-12 schema that names itself and its own examples pass."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

import contracts

EXPECTED_SCHEMAS = (
    "chat-completion",
    "chat-completion-chunk",
    "chat-request",
    "credits-balance",
    "error",
    "error-compat",
    "error-detail",
    "error-openai",
    "models-list",
    "usage",
)


def _own_examples() -> list[Any]:
    return [
        pytest.param(name, example, id=f"{name}-example{index}")
        for name in contracts.schema_names()
        for index, example in enumerate(contracts.load_schema(name).get("examples", []))
    ]


def test_the_contract_has_exactly_the_expected_schemas() -> None:
    assert contracts.schema_names() == EXPECTED_SCHEMAS


@pytest.mark.parametrize("name", EXPECTED_SCHEMAS)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = contracts.load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("name", EXPECTED_SCHEMAS)
def test_schema_id_is_base_uri_plus_file_name(name: str) -> None:
    assert contracts.load_schema(name)["$id"] == f"{contracts.SCHEMA_BASE_URI}{name}.json"


@pytest.mark.parametrize("name", EXPECTED_SCHEMAS)
def test_schema_has_a_title_and_description(name: str) -> None:
    schema = contracts.load_schema(name)
    assert schema["title"].strip()
    assert schema["description"].strip()


def test_schema_titles_are_unique() -> None:
    titles = [contracts.load_schema(name)["title"] for name in EXPECTED_SCHEMAS]
    assert len(set(titles)) == len(titles)


def test_every_schema_but_the_union_carries_examples() -> None:
    without = [name for name in EXPECTED_SCHEMAS if not contracts.load_schema(name).get("examples")]
    assert without == ["error"]


@pytest.mark.parametrize(("name", "example"), _own_examples())
def test_schema_own_example_validates(name: str, example: Any) -> None:
    assert contracts.errors_for(name, example) == []
    contracts.validate(name, example)


def test_load_schema_returns_a_fresh_copy() -> None:
    first = contracts.load_schema("usage")
    first["required"].clear()
    assert contracts.load_schema("usage")["required"] == ["prompt_tokens", "completion_tokens", "total_tokens"]


def test_unknown_schema_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown schema 'chat-response'.*chat-request"):
        contracts.load_schema("chat-response")
