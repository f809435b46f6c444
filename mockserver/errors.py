"""Error bodies in the three styles clients parse (CONTRACT-NOTES section 7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ERRORS", "ErrorSpec", "error_body", "validation_body"]


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """What an error status means: default message, OpenAI ``type`` and ``code``."""

    status: int
    message: str
    type: str
    code: str


ERRORS: dict[int, ErrorSpec] = {
    spec.status: spec
    for spec in (
        ErrorSpec(400, "Bad request", "invalid_request_error", "bad_request"),
        ErrorSpec(401, "Invalid API key", "authentication_error", "invalid_api_key"),
        ErrorSpec(402, "Insufficient credits", "insufficient_quota", "insufficient_credits"),
        ErrorSpec(403, "Model not available on your plan", "permission_error", "model_not_available"),
        ErrorSpec(404, "Not found", "not_found_error", "not_found"),
        ErrorSpec(405, "Method not allowed", "invalid_request_error", "method_not_allowed"),
        ErrorSpec(413, "Request body too large", "invalid_request_error", "request_too_large"),
        ErrorSpec(415, "Content-Type must be application/json", "invalid_request_error", "unsupported_media_type"),
        ErrorSpec(422, "Request validation failed", "invalid_request_error", "validation_error"),
        ErrorSpec(429, "Rate limit exceeded", "rate_limit_error", "rate_limit_exceeded"),
        ErrorSpec(500, "Internal server error", "server_error", "internal_error"),
        ErrorSpec(502, "Upstream provider error", "server_error", "bad_gateway"),
        ErrorSpec(503, "Model unavailable", "service_unavailable", "model_not_available"),
    )
}


def spec_for(status: int) -> ErrorSpec:
    """The :class:`ErrorSpec` of ``status`` (a generic one for statuses without an entry)."""
    spec = ERRORS.get(status)
    if spec is None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        spec = ErrorSpec(status, f"HTTP {status}", kind, f"http_{status}")
    return spec


def error_body(style: str, status: int, message: str | None = None, code: str | None = None) -> dict[str, Any]:
    """The JSON body of an error in ``style`` (``detail``, ``openai`` or ``compat``).

    Example:
        >>> error_body("detail", 402)
        {'detail': 'Insufficient credits'}
        >>> error_body("openai", 401)["error"]["code"]
        'invalid_api_key'
    """
    spec = spec_for(status)
    text = message or spec.message
    error_code = code or spec.code
    if style == "detail":
        return {"detail": text}
    openai = {"message": text, "type": spec.type, "code": error_code, "param": None}
    if style == "openai":
        return {"error": openai}
    return {"detail": text, "code": error_code.upper(), "message": text, "error": openai}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid field of a request body (FastAPI ``detail`` item)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


def validation_body(style: str, problems: Sequence[FieldProblem]) -> dict[str, Any]:
    """The 422 body naming each bad field, FastAPI-shaped (``detail`` list) in every style but openai."""
    detail = [{"loc": list(p.loc), "msg": p.msg, "type": p.type} for p in problems]
    first = problems[0]
    field = ".".join(str(part) for part in first.loc[1:]) or "body"
    summary = f"{field}: {first.msg}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    openai = {"message": summary, "type": "invalid_request_error", "code": "validation_error", "param": field}
    if style == "detail":
        return {"detail": detail}
    if style == "openai":
        return {"error": openai}
    return {"detail": detail, "code": "VALIDATION_ERROR", "message": summary, "error": openai}
