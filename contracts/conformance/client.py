"""The only door to the network: a budgeted HTTP client that records every exchange."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.conformance.budget import Budget

__all__ = ["ContractClient", "Exchange", "PlannedRequest"]

MAX_BODY_BYTES = 2_000_000
"""Bodies longer than this are cut (a stream that never ends must not hang the run)."""


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """A request the runner means to send.

    Attributes:
        label: what the request is for (``chat-json``, ``fuzz-negative-3``...); clauses look exchanges up by it.
        method: HTTP method.
        path: path below the base URL.
        headers: request headers (credentials included).
        body: JSON-encodable body, or raw bytes, or None.
        purpose: one line for the plan and the progress output.
        paid: whether a conforming server bills it.
        max_tokens: the ``max_tokens`` it carries (for the spend bound).
        judge_errors: whether its error responses are held to the error schema.
    """

    label: str
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    purpose: str = ""
    paid: bool = False
    max_tokens: int = 0
    judge_errors: bool = True

    def content(self) -> bytes | None:
        """The body as sent on the wire."""
        if self.body is None:
            return None
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8", errors="surrogatepass")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came back.

    Attributes:
        request: what was sent.
        url: the full URL.
        status: HTTP status, or None when the transport failed.
        headers: response headers, names lower-cased.
        body: response body bytes (cut at ``MAX_BODY_BYTES``).
        error: transport error text when there was no response.
    """

    request: PlannedRequest
    url: str
    status: int | None
    headers: Mapping[str, str]
    body: bytes
    error: str | None = None

    @property
    def content_type(self) -> str:
        """The response content type ('' when absent)."""
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        """The response body decoded as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.body)

    def summary(self) -> str:
        """``POST /path -> 200`` in one line."""
        outcome = str(self.status) if self.status is not None else f"no response ({self.error})"
        return f"{self.request.method} {self.request.path} -> {outcome}"


class ContractClient:
    """Send :class:`PlannedRequest` objects to a base URL, each one paid for from a :class:`Budget`.

    Args:
        base_url: the target, e.g. ``http://127.0.0.1:8000``.
        budget: the request cap; :meth:`send` raises ``BudgetExceeded`` when it is spent.
        transport: an httpx transport to use instead of the network (e.g. ``httpx.ASGITransport(app)``).
        timeout: seconds per request.
        on_exchange: called after every exchange (progress output).
    """

    def __init__(
        self,
        base_url: str,
        budget: Budget,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        self.exchanges: list[Exchange] = []
        self._on_exchange = on_exchange
        self._client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)

    def __enter__(self) -> ContractClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    def send(self, planned: PlannedRequest) -> Exchange:
        """Spend one request from the budget, send ``planned``, record and return the exchange.

        Transport failures (connection refused, garbage instead of HTTP) do not raise: they come
        back as an exchange with ``status=None`` and ``error`` set.

        Raises:
            BudgetExceeded: when the budget is spent (nothing is sent).
        """
        self.budget.spend()
        url = self.base_url + planned.path
        headers = dict(planned.headers)
        content = planned.content()
        if content is not None:
            headers.setdefault("Content-Type", "application/json")
        try:
            with self._client.stream(planned.method, url, headers=headers, content=content) as response:
                body = bytearray()
                for piece in response.iter_bytes():
                    body.extend(piece)
                    if len(body) >= MAX_BODY_BYTES:
                        break
                exchange = Exchange(
                    planned,
                    url,
                    response.status_code,
                    {k.lower(): v for k, v in response.headers.items()},
                    bytes(body[:MAX_BODY_BYTES]),
                )
        except httpx.HTTPError as exc:
            exchange = Exchange(planned, url, None, {}, b"", error=_describe(exc))
        self.exchanges.append(exchange)
        if self._on_exchange is not None:
            self._on_exchange(exchange)
        return exchange


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out: {text}"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError)):
        return f"not an HTTP answer: {text}"
    return f"{type(exc).__name__}: {text}"
