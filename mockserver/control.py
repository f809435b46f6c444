"""The control API under ``/_mock/``: the state's control operations over HTTP.

One class per resource, a method per HTTP verb (as Starlette's ``HTTPEndpoint``); :data:`RESOURCES`
is the API's table of contents, and each resource carries its own OpenAPI operations. Resources
are bound to a :class:`~mockserver.state.MockState`, never to the app. To add a route, write a
:class:`ControlResource` subclass with its ``path``, ``operations`` and verb methods, and list it
in :data:`RESOURCES`.

On by default when the server is bound to loopback; otherwise every call needs the admin token
(``Authorization: Bearer <token>`` or ``X-Admin-Token``). With an admin token set, it is always
required. Bodies go through the same reader as chat requests (content type, JSON checks, and the
``max_body_bytes`` given at start: changing it while running does not lock the control API out),
then through the resource's documented schema, which states exactly what the operation accepts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from mockserver.auth import mask_secret
from mockserver.chat import MAGIC_KEYS, MAGIC_MODELS
from mockserver.config import ERROR_STYLES, REPLAY_MODES, ConfigError, MockConfig, config_as_dict
from mockserver.errors import FieldProblem, validation_body
from mockserver.events import JournalEvents
from mockserver.faults import Fault, FaultError, fault_body_schema, fault_choice_schema, make_fault
from mockserver.ledger import EXHAUSTED_KEYS, MICRO, Account
from mockserver.net import is_loopback
from mockserver.requests_body import BodyError, read_json
from mockserver.responses import error_response, json_response, new_request_id
from mockserver.state import STARTUP_SETTINGS, MockState

__all__ = [
    "RESOURCES",
    "SETTING_SCHEMAS",
    "AccountResource",
    "AccountsResource",
    "BodySchema",
    "ConfigResource",
    "ControlResource",
    "EventsResource",
    "FaultsResource",
    "KeyResource",
    "RepliesResource",
    "RequestsResource",
    "ResetResource",
    "control_openapi_paths",
    "control_routes",
]


class BodySchema:
    """The JSON Schema of a control request body, compiled once: what the docs show is what is checked.

    Formats are asserted (``"format": "regex"`` compiles the pattern as a reply rule does). The body
    is required in the docs exactly when an empty body (read as ``{}``) breaks the schema.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def valid(self, body: Any) -> bool:
        """Whether ``body`` is valid."""
        return bool(self._validator.is_valid(body))

    def check(self, body: Any) -> None:
        """Raise a 422 :class:`BodyError` listing the problems unless ``body`` is valid."""
        problems = self.problems(body)
        if problems:
            raise BodyError(422, problems[0].msg, problems)

    @property
    def required(self) -> bool:
        """Whether the body may be left out (an empty body is read as ``{}``)."""
        return not self._validator.is_valid({})

    def problems(self, body: Any) -> list[FieldProblem]:
        """Each way ``body`` breaks the schema, as a field problem (empty when it is valid)."""
        return [
            FieldProblem(("body", *e.absolute_path), e.message[:200], str(e.validator))
            for e in self._validator.iter_errors(body)
        ]


