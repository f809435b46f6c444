"""The request budget: a hard cap on requests, and the bound on what a run may spend.

:class:`Budget` is consulted by the HTTP client before every request
(:meth:`contracts.conformance.client.ContractClient.send`), the one place requests leave.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_REQUESTS",
    "DEFAULT_MAX_TOKENS",
    "FALLBACK_MODEL",
    "Budget",
    "BudgetExceeded",
    "SpendBound",
    "spend_bound",
]

DEFAULT_MAX_REQUESTS = 30
"""Requests a run may send unless told otherwise."""

DEFAULT_MAX_TOKENS = 16
"""``max_tokens`` forced into every paid request unless told otherwise."""

FALLBACK_MODEL = "claude-3-5-haiku-20241022"
"""The cheapest model of the seed document, used when the target lists no models."""


class BudgetExceeded(RuntimeError):
    """Raised instead of sending a request once the request budget is spent."""


class Budget:
    """A thread-safe count of requests against a hard cap.

    Example:
        >>> budget = Budget(1)
        >>> budget.spend()
        >>> budget.remaining
        0
        >>> budget.spend()
        Traceback (most recent call last):
        ...
        contracts.conformance.budget.BudgetExceeded: request budget spent: 1 of 1 requests sent (--max-requests 1)
    """

    def __init__(self, max_requests: int) -> None:
        if max_requests < 0:
            raise ValueError(f"max_requests must be >= 0, got {max_requests}")
        self.max_requests = max_requests
        self._sent = 0
        self._lock = threading.Lock()

    @property
    def sent(self) -> int:
        """Requests sent so far."""
        return self._sent

    @property
    def remaining(self) -> int:
        """Requests that may still be sent."""
        return self.max_requests - self._sent

    def spend(self) -> None:
        """Account for one request about to be sent, or raise :class:`BudgetExceeded`."""
        with self._lock:
            if self._sent >= self.max_requests:
                raise BudgetExceeded(
                    f"request budget spent: {self._sent} of {self.max_requests} requests sent "
                    f"(--max-requests {self.max_requests})"
                )
            self._sent += 1


@dataclass(frozen=True, slots=True)
class SpendBound:
    """The most a set of paid requests can cost.

    Attributes:
        paid_requests: requests a conforming server bills (valid chat requests with a valid key).
        max_tokens: the sum over them of an upper bound on prompt tokens (body bytes) plus ``max_tokens``.
        credits_per_token: the price assumed for one token.
    """

    paid_requests: int
    max_tokens: int
    credits_per_token: float

    @property
    def max_credits(self) -> float:
        """Upper bound on credits spent."""
        return self.max_tokens * self.credits_per_token


def spend_bound(paid: Iterable[tuple[int, int]], credits_per_token: float = 1.0) -> SpendBound:
    """Bound the spend of paid requests given as ``(body_bytes, max_tokens)`` pairs.

    A prompt cannot hold more tokens than its body has bytes, so ``body_bytes + max_tokens``
    bounds the tokens billed for one request (the run forces ``max_iterations`` to 1).

    Example:
        >>> spend_bound([(100, 16), (50, 16)]).max_tokens
        182
    """
    pairs = list(paid)
    return SpendBound(len(pairs), sum(body + tokens for body, tokens in pairs), credits_per_token)
