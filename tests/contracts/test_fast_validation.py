"""The fast validator (jsonschema-rs) and the reference one (jsonschema) give the same verdict."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contracts

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats(-3, 3, allow_nan=False) | st.text(max_size=8)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
ROLES = st.sampled_from(["system", "developer", "user", "assistant", "tool", "wizard", "", 3])


def property_names(name: str) -> list[str]:
    schema = contracts.load_schema(name)
    names = set(schema.get("properties", {}))
    for definition in schema.get("$defs", {}).values():
        names |= set(definition.get("properties", {}))
    return sorted(names) or ["detail", "error"]


def near_valid(name: str) -> st.SearchStrategy[Any]:
    """Objects built from the schema's own property names and its examples, mutated at random."""
    examples = contracts.load_schema(name).get("examples", [{}])
    keys = st.sampled_from(property_names(name))
    mutated = st.tuples(st.sampled_from(examples), st.dictionaries(keys, JSON, max_size=3), st.lists(keys, max_size=2))
    return mutated.map(lambda t: {k: v for k, v in {**t[0], **t[1]}.items() if k not in t[2]}) | st.dictionaries(
        keys, JSON, max_size=5
    )


def agree(name: str, instance: Any) -> None:
    reference = contracts.validator_for(name).is_valid(instance)
    assert contracts.is_valid(name, instance) is reference, (name, instance)
    assert bool(contracts.errors_for(name, instance)) is (not reference)


@pytest.mark.parametrize("name", contracts.schema_names())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_and_reference_validators_agree(name: str, data: st.DataObject) -> None:
    agree(name, data.draw(near_valid(name)))


@settings(max_examples=150, deadline=None)
@given(
    messages=st.lists(
        st.fixed_dictionaries({"role": ROLES}, optional={"content": JSON, "tool_calls": JSON}), max_size=3
    )
)
def test_agree_on_message_lists(messages: list[dict[str, Any]]) -> None:
    agree("chat-request", {"messages": messages})


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_agree_on_requests_schemathesis_generates(mode: str) -> None:
    schema = schemathesis.openapi.from_dict(contracts.load_openapi(), config=schemathesis.Config())
    operation = schema["/api/v1/chat/completions"]["POST"]
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: Any) -> None:
        agree("chat-request", case.body)

    check()
