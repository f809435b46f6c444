"""Reading and checking request bodies: size limit, content type, JSON, and the contract."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

import contracts
from mockserver.errors import FieldProblem

__all__ = ["BodyError", "read_json_body"]

_TYPE_NAMES = {
    "required": "missing",
    "type": "type_error",
    "minimum": "greater_than_equal",
    "maximum": "less_than_equal",
    "minItems": "too_short",
    "minLength": "string_too_short",
    "enum": "enum",
    "const": "literal_error",
}


class BodyError(Exception):
    """The body cannot be used: ``status`` (413, 415 or 422), a message, and per-field problems."""

    def __init__(self, status: int, message: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []


def _short(message: str, limit: int = 200) -> str:
    # jsonschema quotes the offending value; a 1 MiB string must not come back in the error.
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"Request body of {declared} bytes is larger than the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"Request body is larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request, limit: int, schema: str) -> dict[str, Any]:
    """Read the body (at most ``limit`` bytes), parse JSON, and validate it against ``schema``.

    A missing content type is read as JSON (as FastAPI does); any other non-JSON type gets 415.
    """
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise BodyError(415, f"Content-Type {media!r} is not supported; send application/json")
    raw = await _read_limited(request, limit)
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise BodyError(
            422, "JSON is nested too deeply", [FieldProblem(("body",), "JSON is nested too deeply", "json_invalid")]
        ) from None
    except UnicodeDecodeError:
        raise BodyError(
            422, "Body is not valid UTF-8", [FieldProblem(("body",), "Body is not valid UTF-8", "json_invalid")]
        ) from None
    except ValueError as exc:
        message = "Body is empty" if not raw.strip() else f"JSON decode error: {exc}"
        raise BodyError(422, message, [FieldProblem(("body",), message, "json_invalid")]) from None
    validator = contracts.validator_for(schema)
    if not validator.is_valid(body):
        problems = [
            FieldProblem(
                ("body", *error.location),
                _short(error.message.split(": ", 1)[-1]),
                _TYPE_NAMES.get(error.keyword, error.keyword),
            )
            for error in contracts.errors_for(schema, body)
        ]
        raise BodyError(422, problems[0].msg, problems)
    result: dict[str, Any] = body
    return result