KEY_BODY = BodySchema(
    {
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
)
_FAULT = fault_body_schema()
FAULT_BODY = BodySchema(
    {
        **_FAULT,
        "additionalProperties": False,
        "properties": {
            **_FAULT["properties"],
            "times": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "model": {"type": "string", "minLength": 1},
            "route": {"type": "string", "minLength": 1},
        },
    }
)
_FAULT_NAME = Draft202012Validator(FAULT_BODY.schema["properties"]["fault"])
REPLY_BODY = BodySchema(
    {
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
)


def _listed(item: dict[str, Any], *, min_items: int = 0) -> dict[str, Any]:
    """A list setting: an array of ``item`` or, for one entry, ``item`` alone (lists read as in config files)."""
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": min_items}]}


_ENTRY = {"type": "string", "pattern": "^[^,]*[^,\\s][^,]*$"}
"""One entry of a list setting: no comma (a comma splits entries) and not blank (blank entries are dropped)."""
_FINITE = 1e12
SETTING_SCHEMAS: dict[str, dict[str, Any]] = {
    "seed": {"type": "integer"},
    "default_model": {"type": "string"},
    "default_max_tokens": {"type": "integer", "minimum": 1},
    "unknown_model_status": {"enum": [400, 403, 404, 503]},
    "accept_any_model": {"type": "boolean"},
    "max_body_bytes": {"type": "integer", "minimum": 1},
    "ttft_ms": {"type": "number", "minimum": 0, "maximum": 600_000},
    "tokens_per_second": {"anyOf": [{"const": 0}, {"type": "number", "minimum": 0.01, "maximum": _FINITE}]},
    "error_style": {"enum": list(ERROR_STYLES)},
    "credits": {"type": "integer", "minimum": 0},
    "plan": {"type": "string", "pattern": "\\S"},
    "rpm": {"type": "integer", "minimum": 0},
    "tpm": {"type": "integer", "minimum": 0},
    "unavailable_models": _listed({"type": "string"}),
    "fault_rate": {"type": "number", "minimum": 0, "maximum": 1},
    "faults": _listed(fault_choice_schema()),
    "api_keys": _listed({"type": "string"}),
    "key_prefixes": _listed(_ENTRY, min_items=1),
    "jwt_secret": {"type": "string"},
    "models": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "context_window": {"type": "integer", "minimum": 1},
                "owned_by": {"type": "string"},
                "price": {"type": "number", "minimum": 0, "maximum": _FINITE},
                "plans": {"type": "array", "items": {"type": "string"}},
                "created": {"type": "integer", "minimum": 0},
                "source": {"type": "string"},
            },
        },
    },
    "replies": {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["match"],
            "properties": {
                "match": {"type": "string"},
                "regex": {"type": "boolean"},
                "text": {"type": "string"},
                "tool_call": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "arguments": {"type": ["object", "string"]},
                    },
                },
            },
            "oneOf": [{"required": ["text"]}, {"required": ["tool_call"]}],
            "if": {"required": ["regex"], "properties": {"regex": {"const": True}}},
            "then": {"properties": {"match": {"format": "regex"}}},
        },
    },
    "cassettes": {"type": "string", "minLength": 1},
    "replay": {"enum": list(REPLAY_MODES)},
    "replay_speed": {"type": "number", "minimum": 0, "maximum": _FINITE},
    "replay_match": _listed(_ENTRY, min_items=1),
}
"""The JSON Schema of each setting ``PUT /_mock/config`` may change: the values the settings' checks accept."""
ANY_OBJECT = BodySchema({"type": "object"})
CONFIG_BODY = BodySchema({"type": "object", "additionalProperties": False, "properties": SETTING_SCHEMAS})

log = logging.getLogger("mockserver")


def _operation(
    op_id: str, summary: str, body: BodySchema | None = None, ok: str = "200", not_found: str | None = None
) -> dict[str, Any]:
    """An OpenAPI operation of the control API (tag ``mock-control``)."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    operation: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": ["mock-control"],
        "responses": {
            ok: {"description": summary, "content": {"application/json": {"schema": {"type": "object"}}}},
            "401": {"description": "Wrong admin token", "content": error},
            "403": {"description": "Control API off (bound beyond loopback without an admin token)", "content": error},
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": body.required, "content": {"application/json": {"schema": body.schema}}}
        operation["responses"]["413"] = {
            "description": "Body larger than max_body_bytes as set at start",
            "content": error,
        }
        operation["responses"]["415"] = {"description": "Body is not application/json", "content": error}
        operation["responses"]["422"] = {"description": "Invalid body", "content": error}
    if not_found is not None:
        operation["responses"]["404"] = {"description": not_found, "content": error}
    return operation


def _trusted_origin(origin: str, cors_origins: tuple[str, ...]) -> bool:
    """Pages served from this machine, or from an origin listed explicitly with ``--cors-origin``."""
    if origin in cors_origins:
        return True
    host = urlsplit(origin).hostname or ""
    return is_loopback(host)


def _printable(text: str) -> str:
    """``text`` safe for a log line (no control characters), at most 200 characters."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:200])


def _ok(body: Any, status: int = 200) -> Response:
    return json_response(body, status, new_request_id())


