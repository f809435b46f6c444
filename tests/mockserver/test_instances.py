"""Generated values (tool arguments, structured output) validate against their schemas, deterministically."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.instances import SchemaError, instance_for
from tests.mockserver.schema_strategies import PARAMETERS, VALUES

VALIDATOR = jsonschema.Draft202012Validator


def _valid(schema: Any, value: Any) -> None:
    VALIDATOR(schema, format_checker=VALIDATOR.FORMAT_CHECKER).validate(value)


@settings(max_examples=300, deadline=None)
@given(schema=PARAMETERS, seed=st.integers(0, 2**32))
def test_generated_arguments_validate_and_repeat(schema: dict[str, Any], seed: int) -> None:
    value = instance_for(schema, seed, "prompt")
    _valid(schema, value)
    assert isinstance(value, dict)
    assert set(schema.get("required", ())) <= set(value)
    assert instance_for(schema, seed, "prompt") == value


@settings(max_examples=200, deadline=None)
@given(schema=VALUES, seed=st.integers(0, 2**32))
def test_any_value_schema_is_met(schema: dict[str, Any], seed: int) -> None:
    _valid(schema, instance_for(schema, seed))


def test_seeds_vary_the_value() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}
    assert len({str(instance_for(schema, seed)) for seed in range(20)}) > 10


def test_refs_defs_and_optional_fields_as_pydantic_writes_them() -> None:
    schema = {
        "$defs": {
            "Step": {"type": "object", "properties": {"explanation": {"type": "string"}}, "required": ["explanation"]}
        },
        "type": "object",
        "properties": {
            "steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}},
            "final": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "when": {"type": "string", "format": "date-time"},
            "kind": {"allOf": [{"$ref": "#/$defs/Step"}]},
        },
        "required": ["steps", "final", "when", "kind"],
        "additionalProperties": False,
    }
    value = instance_for(schema, 7)
    _valid(schema, value)
    assert value["steps"] and value["final"] is not None


@pytest.mark.parametrize(
    "schema",
    [
        False,
        {"type": "string", "minLength": 5, "maxLength": 2},
        {"type": "integer", "minimum": 3, "maximum": 1},
        {"enum": []},
        {"$ref": "#/$defs/missing"},
        {"$ref": "https://example.com/schema.json"},
        {"type": "object", "required": ["x"], "additionalProperties": False},
        {"type": "string", "pattern": "^[A-Z]{3}$"},
        {"type": "teapot"},
    ],
)
def test_unsatisfiable_schemas_are_refused_clearly(schema: Any) -> None:
    with pytest.raises(SchemaError):
        instance_for(schema, 1)


def test_recursive_schemas_stop() -> None:
    schema = {
        "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}, "required": ["next"]}},
        "$ref": "#/$defs/node",
    }
    with pytest.raises(SchemaError, match="deeply"):
        instance_for(schema, 1)
