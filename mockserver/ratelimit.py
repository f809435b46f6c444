"""Per-account token buckets for requests per minute and tokens per minute."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Decision", "RateLimiter"]

_EPSILON = 1e-9


@dataclass(slots=True)
class _Bucket:
    capacity: float
    level: float
    updated: float

    def refill(self, capacity: float, now: float) -> None:
        if capacity != self.capacity:  # limit changed: keep what is used, rescale the top
            self.level = min(self.level + capacity - self.capacity, capacity)
            self.capacity = capacity
        self.level = min(capacity, self.level + (now - self.updated) * capacity / 60.0)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (inf if it never fits)."""
        if amount > self.capacity:
            return math.inf
        return max(0.0, (amount - self.level) * 60.0 / self.capacity)

    def reset_after(self) -> float:
        return (self.capacity - self.level) * 60.0 / self.capacity


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of a rate-limit check: whether to admit, how long to wait, and the headers to send."""

    allowed: bool
    retry_after: int
    headers: dict[str, str]
    reason: str = ""


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{math.ceil(seconds * 1000) / 1000:g}s"
    minutes, rest = divmod(math.ceil(seconds), 60)
    return f"{minutes}m{rest}s"


def limit_headers(rpm: int, requests: _Bucket | None, tpm: int, tokens: _Bucket | None) -> dict[str, str]:
    """The ``x-ratelimit-*`` headers for the buckets a key has (none for a limit of 0)."""
    headers: dict[str, str] = {}
    if requests is not None:
        headers["x-ratelimit-limit-requests"] = str(rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(math.floor(requests.level), 0))
        headers["x-ratelimit-reset-requests"] = _duration(requests.reset_after())
    if tokens is not None:
        headers["x-ratelimit-limit-tokens"] = str(tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(math.floor(tokens.level), 0))
        headers["x-ratelimit-reset-tokens"] = _duration(tokens.reset_after())
    return headers


def refusal(wait: float, reason: str, tokens: int, tpm: int, headers: dict[str, str]) -> Decision:
    """The 429 decision for a request that must wait ``wait`` seconds (infinite: it can never pass)."""
    if math.isinf(wait):  # can never pass: tell SDKs not to retry
        headers["x-should-retry"] = "false"
        return Decision(False, 60, headers, f"request of {tokens} tokens exceeds the {tpm} {reason} limit")
    return Decision(False, max(1, math.ceil(wait)), headers, f"Rate limit exceeded ({reason})")


class RateLimiter:
    """Token buckets per account: ``rpm`` requests and ``tpm`` tokens per minute (0 = no limit).

    A bucket starts full and refills continuously at its limit per minute, so a burst of
    exactly ``rpm`` requests passes and the next one waits ``60 / rpm`` seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _bucket(self, account: str, kind: str, capacity: float, now: float) -> _Bucket:
        bucket = self._buckets.get((account, kind))
        if bucket is None:
            bucket = self._buckets[(account, kind)] = _Bucket(capacity, capacity, now)
        else:
            bucket.refill(capacity, now)
        return bucket

    def check(self, account: str, rpm: int, tpm: int, tokens: int) -> Decision:
        """Admit one request of ``tokens`` tokens for ``account`` if both limits allow, taking from both."""
        return self._evaluate(account, rpm, tpm, tokens, take=True)

    def peek(self, account: str, rpm: int, tpm: int) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers for ``account`` now, taking nothing (for answers that skip the limiter)."""
        return self._evaluate(account, rpm, tpm, 0, take=False).headers

    def _evaluate(self, account: str, rpm: int, tpm: int, tokens: int, *, take: bool) -> Decision:
        if rpm <= 0 and tpm <= 0:
            return Decision(True, 0, {})
        with self._lock:
            now = self._clock()
            waits: list[tuple[float, str]] = []
            requests = self._bucket(account, "requests", rpm, now) if rpm > 0 else None
            token_bucket = self._bucket(account, "tokens", tpm, now) if tpm > 0 else None
            if requests is not None:
                waits.append((requests.wait_for(1), "requests per minute"))
            if token_bucket is not None:
                waits.append((token_bucket.wait_for(tokens), "tokens per minute"))
            wait, reason = max(waits)
            allowed = wait <= _EPSILON  # a client retrying exactly at Retry-After must pass
            if allowed and take:
                if requests is not None:
                    requests.level -= 1
                if token_bucket is not None:
                    token_bucket.level -= tokens
            headers = limit_headers(rpm, requests, tpm, token_bucket)
            if allowed:
                return Decision(True, 0, headers)
            return refusal(wait, reason, tokens, tpm, headers)

    def reset(self) -> None:
        """Refill every bucket."""
        with self._lock:
            self._buckets.clear()
