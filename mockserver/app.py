"""The app factory: a Starlette application serving the AINative API from a :class:`MockState`."""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import contracts
from mockserver.auth import AuthError, Identity
from mockserver.chat import ChatEndpoint
from mockserver.config import MockConfig
from mockserver.control import control_openapi_paths, control_routes
from mockserver.cors import MockCORSMiddleware
from mockserver.journal import JournalEntry
from mockserver.responses import JSONBytes, error_response, json_response, new_request_id
from mockserver.state import MockState
from mockserver.ui import ui_routes

__all__ = ["BALANCE_ROUTES", "CHAT_ROUTES", "MODEL_ROUTES", "AINativeMock", "create_app"]

log = logging.getLogger("mockserver")

CHAT_ROUTES = (
    "/v1/public/chat/completions",
    "/api/v1/public/chat/completions",
    "/api/v1/chat/completions",
    "/v1/chat/completions",
    "/api/v1/managed/chat/completions",
    "/api/v1/public/managed-chat/chat/completions",
)
BALANCE_ROUTES = ("/api/v1/public/credits/balance", "/v1/public/credits/balance", "/api/v1/credits/balance")
MODEL_ROUTES = ("/v1/models", "/api/v1/models")
EXPOSED_HEADERS = [
    "x-request-id",
    "retry-after",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
]


