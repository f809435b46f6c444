"""Deterministic JSON values that satisfy a JSON Schema: tool-call arguments and structured output.

:func:`instance_for` walks a schema (the subset function ``parameters`` and ``response_format``
schemas use: objects with ``properties``/``required``/``additionalProperties``, strings with
lengths, enums and common formats, numbers and integers with bounds and ``multipleOf``,
booleans, null, arrays with ``items``/``prefixItems`` and item counts, ``const``, ``enum``,
``anyOf``/``oneOf``/``allOf``, local ``$ref`` into ``$defs``/``definitions``) and builds a value
from a seeded random generator. The same schema and seed give the same value, so the same
request always gets the same arguments.

Example:
    >>> schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    >>> value = instance_for(schema, "seed-1")
    >>> sorted(value) == ["city"] and value == instance_for(schema, "seed-1")
    True
"""

from __future__ import annotations

import hashlib
import math
import random
import string
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

__all__ = ["SchemaError", "instance_for", "seeded_random"]

_WORDS = (
    "alpha",
    "bravo",
    "paris",
    "london",
    "mock",
    "ainative",
    "delta",
    "river",
    "green",
    "sample",
    "value",
    "tokyo",
)
_FORMATS = {
    "date-time": "2026-01-15T09:30:00Z",
    "date": "2026-01-15",
    "time": "09:30:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/item",
    "url": "https://example.com/item",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "duration": "P1D",
}
_MAX_DEPTH = 12
_MAX_SIZE = 1000
"""Largest minLength / minItems / minProperties honoured: a reply is never built bigger than this."""


class SchemaError(ValueError):
    """The schema asks for something no value can satisfy, or something this generator cannot build."""


def seeded_random(*parts: object) -> random.Random:
    """A random generator seeded from ``parts`` (stable across processes, unlike ``hash``)."""
    digest = hashlib.blake2b("\x00".join(str(p) for p in parts).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def instance_for(schema: Any, *seed: object) -> Any:
    """A value valid against ``schema``, the same for the same ``schema`` and ``seed``.

    Raises:
        SchemaError: the schema cannot be satisfied (or uses a feature this generator lacks).
    """
    try:
        value = _Builder(schema, seeded_random(*seed)).build(schema, 0)
    except SchemaError:
        raise
    except (TypeError, ValueError, OverflowError, RecursionError, KeyError, AttributeError, IndexError) as exc:
        # A keyword with a value of the wrong kind ({"minLength": "x"}, {"enum": 5}, ...).
        raise SchemaError(f"unusable schema ({type(exc).__name__}: {exc})") from None
    _check(schema, value)
    return value


def _check(schema: Any, value: Any) -> None:
    """Refuse rather than answer a value the schema rejects (keywords the builder ignores: not, if, ...)."""
    try:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    except Exception as exc:  # a schema jsonschema itself cannot use
        raise SchemaError(f"unusable schema ({type(exc).__name__})") from None
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_schema_path) or "the root"
        raise SchemaError(f"the mock cannot build a value for this schema (at {where}: {error.message})")