class ControlResource:
    """One ``/_mock/`` resource bound to a state: a method per HTTP verb (``get``, ``put`` ...).

    Every call passes the admin gate first; errors of the state's operations (bad faults, bad
    settings) become 422s, as do bodies that break the resource's schema.
    """

    path: ClassVar[str]
    operations: ClassVar[dict[str, dict[str, Any]]]
    """OpenAPI operations by lower-case verb; the verbs served are exactly these."""
    path_parameters: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, state: MockState) -> None:
        self.state = state
        self._logged_origins: set[str] = set()
        self._handlers: dict[str, Callable[[Request], Awaitable[Response]]] = {
            verb.upper(): getattr(self, verb) for verb in self.operations
        }
        if "GET" in self._handlers:
            self._handlers["HEAD"] = self._handlers["GET"]

    @property
    def methods(self) -> list[str]:
        """The HTTP methods this resource answers."""
        return [verb.upper() for verb in self.operations]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = self._refused(request) or await self._dispatch(request)
        await response(scope, receive, send)

    async def _dispatch(self, request: Request) -> Response:
        try:
            return await self._handlers[request.method](request)
        except BodyError as exc:
            if exc.status != 422:
                return self._error(exc.status, exc.message)
            return json_response(validation_body(self._style(), exc.problems), 422, new_request_id())
        except (FaultError, ConfigError, ValueError) as exc:
            return self._error(422, str(exc))

    def _style(self) -> str:
        return self.state.config.error_style

    def _error(self, status: int, message: str) -> Response:
        return error_response(self._style(), status, message)

    def _refused(self, request: Request) -> Response | None:
        """403/401 unless the caller may use the control API (see the module docstring)."""
        startup: MockConfig = self.state.startup_config
        origin = request.headers.get("origin")
        own_page = startup.admin_token is not None and origin == f"{request.url.scheme}://{request.headers.get('host')}"
        # The mock's own pages (the inspector) count as trusted only when the admin token guards the API:
        # without one, a DNS-rebound site could pass for this origin.
        if origin is not None and not own_page and not _trusted_origin(origin, startup.cors_origins):
            # A page on another site must not read the journal or reconfigure the mock (CORS is "*").
            if origin not in self._logged_origins and len(self._logged_origins) < 100:  # once per origin
                self._logged_origins.add(origin)
                log.warning(
                    "control API refused a page on %s (%s %s): to allow it, start with --cors-origin %s",
                    _printable(origin),
                    request.method,
                    request.url.path,
                    _printable(origin),
                )
            return self._error(403, f"The control API does not accept requests from pages on {origin}")
        token = startup.admin_token
        if token is None:
            if is_loopback(startup.host):
                return None
            return self._error(403, "The control API is off when bound beyond loopback; start with --admin-token")
        given = request.headers.get("x-admin-token")
        if given is None:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return self._error(401, "Missing or wrong admin token")
        return None

    async def read(self, request: Request, schema: BodySchema) -> dict[str, Any]:
        """The JSON body (empty = ``{}``), read as chat bodies are and checked against ``schema``.

        Raises:
            BodyError: the body is too large, not JSON, or breaks ``schema``.
        """
        # The limit given at start: a PUT of max_body_bytes (for chat) must not lock the control API out.
        limit = self.state.startup_config.max_body_bytes
        body = await read_json(request.receive, request.headers, limit, empty={})
        schema.check(body)
        result: dict[str, Any] = body
        return result


class RequestsResource(ControlResource):
    """``/_mock/requests``: the journal."""

    path = "/_mock/requests"
    operations: ClassVar[dict[str, dict[str, Any]]] = {"get": _operation("mockRequests", "The journal of requests")}

    async def get(self, request: Request) -> Response:
        entries = [entry.as_dict() for entry in self.state.requests()]
        return _ok({"total": self.state.journal.total, "requests": entries})


_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"enum": ["hello", "request", "started", "reset", "changed"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "retry": {"type": "integer", "minimum": 0},
    },
}
"""One event of ``GET /_mock/events`` (fields as an SSE parser reads them; ``data`` is one line of JSON)."""