class AINativeMock:
    """One mock: its Starlette ``app`` and its ``state`` (the control operations live on the state).

    Example:
        >>> mock = AINativeMock(MockConfig(credits=10))
        >>> mock.state.set_credits(0)
        >>> sorted(mock.state.pending())
        ['faults', 'replies']
    """

    def __init__(self, config: MockConfig | None = None) -> None:
        config = config or MockConfig()
        self.state = MockState(config) if config.state is None else _shared_state(config)
        self.chat = ChatEndpoint(self.state) if config.state is None else _shared_chat(self.state)
        self.app = _MockStarlette(
            routes=self._routes(),
            middleware=[
                Middleware(
                    MockCORSMiddleware,
                    error_style=lambda: self.state.config.error_style,
                    allow_origins=list(self.startup_config.cors_origins),
                    expose_headers=EXPOSED_HEADERS,
                ),
                *_shared_state_middleware(self.state),
            ],
            exception_handlers={HTTPException: self._http_exception, Exception: self._server_error},
        )
        self.app.state.mock = self
        self.app.fast_chat = _fast_chat(self.state, self.chat)
        self._openapi = json.dumps(self._openapi_document(), separators=(",", ":")).encode()

    @property
    def startup_config(self) -> MockConfig:
        """The settings the mock started with (the running ones are ``state.config``)."""
        return self.state.startup_config

    @property
    def config(self) -> MockConfig:
        """Deprecated: the startup settings; use :attr:`startup_config` (or ``state.config`` for the running ones)."""
        warnings.warn(
            "AINativeMock.config is deprecated: use startup_config (or state.config for the running settings)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.startup_config

    def _routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [Route(path, self.chat, methods=["POST"]) for path in CHAT_ROUTES]
        routes += [Route(path, self.balance, methods=["GET"]) for path in BALANCE_ROUTES]
        routes += [Route(path, self.models, methods=["GET"]) for path in MODEL_ROUTES]
        routes += [
            Route("/health", self.health, methods=["GET"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
            *control_routes(self.state),
            *ui_routes(),
        ]
        return routes

    def _openapi_document(self) -> dict[str, Any]:
        document = contracts.load_openapi()
        document["paths"].update(control_openapi_paths())
        document["tags"].append(
            {"name": "mock-control", "description": "The mock's control API (not on the real API)."}
        )
        document["servers"] = [{"url": "/"}]
        return document

    def _error(self, status: int, message: str | None = None, headers: dict[str, str] | None = None) -> Response:
        return error_response(self.state.config.error_style, status, message, headers=headers)

    def _record(self, request: Request, status: int, key: str | None = None) -> None:
        """Journal a request that did not go through the chat pipeline."""
        self.state.journal.add(JournalEntry(0, request.method, request.url.path, status, key=key))

    async def _http_exception(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"No route {request.url.path}", 405: f"Method {request.method} not allowed here"}.get(
            exc.status_code, exc.detail
        )
        self._record(request, exc.status_code)
        return self._error(exc.status_code, message, dict(exc.headers or {}))

    async def _server_error(self, request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return self._error(500, "Internal server error")

    # -- endpoints --------------------------------------------------------------------------
    def _identity_or_error(self, request: Request) -> tuple[Identity | None, Response | None]:
        try:
            identity = self.chat.authenticator().authenticate(
                request.headers.get("x-api-key"), request.headers.get("authorization")
            )
        except AuthError as exc:
            self._record(request, 401)
            return None, self._error(401, str(exc))
        self._record(request, 200, identity.masked)
        return identity, None

    async def balance(self, request: Request) -> Response:
        """GET credits balance of the caller (contract ``credits-balance``)."""
        identity, error = self._identity_or_error(request)
        if identity is None:
            return error or self._error(401)
        return json_response(self.state.ledger.balance(identity.account), 200, new_request_id())

    async def models(self, request: Request) -> Response:
        """GET the OpenAI-compatible models list of the configured model table."""
        identity, error = self._identity_or_error(request)
        if identity is None:
            return error or self._error(401)
        data = [
            {
                "id": m.id,
                "object": "model",
                "created": m.created,
                "owned_by": m.owned_by,
                "context_window": m.context_window,
            }
            for m in self.state.config.models
        ]
        return json_response({"object": "list", "data": data}, 200, new_request_id())

    async def health(self, request: Request) -> Response:
        """GET liveness: ``{"status": "ok"}``."""
        return json_response({"status": "ok", "requests": self.state.journal.total}, 200, new_request_id())

    async def openapi(self, request: Request) -> Response:
        """GET the contract's OpenAPI document plus the control API."""
        return Response(self._openapi, 200, media_type="application/json")


class _MockStarlette(Starlette):
    """Starlette, with chat completion POSTs from non-browser clients sent straight to the endpoint.

    The chat endpoint is raw ASGI and answers its own errors; such a request needs no route
    matching, CORS or exception middleware, which cost about a third of its time otherwise.
    Everything else (and any request with an ``Origin`` header) takes the full stack.
    """

    fast_chat: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.fast_chat
        if (
            fast is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in _CHAT_PATHS
            and not scope.get("root_path")
        ):
            for name, _ in scope["headers"]:
                if name == b"origin":
                    break  # from a browser: the full stack (CORS)
            else:
                scope["app"] = self
                if not isinstance(fast, ChatEndpoint):
                    if getattr(fast, "answers_errors", False):  # shared state: its middleware answers errors too
                        await fast(scope, receive, send)
                    else:
                        await self._serve_fast(scope, receive, send)
                    return
                # In memory: answer, then send (no send wrapper); inline, as each coroutine costs.
                try:
                    answer = await fast.answer(scope, receive)
                except Exception:  # nothing sent yet: a 500 in the mock's format, then re-raise
                    log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                    await self.state.mock._error(500, "Internal server error")(scope, receive, send)
                    raise
                try:  # the answer's first message is http.response.start: a failure here comes after it
                    if type(answer) is JSONBytes:  # what its Response.__call__ would send, without a coroutine
                        await send(
                            {"type": "http.response.start", "status": answer.status_code, "headers": answer.raw_headers}
                        )
                        await send({"type": "http.response.body", "body": answer.body})
                    else:
                        await answer(scope, receive, send)
                except Exception:
                    log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                    raise
                return
        await super().__call__(scope, receive, send)

    async def _serve_fast(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The chat endpoint wrapped (shared state): a 500 in the mock's format if it fails before answering."""
        assert self.fast_chat is not None
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.fast_chat(scope, receive, watch)
        except Exception:  # as Starlette's ServerErrorMiddleware: a 500 in the mock's format, then re-raise
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if not started:
                mock = self.state.mock
                await mock._error(500, "Internal server error")(scope, receive, send)
            raise


_CHAT_PATHS = frozenset(CHAT_ROUTES)


def _fast_chat(state: MockState, chat: ChatEndpoint) -> ASGIApp:
    if state.__class__ is MockState:
        return chat
    from mockserver.shared.middleware import SharedStateMiddleware

    return SharedStateMiddleware(chat, state, answers_errors=True)


def _shared_state(config: MockConfig) -> MockState:
    from mockserver.shared.state import SharedMockState
    from mockserver.shared.store import Store

    assert config.state is not None
    return SharedMockState(config, Store(config.state))


def _shared_chat(state: MockState) -> ChatEndpoint:
    from mockserver.shared.chat import SharedChatEndpoint
    from mockserver.shared.state import SharedMockState

    assert isinstance(state, SharedMockState)
    return SharedChatEndpoint(state)


def _shared_state_middleware(state: MockState) -> list[Middleware]:
    """With shared state, every request first catches up with it (and gets 503 while Redis is down)."""
    if state.__class__ is MockState:
        return []
    from mockserver.shared.middleware import SharedStateMiddleware

    return [Middleware(SharedStateMiddleware, state=state)]


def create_app(config: MockConfig | None = None) -> Starlette:
    """A Starlette app serving the mock; its :class:`AINativeMock` is ``app.state.mock``.

    Example:
        >>> app = create_app(MockConfig(credits=500))
        >>> app.state.mock.state.ledger.balance("sk_test_1234")["total_credits"]
        500
    """
    return AINativeMock(config).app
