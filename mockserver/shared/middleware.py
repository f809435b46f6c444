"""Every request to a mock on shared state first catches up with it, and gets 503 while Redis is down.

While Redis cannot be reached, every request the mock cannot serve without it gets 503,
``Retry-After: 1`` and a body (in the configured error style) saying the shared state is
unavailable. The log gets a line at most once a second (with the count of 503s so far) and one
when Redis is back. Nothing is charged unless the reservation itself went through (and one whose
answer was lost is undone); the mock serves again as soon as Redis answers.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.responses import error_response, new_request_id
from mockserver.shared.store import StateUnavailable

__all__ = ["SharedStateMiddleware"]

log = logging.getLogger("mockserver")
LOG_INTERVAL = 1.0
"""While Redis is down, at most one log line per this many seconds (with the count of 503s so far)."""


class SharedStateMiddleware:
    """ASGI middleware: ``state.abegin()`` before each HTTP request; :class:`StateUnavailable` becomes 503.

    An answer is sent once this worker's journal entries so far are written, so whoever receives
    it can read its entry from any worker.
    """

    def __init__(self, app: ASGIApp, state: Any, *, answers_errors: bool = False) -> None:
        self.app = app
        self.state = state
        self.answers_errors = answers_errors
        """Also answer an unexpected error with the mock's 500 (and re-raise): as the app's fast chat path."""
        self._refused = 0  # requests answered 503 since Redis was last reachable
        self._logged = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        journal = self.state.journal

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if journal.unwritten:  # a client told of its answer finds it in the journal, on any worker
                    await journal.written()
            await send(message)

        try:
            await self.state.abegin()
            if self._refused:
                log.warning("shared state reachable again (%d requests got 503 meanwhile)", self._refused)
                self._refused, self._logged = 0, 0.0
            await self.app(scope, receive, watch)
        except StateUnavailable as exc:
            self._refused += 1
            now = time.monotonic()
            if now - self._logged >= LOG_INTERVAL:  # one line per second at most, however many requests
                self._logged = now
                log.error("503 for %s %s: %s (%d so far)", scope.get("method"), scope.get("path"), exc, self._refused)
            if started:  # a stream already under way: the client sees the connection end
                return
            message = "The mock's shared state is unavailable (Redis cannot be reached); retry shortly"
            response = error_response(
                self.state.config.error_style,
                503,
                message,
                code="state_unavailable",
                request_id=new_request_id(),
                headers={"retry-after": "1"},
            )
            await response(scope, receive, send)
        except Exception:
            if not self.answers_errors:
                raise
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started:  # as Starlette's ServerErrorMiddleware: a 500 in the mock's format
                style = self.state.config.error_style
                await error_response(style, 500, "Internal server error")(scope, receive, send)
            raise
