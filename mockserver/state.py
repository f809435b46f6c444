"""MockState: everything that changes while the mock runs, and the control operations on it.

The control API under ``/_mock/`` and the pytest fixtures call these same methods.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Hashable, Mapping
from typing import Any

from mockserver.config import ConfigError, MockConfig, coerce_settings
from mockserver.faults import Fault, FaultQueue, SeededFaults, make_fault
from mockserver.journal import Journal, JournalEntry
from mockserver.ledger import Ledger
from mockserver.ratelimit import RateLimiter
from mockserver.replies import Reply, tool_call_reply

__all__ = ["RUNTIME_SETTINGS", "STARTUP_SETTINGS", "MockState"]

RUNTIME_SETTINGS = frozenset(
    {
        "seed",
        "default_model",
        "default_max_tokens",
        "unknown_model_status",
        "accept_any_model",
        "max_body_bytes",
        "ttft_ms",
        "tokens_per_second",
        "error_style",
        "credits",
        "plan",
        "rpm",
        "tpm",
        "unavailable_models",
        "fault_rate",
        "faults",
        "api_keys",
        "key_prefixes",
        "jwt_secret",
        "models",
        "replies",
        "cassettes",
        "replay",
        "replay_speed",
        "replay_match",
    }
)
"""Settings that ``update_config`` (and ``PUT /_mock/config``) may change while running."""
STARTUP_SETTINGS = frozenset(field.name for field in dataclasses.fields(MockConfig)) - RUNTIME_SETTINGS
"""Settings read once, when the mock starts (``host``, ``port``, ``admin_token``, ``cors_origins`` ...):
changing one needs a new mock. They are read from :attr:`MockState.startup_config`."""


class MockState:
    """The mutable state of one mock: ledger, limits, faults, scripted replies, outages, journal.

    It owns the mock's settings: ``startup_config`` is what the mock was started with (settings
    such as ``host``, ``admin_token`` and ``cors_origins`` are read from it only, and :meth:`reset`
    returns to it); ``config`` is the running config, which :meth:`update_config` changes.
    """

    def __init__(self, config: MockConfig) -> None:
        self.startup_config = config
        self._lock = threading.Lock()
        self.config = config
        self.ledger = Ledger(config.credits, config.plan)
        self.limiter = RateLimiter()
        self.fault_queue = FaultQueue()
        self.seeded = SeededFaults(config.seed, config.fault_rate, config.faults)
        self.journal = Journal(config.journal_size)
        self.scripted: deque[Reply] = deque()
        self.unavailable: set[str] = set(config.unavailable_models)

    # -- configuration -------------------------------------------------------------------
    def update_config(self, settings: Mapping[str, Any], source: str = "update_config") -> MockConfig:
        """Apply runtime-changeable settings (see :data:`RUNTIME_SETTINGS`); returns the new config.

        Values are checked and converted like config-file values (lists may be lists or comma-separated).
        """
        changes = coerce_settings(settings, source)
        fixed = set(changes) - RUNTIME_SETTINGS
        if fixed:
            raise ConfigError(
                f"cannot change startup settings {sorted(fixed)} while running; changeable: {sorted(RUNTIME_SETTINGS)}"
            )
        with self._lock:
            config = self.config.replace(**changes)
            if "credits" in changes or "plan" in changes:
                self.ledger.configure(None, credits=changes.get("credits"), plan=changes.get("plan"))
            if {"seed", "fault_rate", "faults"} & set(changes):
                self.seeded.configure(config.seed, config.fault_rate, config.faults)
            if "unavailable_models" in changes:
                self.unavailable = set(config.unavailable_models)
            self.config = config
        return config

    def apply_file_changes(self, changes: Mapping[str, Any]) -> MockConfig:
        """Apply settings re-read from the config file (hot reload); returns the new config.

        Unlike :meth:`update_config`, the ledger and the journal are kept: new ``credits``/``plan``
        apply to keys first seen from now on. The changes also become what :meth:`reset` returns to.
        Raises :class:`ConfigError` (and changes nothing) for an unusable value or a setting that
        needs a restart.
        """
        fixed = set(changes) - RUNTIME_SETTINGS
        if fixed:
            raise ConfigError(f"{sorted(fixed)} cannot change while running: restart to apply")
        with self._lock:
            config = self.config.replace(**changes)
            startup = self.startup_config.replace(**changes)
            if "credits" in changes or "plan" in changes:
                self.ledger.set_defaults(config.credits, config.plan)
            if {"seed", "fault_rate", "faults"} & set(changes):
                self.seeded.configure(config.seed, config.fault_rate, config.faults)
            if "unavailable_models" in changes:
                self.unavailable = set(config.unavailable_models)
            self.config, self.startup_config = config, startup
        return config

    def reset(self) -> None:
        """Back to the starting config: ledger, limits, queued faults and replies, outages, journal."""
        with self._lock:
            self.config = self.startup_config
            self.ledger.reset(self.startup_config.credits, self.startup_config.plan)
            self.limiter.reset()
            self.fault_queue.clear()
            self.seeded.configure(self.startup_config.seed, self.startup_config.fault_rate, self.startup_config.faults)
            self.scripted.clear()
            self.unavailable = set(self.startup_config.unavailable_models)
            self.journal.clear()

    # -- control operations ----------------------------------------------------------------
    def set_credits(self, credits: int, key: str | None = None) -> None:
        """Give ``key`` (or, with None, every key) a fresh balance of ``credits``."""
        if credits < 0:
            raise ValueError("credits must be >= 0")
        self.ledger.configure(key, credits=credits)

    def set_key(
        self,
        key: str,
        *,
        credits: int | None = None,
        plan: str | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        unlimited: bool | None = None,
    ) -> None:
        """Configure one key's balance, plan, unlimited flag and own rate limits."""
        self.ledger.configure(key, credits=credits, plan=plan, rpm=rpm, tpm=tpm, unlimited=unlimited)

    def queue_fault(
        self, name: str, times: int = 1, *, model: str | None = None, route: str | None = None, **params: Any
    ) -> Fault:
        """Give fault ``name`` (with ``params``) to the next ``times`` requests matching model/route."""
        fault = make_fault(name, params)
        self.fault_queue.push(fault, times, model, route)
        return fault

    def fail_next(
        self, status: int, times: int = 1, retry_after: int | None = None, *, model: str | None = None
    ) -> Fault:
        """Answer the next ``times`` chat requests with HTTP ``status``."""
        params: dict[str, Any] = {"status": status}
        if retry_after is not None:
            params["retry_after"] = retry_after
        return self.queue_fault("http_error", times, model=model, **params)

    def reply(self, text: str | None = None, *, tool_call: Mapping[str, Any] | None = None) -> None:
        """Script the next reply: ``text``, or a tool call ``{"name": ..., "arguments": {...}}``."""
        if (text is None) == (tool_call is None):
            raise ValueError("give exactly one of text or tool_call")
        if tool_call is not None:
            scripted = tool_call_reply(self.config.seed, str(tool_call["name"]), tool_call.get("arguments", {}))
        else:
            scripted = Reply(text=text)
        with self._lock:
            self.scripted.append(scripted)

    def peek_scripted(self) -> Reply | None:
        """The next scripted reply, left in the queue (see :meth:`consume_scripted`)."""
        with self._lock:
            return self.scripted[0] if self.scripted else None

    def consume_scripted(self, reply: Reply) -> None:
        """Drop ``reply`` from the head of the queue once a request has been answered with it."""
        with self._lock:
            if self.scripted and self.scripted[0] is reply:
                self.scripted.popleft()

    def model_unavailable(self, model: str, unavailable: bool = True) -> None:
        """Make ``model`` answer 503 (or, with ``unavailable=False``, serve it again)."""
        with self._lock:
            if unavailable:
                self.unavailable.add(model)
            else:
                self.unavailable.discard(model)

    def requests(self) -> list[JournalEntry]:
        """The journal, oldest first."""
        return self.journal.entries()

    def pending(self) -> dict[str, Any]:
        """What was queued but not used yet: replies and faults."""
        with self._lock:
            replies = [r.text if r.text is not None else {"tool_call": r.tool_calls[0].name} for r in self.scripted]
        return {"replies": replies, "faults": self.fault_queue.pending()}

    def view_version(self) -> Hashable:
        """A value that changes when the settings or the queued faults change (the live journal's ``changed``)."""
        return (id(self.config), repr(self.fault_queue.pending()))