class EventsResource(ControlResource):
    """``/_mock/events``: the journal, live, as SSE (see :mod:`mockserver.events`)."""

    path = "/_mock/events"
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": {
            **_operation("mockEvents", "The journal, live: every request as an SSE event"),
            "description": (
                '`event: hello` (`{"total", "backlog"}`), the entries the journal keeps (`event: request`, '
                "as in `GET /_mock/requests`), then, only for a client that sends `Accept: text/event-stream` "
                "(EventSource, httpx-sse, the inspector page), each new entry as it is recorded, `event: started` "
                "when a stream begins (its entry follows when it ends, with the same `request_id`), `event: reset` "
                "and `event: changed`, with no end. Any other client (curl, a fuzzer) gets the hello and the kept "
                "entries, and the response ends: `curl -N -H 'Accept: text/event-stream'` follows the journal."
            ),
            "responses": {
                **_operation("mockEvents", "")["responses"],
                "200": {
                    "description": "Server-sent events; `schema` describes each event (OpenAPI 3.1 reading)",
                    "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
                },
            },
        }
    }

    def __init__(self, state: MockState) -> None:
        super().__init__(state)
        self.events = JournalEvents(state.journal)

    async def get(self, request: Request) -> Response:
        follow = "text/event-stream" in request.headers.get("accept", "").lower()
        stream = self.events.stream(self.state.view_version, follow=follow)
        return cast(Response, stream)


def account_id(key: str) -> str:
    """A stable handle for an account that does not reveal its key (``GET /_mock/accounts``)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _account_view(key: str, account: Account) -> dict[str, Any]:
    if key in EXHAUSTED_KEYS:  # as the balance endpoint shows it: every credit used (chat answers 402)
        account = dataclasses.replace(account, used=account.total * MICRO, unlimited=False)
    return {
        "id": account_id(key),
        "key": key if key.startswith("jwt:") or key in MAGIC_KEYS else mask_secret(key),
        "plan": account.plan,
        "total_credits": account.total,
        "used_credits": account.used / MICRO,
        "remaining_credits": account.remaining / MICRO,
        "unlimited": account.unlimited,
        "rpm": account.rpm,
        "tpm": account.tpm,
    }


def _magic_answer(fault: Fault) -> str:
    if fault.name == "http_error":
        return f"{fault.status}" + (f" (Retry-After: {fault.retry_after})" if fault.retry_after else "")
    return f"{fault.name} (streams cut after {fault.after_chunks or 2} events)"


def _accounts_body(state: MockState) -> dict[str, Any]:
    return {
        "accounts": [_account_view(key, account) for key, account in state.ledger.accounts()],
        "magic_keys": {key: _magic_answer(fault) for key, fault in MAGIC_KEYS.items()},
        "magic_models": {model: _magic_answer(fault) for model, fault in MAGIC_MODELS.items()},
    }


class AccountsResource(ControlResource):
    """``/_mock/accounts``: every key used or set so far, masked, with its balance, plan and limits."""

    path = "/_mock/accounts"
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": _operation("mockAccounts", "Keys seen so far (masked), balances, plans, limits; the magic keys")
    }

    async def get(self, request: Request) -> Response:
        return _ok(_accounts_body(self.state))


class AccountResource(ControlResource):
    """``/_mock/accounts/{id}``: one listed account, by the ``id`` the listing gives (keys stay masked)."""

    path = "/_mock/accounts/{id}"
    path_parameters: ClassVar[list[dict[str, Any]]] = [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "put": _operation(
            "mockSetAccount",
            "Set one listed account's credits, plan and limits",
            KEY_BODY,
            not_found="No listed account has this id",
        )
    }

    async def put(self, request: Request) -> Response:
        wanted = request.path_params["id"]
        wanted_bytes = wanted.encode("utf-8", "surrogatepass")  # compare_digest takes only ASCII str
        key = next(
            (k for k, _ in self.state.ledger.accounts() if hmac.compare_digest(account_id(k).encode(), wanted_bytes)),
            None,
        )
        if key is None:
            return self._error(404, f"No account {wanted!r}; GET /_mock/accounts lists them")
        body = await self.read(request, KEY_BODY)
        self.state.set_key(key, **body)
        return _ok(_accounts_body(self.state))


class ResetResource(ControlResource):
    """``/_mock/reset``: back to the startup config."""

    path = "/_mock/reset"
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "post": _operation("mockReset", "Reset ledger, limits, queues, journal")
    }

    async def post(self, request: Request) -> Response:
        self.state.reset()
        return _ok({"status": "reset"})


class KeyResource(ControlResource):
    """``/_mock/keys/{key}``: one key's credits, plan and limits."""

    path = "/_mock/keys/{key}"
    path_parameters: ClassVar[list[dict[str, Any]]] = [
        {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "put": _operation("mockSetKey", "Set one key's credits, plan and limits", KEY_BODY)
    }

    async def put(self, request: Request) -> Response:
        key = request.path_params["key"]
        body = await self.read(request, KEY_BODY)
        self.state.set_key(key, **body)
        return _ok(self.state.ledger.balance(key))


class FaultsResource(ControlResource):
    """``/_mock/faults``: the fault queue."""

    path = "/_mock/faults"
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": _operation("mockPendingFaults", "Faults queued and not yet used"),
        "post": _operation("mockQueueFault", "Queue a fault for the next N matching requests", FAULT_BODY, "201"),
        "delete": _operation("mockClearFaults", "Drop every queued fault"),
    }

    async def get(self, request: Request) -> Response:
        return _ok({"pending": self.state.pending()["faults"]})

    async def post(self, request: Request) -> Response:
        body = await self.read(request, ANY_OBJECT)
        name = body.get("fault")
        unusable_name = isinstance(name, str) and not _FAULT_NAME.is_valid(name)
        if name and not FAULT_BODY.valid(body) and (unusable_name or (name == "http_error" and "status" not in body)):
            make_fault(str(name))  # raises, with a message naming the known faults or the missing status
        FAULT_BODY.check(body)
        name = body.pop("fault")
        times = body.pop("times", 1)
        fault = self.state.queue_fault(
            name, times, model=body.pop("model", None), route=body.pop("route", None), **body
        )
        return _ok({"queued": {**fault.as_dict(), "times": times}}, 201)

    async def delete(self, request: Request) -> Response:
        self.state.fault_queue.clear()
        return _ok({"pending": []})


