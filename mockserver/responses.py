"""Small response helpers shared by the endpoints: JSON encoding and request ids."""

from __future__ import annotations

import json
import os
from typing import Any

import orjson
from starlette.responses import Response

from mockserver.errors import error_body

__all__ = ["JSONBytes", "encode_json", "error_response", "json_response", "new_request_id"]

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_json(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON: orjson, or the standard library for what orjson refuses.

    orjson refuses integers beyond 64 bits, non-string keys and lone surrogates; the standard
    library encodes the first two the same way (and raises for the last, as before).
    """
    try:
        return orjson.dumps(body)
    except TypeError:
        return _encode(body).encode()


def new_request_id() -> str:
    """A fresh ``x-request-id`` value."""
    return "req_" + os.urandom(12).hex()


class JSONBytes(Response):
    """A ``Response`` whose raw headers are built directly (``Response.__init__`` costs more)."""

    background = None

    def __init__(self, content: bytes, status: int, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.body = content
        self.status_code = status
        self.raw_headers = raw_headers


def json_response(body: Any, status: int, request_id: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON response carrying ``x-request-id`` (and ``headers``)."""
    content = encode_json(body)
    raw = [
        (b"content-length", str(len(content)).encode()),
        (b"content-type", b"application/json"),
        (b"x-request-id", request_id.encode()),
    ]
    if headers:
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return JSONBytes(content, status, raw)


def error_response(
    style: str,
    status: int,
    message: str | None = None,
    *,
    code: str | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error in ``style`` (see :func:`mockserver.errors.error_body`) as a JSON response."""
    return json_response(error_body(style, status, message, code), status, request_id or new_request_id(), headers)
