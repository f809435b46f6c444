"""The AINative Chat Completions contract: JSON Schemas, the OpenAPI document, validators.

Example:
    >>> import contracts
    >>> contracts.validate("usage", {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
    >>> contracts.load_openapi()["info"]["title"]
    'AINative Chat Completions API'
"""

from contracts.loaders import SCHEMA_BASE_URI, load_openapi, load_schema, openapi_bytes, schema_names
from contracts.validation import (
    ContractViolation,
    ContractViolationEntry,
    errors_for,
    is_valid,
    validate,
    validator_for,
)

__all__ = [
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


def __getattr__(name: str) -> object:
    if name == "ContractError":  # deprecated alias of ContractViolationEntry, kept for one release
        from contracts import validation

        return getattr(validation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
