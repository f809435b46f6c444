"""Compiled validators for the contract's schemas, and errors that name the JSON path."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from contracts.loaders import SCHEMA_BASE_URI, load_schema, schema_names

__all__ = ["ContractViolation", "ContractViolationEntry", "errors_for", "is_valid", "validate", "validator_for"]


@dataclass(frozen=True, slots=True)
class ContractViolationEntry:
    """One way an instance breaks a schema: an entry of :attr:`ContractViolation.errors` (not an exception).

    Attributes:
        path: JSON path of the offending value, e.g. ``$.choices[0].finish_reason``.
        message: what is wrong, starting with the path.
        keyword: the JSON Schema keyword that failed (``required``, ``type``, ``const``...).
        location: the same path as a tuple of keys and indexes, e.g. ``("choices", 0, "finish_reason")``.
    """

    path: str
    message: str
    keyword: str
    location: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        return self.message


class ContractViolation(ValueError):
    """Raised by :func:`validate` when an instance does not match its schema."""

    def __init__(self, schema: str, errors: Sequence[ContractViolationEntry]) -> None:
        self.schema = schema
        self.errors = tuple(errors)
        lines = "\n".join(f"  - {error.message}" for error in self.errors)
        super().__init__(f"instance does not match schema {schema!r}:\n{lines}")


@cache
def _registry() -> Registry:
    resources = [
        (SCHEMA_BASE_URI + f"{name}.json", Resource.from_contents(load_schema(name))) for name in schema_names()
    ]
    return Registry().with_resources(resources)


@cache
def validator_for(name: str) -> Draft202012Validator:
    """Return the compiled validator of schema ``name`` (format checking on), built once.

    Example:
        >>> validator_for("usage").is_valid({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
        True
    """
    schema = load_schema(name)
    return Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def json_path(parts: Iterable[str | int]) -> str:
    """Render a jsonschema ``absolute_path`` as a JSON path: ``$.choices[0].delta``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _leaves(error: ValidationError) -> Iterable[ValidationError]:
    # anyOf/oneOf report one summary error; its context holds what each branch wanted.
    # Report the deepest errors of the branch that got furthest, which name the real field.
    if error.context:
        deepest = max(_depth(e) for e in error.context)
        if deepest > _depth(error):
            for sub in error.context:
                if _depth(sub) == deepest:
                    yield from _leaves(sub)
            return
    yield error


def _missing_key(error: ValidationError) -> str | None:
    """The property a ``required`` error reports missing (jsonschema raises one error per property)."""
    required = error.validator_value
    if error.validator != "required" or not isinstance(error.instance, Mapping) or not isinstance(required, list):
        return None
    for key in required:
        if key not in error.instance and error.message == f"{key!r} is a required property":
            return str(key)
    return None


def _depth(error: ValidationError) -> int:
    # A missing property is one level below the object that lacks it.
    return len(error.absolute_path) + (_missing_key(error) is not None)


def _describe(error: ValidationError) -> ContractViolationEntry:
    path_parts: list[str | int] = list(error.absolute_path)
    missing = _missing_key(error)
    if missing is not None:
        path_parts.append(missing)
    path = json_path(path_parts)
    return ContractViolationEntry(
        path=path, message=f"{path}: {error.message}", keyword=str(error.validator), location=tuple(path_parts)
    )


def errors_for(name: str, instance: Any) -> list[ContractViolationEntry]:
    """Every way ``instance`` breaks schema ``name`` (empty when it conforms), sorted by path."""
    found: dict[tuple[str, str], ContractViolationEntry] = {}
    for error in validator_for(name).iter_errors(instance):
        for leaf in _leaves(error):
            described = _describe(leaf)
            found.setdefault((described.path, described.message), described)
    return sorted(found.values(), key=lambda e: (e.path, e.message))


@cache
def _fast_validator(name: str) -> Any:
    registry = jsonschema_rs.Registry(
        [(SCHEMA_BASE_URI + f"{schema}.json", load_schema(schema)) for schema in schema_names()]
    )
    return jsonschema_rs.validator_for(load_schema(name), registry=registry, validate_formats=True)


def is_valid(name: str, instance: Any) -> bool:
    """Whether ``instance`` conforms to schema ``name``: the fast check for hot paths.

    Uses the compiled Rust validator of ``jsonschema-rs`` (about a hundred times faster than
    :func:`validator_for`); :func:`errors_for` explains a ``False`` with the reference validator.
    The test suite holds the two to the same verdict on generated instances.
    """
    try:
        valid: bool = _fast_validator(name).is_valid(instance)
    except (ValueError, TypeError):  # not a JSON value (bytes, a set...): let the reference judge it
        return validator_for(name).is_valid(instance)
    return valid


def validate(name: str, instance: Any) -> None:
    """Raise :class:`ContractViolation` unless ``instance`` conforms to schema ``name``.

    Example:
        >>> validate("usage", {"prompt_tokens": 1, "completion_tokens": "2", "total_tokens": 3})
        Traceback (most recent call last):
        ...
        contracts.validation.ContractViolation: instance does not match schema 'usage':
          - $.completion_tokens: '2' is not of type 'integer'
    """
    if is_valid(name, instance):
        return
    raise ContractViolation(name, errors_for(name, instance))


def __getattr__(name: str) -> Any:
    if name == "ContractError":  # deprecated in 0.2: the entry was never an exception
        warnings.warn(
            "contracts.ContractError is deprecated; use contracts.ContractViolationEntry",
            DeprecationWarning,
            stacklevel=2,
        )
        return ContractViolationEntry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
