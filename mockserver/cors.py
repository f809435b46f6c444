"""CORS for browser frontends, with refused preflights answered in the mock's error format."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.responses import error_response

__all__ = ["MockCORSMiddleware"]

log = logging.getLogger("mockserver")


class MockCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware; a refused preflight gets a JSON error body and ``x-request-id``."""

    def __init__(
        self, app: ASGIApp, error_style: Callable[[], str], allow_origins: Sequence[str], expose_headers: Sequence[str]
    ) -> None:
        super().__init__(
            app,
            allow_origins=allow_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=expose_headers,
            max_age=600,
        )
        self._error_style = error_style
        self._refused: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Requests without an Origin header (every non-browser client) need no CORS work at all.
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and not self.allow_all_origins:
            origin = Headers(scope=scope).get("origin", "")
            if not self.is_allowed_origin(origin) and origin not in self._refused and len(self._refused) < 100:
                self._refused.add(origin)  # one line per origin
                shown = "".join(c if c.isprintable() else "?" for c in origin[:200])
                log.warning(
                    "CORS: refused a page on %s (allowed: %s): to allow it, add --cors-origin %s",
                    shown,
                    ", ".join(self.allow_origins),
                    shown,
                )
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        message = bytes(response.body).decode()
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}
        return error_response(self._error_style(), 400, message, code="cors_refused", headers=headers)
