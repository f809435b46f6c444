"""What a run saw: the exchanges, keyed by label, and why planned requests were not sent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.conformance.client import Exchange
from contracts.conformance.sse import DONE, parse_events, payloads

__all__ = ["Observations", "RunSettings"]

CHAT_LABELS = ("chat-json", "chat-stream", "paid-chat", "fuzz-positive")
"""Label prefixes of requests that ask for a completion with a valid key and a valid body."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The knobs of a run that clauses need to know about.

    Attributes:
        include_paid: whether the opt-in paid clauses were asked for.
        jwt_given: whether a JWT was supplied.
        rate_limit_key_given: whether a rate-limit probe key was supplied.
        documented_chat_statuses: statuses the OpenAPI document lists for the chat operation.
    """

    include_paid: bool = False
    jwt_given: bool = False
    rate_limit_key_given: bool = False
    documented_chat_statuses: frozenset[int] = field(default_factory=frozenset)


@dataclass
class Observations:
    """Everything clauses judge.

    Attributes:
        exchanges: every exchange, in the order sent.
        unsent: label -> reason, for planned requests that were never sent (budget).
        settings: the run's settings.
    """

    exchanges: list[Exchange] = field(default_factory=list)
    unsent: dict[str, str] = field(default_factory=dict)
    settings: RunSettings = field(default_factory=RunSettings)

    def get(self, label: str) -> Exchange | None:
        """The exchange labelled ``label``, or None."""
        for exchange in self.exchanges:
            if exchange.request.label == label:
                return exchange
        return None

    def with_prefix(self, prefix: str) -> list[Exchange]:
        """Exchanges whose label is ``prefix`` or starts with ``prefix-``."""
        return [e for e in self.exchanges if e.request.label == prefix or e.request.label.startswith(prefix + "-")]

    def why_missing(self, label: str) -> str:
        """Why ``label`` has no exchange (for a skip reason)."""
        return self.unsent.get(label, f"request {label!r} was not planned")

    def completions(self) -> Iterator[Exchange]:
        """Exchanges that asked for a completion with valid credentials and a valid body."""
        for prefix in CHAT_LABELS:
            yield from self.with_prefix(prefix)

    def streams(self) -> list[Exchange]:
        """Completions answered 200 that were asked to stream."""
        return [e for e in self.completions() if e.status == 200 and _asked_to_stream(e)]

    def json_completions(self) -> list[Exchange]:
        """Completions answered 200 that were not asked to stream."""
        return [e for e in self.completions() if e.status == 200 and not _asked_to_stream(e)]


def _asked_to_stream(exchange: Exchange) -> bool:
    body = exchange.request.body
    return isinstance(body, Mapping) and body.get("stream") is True


def stream_chunks(exchange: Exchange) -> list[Any]:
    """The decoded payloads of a streamed exchange (JSON values and :data:`DONE`)."""
    return payloads(parse_events(exchange.body))


def chunk_objects(items: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The JSON-object payloads among ``items`` (drops ``[DONE]`` and undecodable data)."""
    return [item for item in items if item != DONE and isinstance(item, Mapping)]
