"""Small response helpers shared by the endpoints: JSON encoding and request ids."""

from __future__ import annotations

import json
import os
from typing import Any

from starlette.responses import Response

__all__ = ["json_response", "new_request_id"]

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def new_request_id() -> str:
    """A fresh ``x-request-id`` value."""
    return "req_" + os.urandom(12).hex()


def json_response(body: Any, status: int, request_id: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON response carrying ``x-request-id`` (and ``headers``)."""
    all_headers = {"x-request-id": request_id}
    if headers:
        all_headers.update(headers)
    return Response(_encode(body).encode(), status, all_headers, "application/json")