class RepliesResource(ControlResource):
    """``/_mock/replies``: the scripted replies."""

    path = "/_mock/replies"
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "post": _operation("mockQueueReply", "Script the next reply", REPLY_BODY, "201")
    }

    async def post(self, request: Request) -> Response:
        body = await self.read(request, REPLY_BODY)
        self.state.reply(body.get("text"), tool_call=body.get("tool_call"))
        return _ok({"pending": self.state.pending()["replies"]}, 201)


class ConfigResource(ControlResource):
    """``/_mock/config``: the running config."""

    path = "/_mock/config"
    operations: ClassVar[dict[str, dict[str, Any]]] = {
        "get": _operation("mockGetConfig", "The running config"),
        "put": _operation("mockPutConfig", "Change runtime settings", CONFIG_BODY),
    }

    async def get(self, request: Request) -> Response:
        return _ok(config_as_dict(self.state.config))

    async def put(self, request: Request) -> Response:
        body = await self.read(request, ANY_OBJECT)
        unknown = sorted(set(body) - STARTUP_SETTINGS - set(SETTING_SCHEMAS))
        if unknown:
            raise ConfigError(f"PUT /_mock/config: unknown setting {unknown[0]!r}")
        fixed = sorted(set(body) & STARTUP_SETTINGS)
        if fixed:  # the schema refuses them too; say why
            raise ConfigError(
                f"cannot change startup settings {fixed} while running; changeable: {sorted(SETTING_SCHEMAS)}"
            )
        CONFIG_BODY.check(body)
        self.state.update_config(body, source="PUT /_mock/config")
        return await self.get(request)


RESOURCES: tuple[type[ControlResource], ...] = (
    RequestsResource,
    EventsResource,
    ResetResource,
    KeyResource,
    AccountsResource,
    AccountResource,
    FaultsResource,
    RepliesResource,
    ConfigResource,
)
"""The control API's table of contents."""


def control_routes(state: MockState) -> list[BaseRoute]:
    """The ``/_mock/`` routes bound to ``state``."""
    routes: list[BaseRoute] = []
    for resource_class in RESOURCES:
        resource = resource_class(state)
        routes.append(Route(resource.path, resource, methods=resource.methods))
    return routes


def control_openapi_paths() -> dict[str, Any]:
    """OpenAPI path items of the control API (tag ``mock-control``)."""
    paths: dict[str, Any] = {}
    for resource in RESOURCES:
        item: dict[str, Any] = {}
        if resource.path_parameters:
            item["parameters"] = resource.path_parameters
        paths[resource.path] = {**item, **resource.operations}
    return paths
