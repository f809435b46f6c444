"""Reading and checking request bodies: size limit, content type, JSON, and the contract."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.types import Receive

import contracts
from mockserver.errors import FieldProblem

__all__ = ["BodyError", "parse_json", "parse_json_body", "read_json", "read_json_body", "read_raw"]

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


MAX_DEPTH = 64
"""Deepest JSON nesting accepted: real chat bodies need about 6 levels; deeper ones are refused
before validation, whose recursion could otherwise run out of stack."""


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _reject_constant_early(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant_early, parse_float=_finite_float)


_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def _loads(raw: bytes) -> Any:
    """Parse with orjson; the standard library (and its error messages) for anything orjson refuses.

    orjson reads integers beyond 64 bits as floats, so a body with a 19-digit run goes to the
    standard library too (which keeps them exact), as does every body orjson rejects: infinite
    numbers, lone surrogates, a byte-order mark, deep nesting, invalid JSON.
    """
    if _LONG_DIGIT_RUN not in raw.translate(_DIGITS_AS_ZERO):  # no run of 19 digits (twice as fast as a regex)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return _DECODER.decode(raw.decode("utf-8"))


def _has_lone_surrogate(body: Any) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _short(message: str, limit: int = 200) -> str:
    # jsonschema quotes the offending value; a 1 MiB string must not come back in the error.
    return message if len(message) <= limit else message[: limit - 1] + "…"


async def read_raw(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    """Read the body bytes (at most ``limit``), straight from the ASGI channel, if its type can be JSON.

    A missing content type is read as JSON (as FastAPI does); any other non-JSON type gets 415.

    Raises:
        BodyError: 400 (client gone), 413 (too large) or 415 (not JSON).
    """
    content_type = headers.get("content-type", "")
    if content_type != "application/json":  # the common case needs no parsing
        media = content_type.split(";", 1)[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            raise BodyError(415, f"Content-Type {media!r} is not supported; send application/json")
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"Request body of {declared} bytes is larger than the {limit}-byte limit")
    chunks: list[bytes] | None = None  # only for a body in several messages
    size = 0
    while True:  # straight from the ASGI channel: cheaper than Request.stream() on the hot path
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyError(400, "The client disconnected before sending the whole body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"Request body is larger than the {limit}-byte limit")
        if not message.get("more_body", False):
            if chunks is None:
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        if chunks is None:
            chunks = []
        chunks.append(chunk)


def parse_json(raw: bytes, *, empty: Any = None) -> Any:
    """``raw`` parsed as JSON; an empty body is ``empty`` when that is given, else a 422.

    Raises:
        BodyError: 422 (not usable JSON).
    """
    if empty is not None and not raw.strip():
        return empty
    try:
        body = _loads(raw)
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
    if b"\\u" in raw and _has_lone_surrogate(body):
        message = "JSON has a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is not text"
        raise BodyError(422, message, [FieldProblem(("body",), message, "json_invalid")])
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth_exceeds(body, MAX_DEPTH):
        message = f"JSON is nested more than {MAX_DEPTH} levels deep"
        raise BodyError(422, message, [FieldProblem(("body",), message, "json_invalid")])
    return body


def parse_json_body(raw: bytes, schema: str) -> dict[str, Any]:
    """``raw`` parsed as :func:`parse_json` does and validated against the contract's ``schema``.

    Raises:
        BodyError: 422 (not usable JSON, or not what ``schema`` asks for).
    """
    body = parse_json(raw)
    if not contracts.is_valid(schema, body):
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


async def read_json(receive: Receive, headers: Mapping[str, str], limit: int, *, empty: Any = None) -> Any:
    """Read the body (at most ``limit`` bytes) and parse it as JSON (:func:`read_raw`, :func:`parse_json`).

    A missing content type is read as JSON (as FastAPI does); any other non-JSON type gets 415.
    An empty body is ``empty`` when that is given, else a 422.

    Raises:
        BodyError: 400 (client gone), 413 (too large), 415 (not JSON) or 422 (not usable JSON).
    """
    return parse_json(await read_raw(receive, headers, limit), empty=empty)


async def read_json_body(receive: Receive, headers: Mapping[str, str], limit: int, schema: str) -> dict[str, Any]:
    """Read the body as :func:`read_json` does and validate it against the contract's ``schema``."""
    return parse_json_body(await read_raw(receive, headers, limit), schema)
