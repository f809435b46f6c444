"""The control API under ``/_mock/``: the state's control operations over HTTP.

On by default when the server is bound to loopback; otherwise every call needs the admin token
(``Authorization: Bearer <token>`` or ``X-Admin-Token``). With an admin token set, it is always
required.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mockserver.config import ConfigError, config_as_dict
from mockserver.errors import FieldProblem, validation_body
from mockserver.faults import FaultError, fault_params_schema
from mockserver.net import is_loopback
from mockserver.requests_body import BodyError
from mockserver.responses import error_response, json_response, new_request_id

if TYPE_CHECKING:
    from mockserver.app import AINativeMock

__all__ = ["control_openapi_paths", "control_routes"]

KEY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "credits": {"type": "integer", "minimum": 0},
        "plan": {"type": "string", "minLength": 1},
        "rpm": {"type": "integer", "minimum": 0},
        "tpm": {"type": "integer", "minimum": 0},
        "unlimited": {"type": "boolean"},
    },
}
FAULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["fault"],
    "properties": {
        "fault": {"type": "string", "minLength": 1},
        "times": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        **fault_params_schema(),
        "model": {"type": "string", "minLength": 1},
        "route": {"type": "string", "minLength": 1},
    },
}
REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string"},
        "tool_call": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1}, "arguments": {"type": "object"}},
        },
    },
    "minProperties": 1,
    "maxProperties": 1,
}
CONFIG_SCHEMA: dict[str, Any] = {"type": "object"}
_VALIDATORS = {id(s): Draft202012Validator(s) for s in (KEY_SCHEMA, FAULT_SCHEMA, REPLY_SCHEMA, CONFIG_SCHEMA)}


class _Control:
    def __init__(self, mock: AINativeMock) -> None:
        self.mock = mock
        self.state = mock.state

    def _style(self) -> str:
        return self.state.config.error_style

    def _error(self, status: int, message: str) -> Response:
        return error_response(self._style(), status, message)

    def _refused(self, request: Request) -> Response | None:
        config = self.mock.config
        origin = request.headers.get("origin")
        if origin is not None and not _trusted_origin(origin, config.cors_origins):
            # A page on another site must not read the journal or reconfigure the mock (CORS is "*").
            return self._error(403, f"The control API does not accept requests from pages on {origin}")
        token = config.admin_token
        if token is None:
            if is_loopback(config.host):
                return None
            return self._error(403, "The control API is off when bound beyond loopback; start with --admin-token")
        given = request.headers.get("x-admin-token")
        if given is None:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return self._error(401, "Missing or wrong admin token")
        return None

    async def _body(self, request: Request, schema: dict[str, Any]) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise BodyError(
                422, str(exc), [FieldProblem(("body",), f"JSON decode error: {exc}", "json_invalid")]
            ) from None
        problems = [
            FieldProblem(("body", *e.absolute_path), e.message[:200], str(e.validator))
            for e in _VALIDATORS[id(schema)].iter_errors(body)
        ]
        if problems:
            raise BodyError(422, problems[0].msg, problems)
        result: dict[str, Any] = body
        return result

    def endpoint(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """Wrap ``handler`` with the admin check and error mapping."""

        async def run(request: Request) -> Response:
            return await self._dispatch(request, handler)

        return run

    async def _dispatch(self, request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            response: Response = await handler(request)
        except BodyError as exc:
            return json_response(validation_body(self._style(), exc.problems), 422, new_request_id())
        except (FaultError, ConfigError, ValueError) as exc:
            return self._error(422, str(exc))
        return response

    async def do_requests(self, request: Request) -> Response:
        entries = [entry.as_dict() for entry in self.state.requests()]
        return json_response({"total": self.state.journal.total, "requests": entries}, 200, new_request_id())

    async def do_reset(self, request: Request) -> Response:
        self.state.reset()
        return json_response({"status": "reset"}, 200, new_request_id())

    async def do_key(self, request: Request) -> Response:
        key = request.path_params["key"]
        body = await self._body(request, KEY_SCHEMA)
        self.state.set_key(key, **body)
        return json_response(self.state.ledger.balance(key), 200, new_request_id())

    async def do_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response({"pending": self.state.pending()["faults"]}, 200, new_request_id())
        if request.method == "DELETE":
            self.state.fault_queue.clear()
            return json_response({"pending": []}, 200, new_request_id())
        body = await self._body(request, FAULT_SCHEMA)
        name = body.pop("fault")
        times = body.pop("times", 1)
        fault = self.state.queue_fault(
            name, times, model=body.pop("model", None), route=body.pop("route", None), **body
        )
        return json_response({"queued": {**fault.as_dict(), "times": times}}, 201, new_request_id())

    async def do_replies(self, request: Request) -> Response:
        body = await self._body(request, REPLY_SCHEMA)
        self.state.reply(body.get("text"), tool_call=body.get("tool_call"))
        return json_response({"pending": self.state.pending()["replies"]}, 201, new_request_id())

    async def do_config(self, request: Request) -> Response:
        if request.method == "PUT":
            body = await self._body(request, CONFIG_SCHEMA)
            self.state.update_config(body, source="PUT /_mock/config")
        return json_response(config_as_dict(self.state.config), 200, new_request_id())


def _trusted_origin(origin: str, cors_origins: tuple[str, ...]) -> bool:
    """Pages served from this machine, or from an origin listed explicitly with ``--cors-origin``."""
    if origin in cors_origins:
        return True
    host = urlsplit(origin).hostname or ""
    return is_loopback(host)


def control_routes(mock: AINativeMock) -> list[BaseRoute]:
    """The ``/_mock/`` routes bound to ``mock``."""
    control = _Control(mock)
    return [
        Route("/_mock/requests", control.endpoint(control.do_requests), methods=["GET"]),
        Route("/_mock/reset", control.endpoint(control.do_reset), methods=["POST"]),
        Route("/_mock/keys/{key}", control.endpoint(control.do_key), methods=["PUT"]),
        Route("/_mock/faults", control.endpoint(control.do_faults), methods=["GET", "POST", "DELETE"]),
        Route("/_mock/replies", control.endpoint(control.do_replies), methods=["POST"]),
        Route("/_mock/config", control.endpoint(control.do_config), methods=["GET", "PUT"]),
    ]


def _op(op_id: str, summary: str, body: dict[str, Any] | None = None, ok: str = "200") -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": ["mock-control"],
        "responses": {
            ok: {"description": summary, "content": {"application/json": {"schema": {"type": "object"}}}},
            "401": {
                "description": "Wrong admin token",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            },
            "403": {
                "description": "Control API off (bound beyond loopback without an admin token)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            },
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        operation["responses"]["422"] = {
            "description": "Invalid body",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
    return operation


def control_openapi_paths() -> dict[str, Any]:
    """OpenAPI path items of the control API (tag ``mock-control``)."""
    return {
        "/_mock/requests": {"get": _op("mockRequests", "The journal of requests")},
        "/_mock/reset": {"post": _op("mockReset", "Reset ledger, limits, queues, journal")},
        "/_mock/keys/{key}": {
            "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
            "put": _op("mockSetKey", "Set one key's credits, plan and limits", KEY_SCHEMA),
        },
        "/_mock/faults": {
            "get": _op("mockPendingFaults", "Faults queued and not yet used"),
            "post": _op("mockQueueFault", "Queue a fault for the next N matching requests", FAULT_SCHEMA, "201"),
            "delete": _op("mockClearFaults", "Drop every queued fault"),
        },
        "/_mock/replies": {"post": _op("mockQueueReply", "Script the next reply", REPLY_SCHEMA, "201")},
        "/_mock/config": {
            "get": _op("mockGetConfig", "The running config"),
            "put": _op("mockPutConfig", "Change runtime settings", CONFIG_SCHEMA),
        },
    }
