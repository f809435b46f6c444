"""Hypothesis strategies for the JSON Schemas tools and response formats use (shared by the property tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


@st.composite
def _string(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if draw(st.booleans()):
        schema["format"] = draw(st.sampled_from(["date-time", "date", "email", "uri", "uuid"]))
        return schema
    if draw(st.booleans()):
        schema["minLength"] = draw(st.integers(0, 20))
    if draw(st.booleans()):
        schema["maxLength"] = schema.get("minLength", 0) + draw(st.integers(0, 30))
    if draw(st.booleans()):
        schema["description"] = "a string"
    return schema


@st.composite
def _number(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    low = draw(st.integers(-1000, 1000))
    if draw(st.booleans()):
        schema["minimum"] = low
    if draw(st.booleans()):
        schema["maximum"] = low + draw(st.integers(2, 500))
    if draw(st.booleans()) and "minimum" not in schema:
        schema["exclusiveMinimum"] = low
    wide = "maximum" not in schema or schema["maximum"] - low >= 12  # room for a multiple of 5 inside
    if kind == "integer" and wide and draw(st.booleans()):
        schema["multipleOf"] = draw(st.sampled_from([1, 2, 5]))
    return schema


ENUMS = st.one_of(
    st.lists(NAMES, min_size=1, max_size=5, unique=True),
    st.lists(st.integers(-5, 50), min_size=1, max_size=5, unique=True),
).map(lambda values: {"enum": values})

LEAVES = st.one_of(
    _string(),
    _number("number"),
    _number("integer"),
    st.just({"type": "boolean"}),
    ENUMS,
    st.just({"type": ["string", "null"]}),
)


@st.composite
def _array(draw: st.DrawFn, items: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": draw(items)}
    if draw(st.booleans()):
        schema["minItems"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        schema["maxItems"] = schema.get("minItems", 0) + draw(st.integers(0, 3))
    return schema


@st.composite
def _object(draw: st.DrawFn, values: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    properties = draw(st.dictionaries(NAMES, values, min_size=0, max_size=5))
    names = sorted(properties)
    required = [name for name in names if draw(st.booleans())]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required or draw(st.booleans()):
        schema["required"] = required
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(_array(children), _object(children))


VALUES = st.recursive(LEAVES, _extend, max_leaves=12)
PARAMETERS = _object(VALUES)
"""Function ``parameters`` schemas: objects whose properties are strings, numbers, integers,
booleans, enums, arrays and nested objects, with ``required`` lists."""