class _Builder:
    def __init__(self, root: Any, rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def resolve(self, schema: Mapping[str, Any]) -> Any:
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return schema
        if not ref.startswith("#"):
            raise SchemaError(f"only local $ref is supported, not {ref!r}")
        node: Any = self.root
        for raw in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                raise SchemaError(f"$ref {ref!r} points nowhere")
            node = node[part]
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        if isinstance(node, Mapping):
            return {**node, **merged} if merged else node
        return node

    def build(self, schema: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise SchemaError("schema nests too deeply (or recurses without end)")
        if schema is True or schema is None or schema == {}:
            return self.rng.choice(_WORDS)
        if schema is False:
            raise SchemaError("schema false allows no value")
        if not isinstance(schema, Mapping):
            raise SchemaError(f"not a schema: {schema!r}")
        schema = self.resolve(schema)
        if "$ref" in schema:
            schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if not options:
                raise SchemaError("empty enum")
            return options[self.rng.randrange(len(options))]
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for item in schema["allOf"]:
                part = self.resolve(item) if isinstance(item, Mapping) else item
                if isinstance(part, Mapping):
                    merged = _merge(merged, part)
            return self.build(merged, depth + 1)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if o is not False]
                if not options:
                    raise SchemaError(f"{key} has no usable option")
                rest = {k: v for k, v in schema.items() if k != key}
                # Prefer a non-null option, so Optional[...] fields carry a value.
                non_null = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
                pick = (non_null or options)[self.rng.randrange(len(non_null or options))]
                chosen = _merge(rest, self.resolve(pick)) if isinstance(pick, Mapping) else pick
                return self.build(chosen, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"] or kind
            kind = kinds[self.rng.randrange(len(kinds))] if kinds else "null"
        if kind is None:
            kind = _guess_type(schema)
        builders: dict[str, Callable[[Mapping[str, Any], int], Any]] = {
            "object": self.object,
            "array": self.array,
            "string": self.string,
            "integer": self.integer,
            "number": self.number,
            "boolean": self.boolean,
            "null": self.null,
        }
        builder = builders.get(kind) if isinstance(kind, str) else None
        if builder is None:
            raise SchemaError(f"unknown type {kind!r}")
        return builder(schema, depth)

    def boolean(self, schema: Mapping[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def null(self, schema: Mapping[str, Any], depth: int) -> None:
        return None

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = [name for name in schema.get("required") or () if isinstance(name, str)]
        out: dict[str, Any] = {}
        # Required properties, then the optional ones (all of them: a fuller example reads better).
        names = list(dict.fromkeys([*required, *properties]))
        additional = schema.get("additionalProperties", True)
        for name in names:
            if name in properties:
                out[name] = self.build(properties[name], depth + 1)
            elif additional is False:
                raise SchemaError(f"required property {name!r} is not allowed by additionalProperties: false")
            else:
                out[name] = self.build(additional if isinstance(additional, Mapping) else {}, depth + 1)
        minimum = _limit(schema, "minProperties")
        extra = 0
        while len(out) < minimum:
            if additional is False:
                raise SchemaError("minProperties cannot be met without additional properties")
            out[f"extra_{extra}"] = self.build(additional if isinstance(additional, Mapping) else {}, depth + 1)
            extra += 1
        maximum = schema.get("maxProperties")
        if maximum is not None and len(out) > int(maximum):
            for name in [n for n in out if n not in required][: len(out) - int(maximum)]:
                del out[name]
        return out

    def array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = list(schema.get("prefixItems") or ())
        low = _limit(schema, "minItems")
        high = int(schema["maxItems"]) if "maxItems" in schema else max(low, 3)
        if high < low:
            raise SchemaError("maxItems is below minItems")
        pick_low = min(max(low, 1), high)
        count = self.rng.randint(pick_low, min(high, max(pick_low, 3)))
        items = schema.get("items", {})
        out = []
        for index in range(count):
            item_schema = prefix[index] if index < len(prefix) else items
            if item_schema is False:
                break
            out.append(self.build(item_schema, depth + 1))
        if schema.get("uniqueItems"):
            unique: list[Any] = []
            for value in out:
                if value not in unique:
                    unique.append(value)
            out = unique
            if len(out) < low:
                raise SchemaError("cannot build enough unique items")
        return out

    def string(self, schema: Mapping[str, Any], depth: int) -> str:
        low = _limit(schema, "minLength")
        high = int(schema["maxLength"]) if "maxLength" in schema else max(low, 24)
        if high < low:
            raise SchemaError("maxLength is below minLength")
        fmt = schema.get("format")
        if "maxLength" not in schema and isinstance(fmt, str) and fmt in _FORMATS:
            high = max(high, len(_FORMATS[fmt]))
        if isinstance(fmt, str) and fmt in _FORMATS:
            if not low <= len(_FORMATS[fmt]) <= high:
                raise SchemaError(f"no {fmt} string fits minLength {low} / maxLength {high}")
            return _FORMATS[fmt]
        if "pattern" in schema:
            raise SchemaError("string patterns are not supported")
        words = [self.rng.choice(_WORDS) for _ in range(self.rng.randint(1, 3))]
        text = " ".join(words)
        while len(text) < low:
            text += " " + self.rng.choice(_WORDS)
        text = text[:high].rstrip() if len(text) > high else text
        while len(text) < low:  # rstrip may have shortened it below the minimum
            text += self.rng.choice(string.ascii_lowercase)
        return text

    def integer(self, schema: Mapping[str, Any], depth: int) -> int:
        low, high = _bounds(schema, integer=True)
        step = schema.get("multipleOf")
        if step is not None:
            step = _step(step)
            first, last = math.ceil(low / step), math.floor(high / step)
            if first > last:
                raise SchemaError("no multiple of multipleOf within the bounds")
            value = self.rng.randint(first, last) * step
            if not float(value).is_integer():
                raise SchemaError("multipleOf gives no integer within the bounds")
            return int(value)
        if low > high:
            raise SchemaError("minimum is above maximum")
        return self.rng.randint(int(low), int(high))

    def number(self, schema: Mapping[str, Any], depth: int) -> float | int:
        if schema.get("multipleOf") is not None:
            step = _step(schema["multipleOf"])
            low, high = _bounds(schema, integer=False)
            first, last = math.ceil(low / step), math.floor(high / step)
            if first > last:
                raise SchemaError("no multiple of multipleOf within the bounds")
            multiple = self.rng.randint(first, last) * step
            return int(multiple) if float(multiple).is_integer() else multiple
        low, high = _bounds(schema, integer=False)
        if low > high:
            raise SchemaError("minimum is above maximum")
        value = round(self.rng.uniform(low, high), 2)
        if value < low or value > high or not _inside(schema, value):
            value = (low + high) / 2
        if not _inside(schema, value):
            raise SchemaError("no number fits the bounds")
        return value


def _limit(schema: Mapping[str, Any], key: str) -> int:
    value = int(schema.get(key, 0))
    if value > _MAX_SIZE:
        raise SchemaError(f"{key} {value} is larger than the mock builds ({_MAX_SIZE})")
    return value


def _inside(schema: Mapping[str, Any], value: float) -> bool:
    if "minimum" in schema and value < schema["minimum"]:
        return False
    if "maximum" in schema and value > schema["maximum"]:
        return False
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return False
    return not ("exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"])


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    low: float = -100.0
    high: float = 100.0
    nudge = 1 if integer else 0.01
    if "minimum" in schema:
        low = float(schema["minimum"])
    if "exclusiveMinimum" in schema:
        low = (
            max(low, float(schema["exclusiveMinimum"]) + nudge)
            if "minimum" in schema
            else float(schema["exclusiveMinimum"]) + nudge
        )
    if "maximum" in schema:
        high = float(schema["maximum"])
    if "exclusiveMaximum" in schema:
        high = (
            min(high, float(schema["exclusiveMaximum"]) - nudge)
            if "maximum" in schema
            else float(schema["exclusiveMaximum"]) - nudge
        )
    if "minimum" in schema or "exclusiveMinimum" in schema:
        if not ("maximum" in schema or "exclusiveMaximum" in schema):
            high = low + 100
    elif "maximum" in schema or "exclusiveMaximum" in schema:
        low = high - 100
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SchemaError("numeric bounds must be finite")
    if integer:
        low, high = float(math.ceil(low)), float(math.floor(high))
    return low, high


def _guess_type(schema: Mapping[str, Any]) -> str:
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if {"minLength", "maxLength", "format", "pattern"} & set(schema):
        return "string"
    if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"} & set(schema):
        return "number"
    return "string"


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        elif key == "required" and isinstance(out.get(key), list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        else:
            out[key] = value
    return out


def _step(value: Any) -> float:
    """``multipleOf`` as a float: JSON Schema wants a number above 0; anything else no value can meet."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        raise SchemaError(f"multipleOf must be a number above 0, not {value!r}")
    return float(value)
