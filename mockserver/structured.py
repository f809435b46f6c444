"""Structured output: ``response_format`` ``json_object`` and ``json_schema`` replies.

``{"type": "json_object"}`` gets a JSON object (``{"answer": <the default reply text>}``);
``{"type": "json_schema", "json_schema": {"name": ..., "schema": {...}}}`` gets a value valid
against ``schema``, generated from the mock's seed and the request (so the same request gets
the same JSON). The content is JSON text with spaces after ``,`` and ``:``, as models write it,
so a stream sends it in several pieces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mockserver.instances import SchemaError, instance_for
from mockserver.replies import Reply

__all__ = ["ResponseFormatError", "structured_reply"]


class ResponseFormatError(ValueError):
    """``response_format`` cannot be answered (answered with 400)."""


def structured_reply(response_format: Any, seed: int, prompt: str, text: str) -> Reply | None:
    """The JSON reply ``response_format`` asks for, or None for plain text.

    Args:
        response_format: the request's ``response_format`` (None, ``{"type": "text"}``, ...).
        seed: the mock's seed.
        prompt: the last user message (part of what the value is seeded with).
        text: the plain reply the request would get otherwise (used by ``json_object``).

    Raises:
        ResponseFormatError: a ``json_schema`` without a usable schema, or one no value satisfies.
    """
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return Reply(text=json.dumps({"answer": text}, ensure_ascii=False))
    if kind != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    if schema is None:
        schema = {"type": "object"}
    if not isinstance(schema, (Mapping, bool)):
        raise ResponseFormatError("response_format.json_schema.schema must be a JSON Schema object")
    name = spec.get("name") if isinstance(spec, Mapping) else None
    try:
        value = instance_for(schema, "json_schema", seed, name, json.dumps(schema, sort_keys=True, default=str), prompt)
    except SchemaError as exc:
        raise ResponseFormatError(f"response_format.json_schema.schema: {exc}") from None
    return Reply(text=json.dumps(value, ensure_ascii=False))
