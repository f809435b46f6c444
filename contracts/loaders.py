"""Load the contract's JSON Schemas and OpenAPI document from the installed package.

Schema files live in ``contracts/schemas/<name>.json``; each carries a Draft 2020-12 ``$id``.
The OpenAPI document on disk (``contracts/openapi.json``) refers to those files by relative
path; :func:`load_openapi` returns it *bundled* (every schema inlined under
``components/schemas``), which is what a server serves at ``/openapi.json`` and what
schemathesis loads.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["SCHEMA_BASE_URI", "load_openapi", "load_schema", "schema_names"]

SCHEMA_BASE_URI = "https://ainative-contract-kit.dev/schemas/"
"""Base of every schema ``$id``: ``SCHEMA_BASE_URI + name + ".json"``."""

_COMPONENTS = "#/components/schemas/"


def _read_json(*parts: str) -> Any:
    node = resources.files("contracts")
    for part in parts:
        node = node.joinpath(part)
    return json.loads(node.read_text(encoding="utf-8"))


@cache
def schema_names() -> tuple[str, ...]:
    """Names of every schema in the contract, sorted (file stems, e.g. ``"chat-request"``)."""
    folder = resources.files("contracts").joinpath("schemas")
    return tuple(sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json")))


@cache
def _schema(name: str) -> dict[str, Any]:
    if name not in schema_names():
        known = ", ".join(schema_names())
        raise KeyError(f"unknown schema {name!r}; the contract has: {known}")
    schema: dict[str, Any] = _read_json("schemas", f"{name}.json")
    return schema


def load_schema(name: str) -> dict[str, Any]:
    """Return a fresh copy of the JSON Schema called ``name``.

    Example:
        >>> load_schema("usage")["$id"]
        'https://ainative-contract-kit.dev/schemas/usage.json'
    """
    return copy.deepcopy(_schema(name))


def component_name(name: str) -> str:
    """The ``components/schemas`` key of schema ``name`` in the bundled OpenAPI (its title)."""
    title: str = _schema(name)["title"]
    return title


def _rewrite_ref(ref: str, own_name: str | None) -> str:
    """Map a file-relative ``$ref`` to a pointer inside the bundled OpenAPI document."""
    target, _, fragment = ref.partition("#")
    if not target:
        if own_name is None:
            return ref
        target_name = own_name
    else:
        stem = target.rsplit("/", 1)[-1]
        if not stem.endswith(".json"):
            raise ValueError(f"cannot bundle external $ref {ref!r}")
        target_name = stem[: -len(".json")]
    return _COMPONENTS + component_name(target_name) + fragment


def _bundle_node(node: Any, own_name: str | None) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = _rewrite_ref(value, own_name)
            elif key in ("$id", "$schema") and own_name is not None:
                continue
            else:
                out[key] = _bundle_node(value, own_name)
        return out
    if isinstance(node, list):
        return [_bundle_node(item, own_name) for item in node]
    return node


@cache
def _bundled_openapi() -> dict[str, Any]:
    document: dict[str, Any] = _bundle_node(_read_json("openapi.json"), None)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name in schema_names():
        components[component_name(name)] = _bundle_node(_schema(name), name)
    return document


def load_openapi(*, bundled: bool = True) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the API.

    Args:
        bundled: when true (the default) every schema is inlined under
            ``components/schemas`` and all ``$ref`` are local pointers, so the document
            stands alone (serve it, or give it to schemathesis). When false, the document
            exactly as stored, with ``$ref`` to ``schemas/<name>.json`` files.

    Example:
        >>> doc = load_openapi()
        >>> doc["openapi"]
        '3.1.0'
    """
    if bundled:
        return copy.deepcopy(_bundled_openapi())
    document: dict[str, Any] = _read_json("openapi.json")
    return document


def openapi_bytes() -> bytes:
    """The bundled OpenAPI document, JSON-encoded once and cached (for serving)."""
    return _openapi_bytes()


@cache
def _openapi_bytes() -> bytes:
    return json.dumps(_bundled_openapi(), separators=(",", ":")).encode()
