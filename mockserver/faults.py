"""Injected failures: what they are, how they are parsed, queued, and drawn from a seeded RNG.

Fault names (promises to users' scripts; see README "Faults"):

=================== ============================ ==========================================
name                parameters                   effect
=================== ============================ ==========================================
http_error          status, retry_after          answer ``status`` with the documented body
latency             ms                           wait ``ms`` before answering
slow_first_token    ms                           stream: wait ``ms`` more before the first token
disconnect          after_chunks (default 2)     stream: drop the connection after N events
malformed_chunk     after_chunks (default 1)     stream: event N+1 carries broken JSON
stall               ms, after_chunks (default 1) stream: pause ``ms`` after N events
error_frame         after_chunks (default 1)     stream: ``data: {"error": ...}`` after N events, then end
no_finish_reason                                 stream: no chunk carries ``finish_reason``
no_done                                          stream: ends without ``data: [DONE]``
=================== ============================ ==========================================

A bare status (``"429"``) is short for ``http_error`` with that status.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BARE_STATUS",
    "CHOICE_NAMES",
    "FAULT_NAMES",
    "FAULT_PARAMS",
    "STREAM_FAULTS",
    "Fault",
    "FaultError",
    "FaultQueue",
    "ParamBounds",
    "QueuedFault",
    "SeededFaults",
    "check_fault_choice",
    "fault_body_schema",
    "fault_choice_schema",
    "fault_params_schema",
    "make_fault",
    "parse_fault",
]

FAULT_NAMES: tuple[str, ...] = (
    "http_error",
    "latency",
    "slow_first_token",
    "disconnect",
    "malformed_chunk",
    "stall",
    "error_frame",
    "no_finish_reason",
    "no_done",
)
"""Every fault name, in the order of the table above."""
STREAM_FAULTS = frozenset(FAULT_NAMES) - {"http_error", "latency"}
"""Faults that act inside an SSE stream: they wait for a streaming request."""


@dataclass(frozen=True, slots=True)
class ParamBounds:
    """The type and inclusive range of one fault parameter."""

    kind: type[int] | type[float]
    low: int
    high: int

    def schema(self) -> dict[str, Any]:
        """The parameter as a JSON Schema (for the control API's request bodies)."""
        return {"type": "integer" if self.kind is int else "number", "minimum": self.low, "maximum": self.high}


FAULT_PARAMS: dict[str, ParamBounds] = {
    "status": ParamBounds(int, 400, 599),
    "retry_after": ParamBounds(int, 0, 86400),
    "ms": ParamBounds(float, 0, 600_000),
    "after_chunks": ParamBounds(int, 0, 1_000_000),
}
"""Every fault parameter and its bounds: the one place they are written."""
BARE_STATUS = "^[45][0-9]{2}$"
"""A fault name that is a bare HTTP error status (``"429"``): short for ``http_error`` with that status.

One pattern for :func:`make_fault` and the control API's documented schema (``re.search``, as JSON Schema reads it).
"""
_RETRY_AFTER_DEFAULT = {429: 1, 503: 1}


class FaultError(ValueError):
    """A fault description the mock cannot use; the message says what is wrong.

    Example:
        >>> from mockserver import InProcessMock
        >>> with InProcessMock() as mock:
        ...     try:
        ...         mock.queue_fault("explode")
        ...     except FaultError as error:
        ...         print(type(error).__name__, "explode" in str(error))
        FaultError True
    """


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected failure. ``stream_only`` faults wait for a streaming request.

    Example:
        >>> from mockserver import InProcessMock
        >>> with InProcessMock() as mock:
        ...     fault = mock.queue_fault("disconnect", after_chunks=3)
        ...     fault.name, fault.after_chunks, fault.stream_only
        ('disconnect', 3, True)
    """

    name: str
    status: int | None = None
    retry_after: int | None = None
    ms: float | None = None
    after_chunks: int | None = None
    source: str = "queue"

    @property
    def stream_only(self) -> bool:
        """Whether the fault acts inside an SSE stream (it waits for a streaming request)."""
        return self.name in STREAM_FAULTS

    def as_dict(self) -> dict[str, Any]:
        """The fault as JSON-ready data: its name and the parameters that are set."""
        out: dict[str, Any] = {"fault": self.name}
        for key in ("status", "retry_after", "ms", "after_chunks"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def make_fault(name: str, params: Mapping[str, Any] | None = None, source: str = "queue") -> Fault:
    """Build and check a :class:`Fault` from a name (or bare status) and parameters."""
    params = dict(params or {})
    unknown = set(params) - FAULT_PARAMS.keys()
    if unknown:
        raise FaultError(f"fault {name!r}: unknown parameter(s) {sorted(unknown)}; known: {sorted(FAULT_PARAMS)}")
    if name.isascii() and name.isdigit() and not re.search(BARE_STATUS, name):
        raise FaultError(f"fault {name!r}: status={name} is outside 400..599 (a bare status is three digits)")
    if re.search(BARE_STATUS, name):
        params.setdefault("status", int(name))
        name = "http_error"
    if name not in FAULT_NAMES:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)} or an HTTP status")

    def number(key: str) -> Any:
        value = params.get(key)
        if value is None:
            return None
        bounds = FAULT_PARAMS[key]
        try:
            converted = bounds.kind(value)
        except (TypeError, ValueError):
            raise FaultError(f"fault {name!r}: {key} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not bounds.low <= converted <= bounds.high:
            raise FaultError(f"fault {name!r}: {key}={value!r} is outside {bounds.low:g}..{bounds.high:g}")
        return converted

    status = number("status")
    if name == "http_error" and status is None:
        raise FaultError("fault 'http_error' needs a status (400..599)")
    retry_after = number("retry_after")
    if name == "http_error" and retry_after is None and status is not None:
        retry_after = _RETRY_AFTER_DEFAULT.get(status)
    return Fault(
        name=name,
        status=status,
        retry_after=retry_after,
        ms=number("ms"),
        after_chunks=number("after_chunks"),
        source=source,
    )


CHOICE_NAMES: tuple[str, ...] = tuple(name for name in FAULT_NAMES if name != "http_error")
"""Fault names the seeded generator can draw by name (``http_error`` needs a status: give the status)."""


def check_fault_choice(choice: str) -> None:
    """Check one entry of the seeded generator's choices: a fault name or an HTTP error status.

    Raises:
        FaultError: ``choice`` is neither.

    Example:
        >>> check_fault_choice("503"), check_fault_choice("disconnect")
        (None, None)
        >>> check_fault_choice("600")
        Traceback (most recent call last):
        ...
        mockserver.faults.FaultError: '600' is neither an HTTP error status nor one of latency, ...
    """
    if choice in CHOICE_NAMES or re.search(BARE_STATUS, choice):
        return
    raise FaultError(f"{choice!r} is neither an HTTP error status nor one of {', '.join(CHOICE_NAMES)}")


def fault_choice_schema() -> dict[str, Any]:
    """JSON Schema of one seeded-generator choice: exactly what :func:`check_fault_choice` accepts."""
    return {"anyOf": [{"enum": list(CHOICE_NAMES)}, {"type": "string", "pattern": BARE_STATUS}]}


def fault_params_schema() -> dict[str, Any]:
    """JSON Schema ``properties`` for the fault parameters, derived from :data:`FAULT_PARAMS`."""
    return {key: bounds.schema() for key, bounds in FAULT_PARAMS.items()}


def fault_body_schema() -> dict[str, Any]:
    """JSON Schema of a fault as data (``{"fault": name, **params}``): exactly what :func:`make_fault` takes.

    A name from :data:`FAULT_NAMES` or a bare status (:data:`BARE_STATUS`); the parameters of
    :data:`FAULT_PARAMS` within their bounds; ``http_error`` needs a ``status``.
    """
    return {
        "type": "object",
        "required": ["fault"],
        "properties": {
            "fault": {"anyOf": [{"enum": list(FAULT_NAMES)}, {"type": "string", "pattern": BARE_STATUS}]},
            **fault_params_schema(),
        },
        "if": {"properties": {"fault": {"const": "http_error"}}},
        "then": {"required": ["status"]},
    }


def parse_fault(text: str, source: str = "header") -> Fault:
    """Parse ``"name"``, ``"503"`` or ``"name; key=value; ..."`` (the ``X-Mock-Fault`` header form).

    Example:
        >>> parse_fault("http_error; status=429; retry_after=2")
        Fault(name='http_error', status=429, retry_after=2, ms=None, after_chunks=None, source='header')
    """
    name, *parts = [part.strip() for part in text.split(";")]
    params: dict[str, str] = {}
    for part in parts:
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise FaultError(f"fault parameter {part!r} is not key=value")
        params[key.strip()] = value.strip()
    return make_fault(name, params, source)


@dataclass(slots=True)
class QueuedFault:
    """A queued fault and how many more requests it applies to."""

    fault: Fault
    remaining: int
    model: str | None
    route: str | None
    used: int = 0

    def matches(self, model: str, route: str, stream: bool) -> bool:
        if self.fault.stream_only and not stream:
            return False
        return (self.model is None or self.model == model) and (self.route is None or self.route == route)


@dataclass(slots=True)
class FaultQueue:
    """Faults for the next N matching requests, used in the order they were queued."""

    _entries: list[QueuedFault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, fault: Fault, times: int = 1, model: str | None = None, route: str | None = None) -> None:
        """Give ``fault`` to the next ``times`` requests matching ``model`` and ``route`` (None = any)."""
        if times < 1:
            raise FaultError("times must be >= 1")
        with self._lock:
            self._entries.append(QueuedFault(fault, times, model, route))

    def peek(self, model: str, route: str, stream: bool) -> QueuedFault | None:
        """The queue entry this request would use, without using it (see :meth:`commit`)."""
        with self._lock:
            for entry in self._entries:
                if entry.remaining > 0 and entry.matches(model, route, stream):
                    return entry
        return None

    def commit(self, entry: QueuedFault) -> bool:
        """Use one of ``entry``'s times; False if a concurrent request used the last one first."""
        with self._lock:
            if entry.remaining <= 0:
                return False
            entry.remaining -= 1
            entry.used += 1
            return True

    def pending(self) -> list[dict[str, Any]]:
        """Queued faults not yet used up: fault, times left, filters."""
        with self._lock:
            return [
                {**e.fault.as_dict(), "remaining": e.remaining, "model": e.model, "route": e.route}
                for e in self._entries
                if e.remaining > 0
            ]

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._entries.clear()


class SeededFaults:
    """Draws a fault for a fraction ``rate`` of requests from ``choices``, reproducibly from ``seed``.

    Every request that reaches the draw (no header, magic or queued fault decided it first)
    consumes exactly two draws, whatever the outcome, so the same seed and the same sequence of
    requests always give the same faults.
    """

    def __init__(self, seed: int, rate: float, choices: tuple[str, ...]) -> None:
        self._lock = threading.Lock()
        self.configure(seed, rate, choices)

    def configure(self, seed: int, rate: float, choices: tuple[str, ...]) -> None:
        faults = tuple(make_fault(choice, source="rate") for choice in choices)
        with self._lock:
            self._rng = random.Random(seed)
            self._rate = rate
            self._faults = faults

    def draw(self, stream: bool, key: str = "") -> Fault | None:
        """The fault for the next request, or None. Stream-only faults skip non-streaming requests.

        ``key`` (the caller's account) is not used in memory, where one sequence serves every key;
        shared state draws per key (see :mod:`mockserver.shared.faults`).
        """
        if self._rate <= 0 or not self._faults:
            # No draw can give a fault, and any change of rate or faults reseeds (configure): the
            # draws skipped here could never show, so the sequence stays reproducible.
            return None
        with self._lock:
            return self._pick(self._rng, stream)

    def _pick(self, rng: random.Random, stream: bool) -> Fault | None:
        """Two draws from ``rng``: whether a fault happens (at the rate), then which one."""
        roll, pick = rng.random(), rng.random()
        if roll >= self._rate:
            return None
        fault = self._faults[int(pick * len(self._faults))]
        if fault.stream_only and not stream:
            return None
        return fault
