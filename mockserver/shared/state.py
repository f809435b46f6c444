"""SharedMockState: :class:`~mockserver.state.MockState` with every piece of state in Redis.

Several workers (processes, or machines) that share one Redis database act as one mock: one
ledger, one set of rate-limit buckets, one fault queue, one reply queue, one runtime config and
one journal. Each request starts with :meth:`SharedMockState.abegin` (``begin`` off the serving
loop): when a change was announced since the last request (:mod:`mockserver.shared.changes`),
one ``MGET`` picks up a config changed through another worker and learns whether any fault or
reply is queued at all. A plain request then needs one Redis step (see
:mod:`mockserver.shared.chat`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Hashable, Mapping
from typing import Any

from mockserver.config import ConfigError, MockConfig, coerce_settings, config_as_dict
from mockserver.faults import Fault
from mockserver.journal import JournalEntry
from mockserver.replies import Reply
from mockserver.shared.faults import RedisFaultQueue, RedisSeededFaults
from mockserver.shared.journal import RedisJournal
from mockserver.shared.ledger import RedisLedger
from mockserver.shared.ratelimit import RedisRateLimiter
from mockserver.shared.settings import Counters, SharedSettings
from mockserver.shared.store import StateUnavailable, Store
from mockserver.state import RUNTIME_SETTINGS, MockState

__all__ = ["SharedMockState"]

log = logging.getLogger("mockserver")


@dataclasses.dataclass(frozen=True, slots=True)
class _SharedReply(Reply):
    """A scripted reply read from Redis; ``raw`` is its queue entry (used up with it)."""

    raw: str = ""


class SharedMockState(MockState):
    """The state of a mock whose workers share one Redis database (``--state redis://HOST:PORT/DB``).

    Args:
        config: the starting config (every worker must start with the same one).
        store: the Redis connection and key namespace.
    """

    def __init__(self, config: MockConfig, store: Store) -> None:
        super().__init__(config)
        self.store = store
        self.settings = SharedSettings(store)
        self.ledger = self.shared_ledger = RedisLedger(store, config.credits, config.plan)
        self.limiter = RedisRateLimiter(store)
        self.fault_queue = self.shared_faults = RedisFaultQueue(store)
        self.seeded = self.shared_seeded = RedisSeededFaults(store, config.seed, config.fault_rate, config.faults)
        self.journal = self.shared_journal = RedisJournal(store, config.journal_size)
        self._version = -1
        self._counters: Counters | None = None
        self._view: Hashable = None  # the last view_version() read
        self._catching_up: asyncio.Future[None] | None = None  # the catch-up on its way (see abegin)
        try:
            self.begin()
        except StateUnavailable as exc:  # start anyway: every request catches up (or gets 503) until Redis is back
            log.warning("starting without the shared state: %s", exc)

    # -- per request -------------------------------------------------------------------------
    def begin(self) -> None:
        """Catch up with the shared state before a request: config, reset generation, queue lengths."""
        if self.shared_ledger.has_lost_reservation:
            self.shared_ledger.undo_lost()
        self._catch_up(self.settings.counters(self.shared_journal.generation_key, self.shared_faults.active_key))

    async def abegin(self) -> None:
        """:meth:`begin` for a serving worker: nothing to do unless a change was announced.

        The worker listens for change notices (:mod:`mockserver.shared.changes`); while it does,
        a request catches up only if a notice came since the last catch-up. Otherwise (not
        subscribed yet, or the subscription lost) every request catches up, its read sent with
        this loop turn's other commands (:mod:`mockserver.shared.batch`).

        While a catch-up is on its way, the requests that arrive meanwhile wait for it: they must
        not be answered with the state it is about to replace.
        """
        if self.shared_ledger.has_lost_reservation:
            self.shared_ledger.undo_lost()
        changes = self.store.changes
        while changes.live and self._catching_up is not None:
            await asyncio.shield(self._catching_up)  # then look again: a notice may have come meanwhile
        if changes.live and not changes.stale:
            return
        done: asyncio.Future[None] | None = None
        if changes.live:  # one catch-up serves every request that comes until it is done
            done = self._catching_up = asyncio.get_running_loop().create_future()
        try:
            self._start_catch_up()
            counters = await self.settings.acounters(self.shared_journal.generation_key, self.shared_faults.active_key)
            self._catch_up(counters)
        except BaseException:
            changes.stale = True  # not caught up: the next request tries again
            raise
        finally:
            if done is not None:
                self._catching_up = None
                done.set_result(None)

    def _start_catch_up(self) -> None:
        """A catch-up begins: a notice from now on makes the next request catch up again (the caller sets
        ``stale`` back if it fails); cached accounts are forgotten; a serving worker listens for notices."""
        changes = self.store.changes
        changes.stale = False
        self.shared_ledger.forget_cached()
        if self.store.batch is not None:  # a serving worker (one long-lived loop): subscribe
            changes.listen()

    def _catch_up(self, counters: Counters) -> None:
        if counters.config_version != self._version:
            version, overrides, unavailable = self.settings.snapshot()
            try:
                config = self.startup_config.replace(**coerce_settings(overrides, "shared config"))
            except ConfigError as exc:  # written by a worker that checked it: only a foreign writer gets here
                log.error("ignoring the shared config in Redis: %s", exc)
                config = self.startup_config
            with self._lock:
                self.config = config
                self.unavailable = unavailable
                self.shared_seeded.use(config.seed, config.fault_rate, config.faults)
                self._version = version
        self.shared_journal.refresh(counters.journal_generation)
        self.shared_faults.hint_active = counters.queued_faults
        self._counters = counters

    # -- configuration -------------------------------------------------------------------------
    def update_config(self, settings: Mapping[str, Any], source: str = "update_config") -> MockConfig:
        """Apply runtime-changeable settings for every worker (see :meth:`MockState.update_config`)."""
        changes = coerce_settings(settings, source)
        fixed = set(changes) - RUNTIME_SETTINGS
        if fixed:
            raise ConfigError(f"cannot change {sorted(fixed)} while running; changeable: {sorted(RUNTIME_SETTINGS)}")
        config = self.config.replace(**changes)  # checks the combination before anything is shared
        raw = dict(settings)
        if "unavailable_models" in changes:
            self.settings.replace_unavailable(config.unavailable_models)
        self.settings.update(raw)
        if "credits" in changes or "plan" in changes:
            self.ledger.configure(None, credits=changes.get("credits"), plan=changes.get("plan"))
        if {"seed", "fault_rate", "faults"} & set(changes):
            self.seeded.configure(config.seed, config.fault_rate, config.faults)
        self.begin()
        return self.config

    def apply_file_changes(self, changes: Mapping[str, Any]) -> MockConfig:
        """Apply settings re-read from the config file for every worker (see :meth:`MockState.apply_file_changes`).

        They are stored as the file layer of the shared settings (:mod:`mockserver.shared.settings`),
        so every worker serves them from its next request, and a reset returns to them.
        """
        fixed = set(changes) - RUNTIME_SETTINGS
        if fixed:
            raise ConfigError(f"{sorted(fixed)} cannot change while running: restart to apply")
        config = self.config.replace(**changes)  # checks the values and their combination first
        plain = config_as_dict(config, masked=False)
        self.settings.update_file({name: plain[name] for name in changes})
        if "credits" in changes or "plan" in changes:
            self.shared_ledger.set_defaults(config.credits, config.plan)
        if "unavailable_models" in changes:
            self.settings.replace_unavailable(config.unavailable_models)
        if {"seed", "fault_rate", "faults"} & set(changes):
            self.seeded.configure(config.seed, config.fault_rate, config.faults)
        self.begin()
        return self.config

    def _initial_config(self) -> MockConfig:
        """What a reset returns to: the starting config with the file's changes since."""
        try:
            return self.startup_config.replace(**coerce_settings(self.settings.file_values(), "watched config file"))
        except ConfigError as exc:  # written by a worker that checked it: only a foreign writer gets here
            log.error("ignoring the config file's changes kept in Redis: %s", exc)
            return self.startup_config

    def reset(self) -> None:
        """Back to the starting config (with the watched file's changes) for every worker: ledger, limits, queues,
        outages, journal."""
        initial = self._initial_config()
        self.settings.reset(initial.unavailable_models)
        self.ledger.reset(initial.credits, initial.plan)
        self.limiter.reset()
        self.fault_queue.clear()
        self.seeded.configure(initial.seed, initial.fault_rate, initial.faults)
        self.journal.clear()
        self.begin()

    # -- replies and outages ---------------------------------------------------------------------
    def reply(self, text: str | None = None, *, tool_call: Mapping[str, Any] | None = None) -> None:
        """Script the next reply for whichever worker answers next."""
        spec: dict[str, Any] = {"text": text} if tool_call is None else {"tool_call": dict(tool_call)}
        self._build(spec)  # checks it now, as in memory
        self.settings.push_reply(spec)

    def _build(self, spec: Mapping[str, Any]) -> Reply:
        super().reply(spec.get("text"), tool_call=spec.get("tool_call"))
        with self._lock:
            return self.scripted.pop()

    def peek_scripted(self) -> Reply | None:
        """The next scripted reply, left in the queue (see :meth:`consume_scripted`)."""
        if self._counters is not None and self._counters.queued_replies == 0:
            return None
        raw = self.settings.head_reply()
        if raw is None:
            return None
        reply = self._build(json.loads(raw))
        fields = {f.name: getattr(reply, f.name) for f in dataclasses.fields(Reply)}
        return _SharedReply(**fields, raw=raw)

    def consume_scripted(self, reply: Reply) -> None:
        """Drop ``reply`` from the head of the queue once a request has been answered with it."""
        if not isinstance(reply, _SharedReply):
            return
        try:
            self.settings.consume_reply(reply.raw)
        except StateUnavailable as exc:  # the request is answered (and charged): do not fail it now
            log.warning("scripted reply not removed from the queue: %s", exc)

    def model_unavailable(self, model: str, unavailable: bool = True) -> None:
        """Make ``model`` answer 503 on every worker (or, with ``unavailable=False``, serve it again)."""
        self.settings.set_unavailable(model, unavailable)
        self.begin()

    def requests(self) -> list[JournalEntry]:
        """The journal of every worker, oldest first."""
        return self.journal.entries()

    def pending(self) -> dict[str, Any]:
        """What was queued but not used yet: replies and faults, on every worker."""
        replies = []
        for spec in self.settings.replies():
            spec.pop("id", None)
            r = self._build(spec)
            replies.append(r.text if r.text is not None else {"tool_call": r.tool_calls[0].name})
        return {"replies": replies, "faults": self.fault_queue.pending()}

    def view_version(self) -> Hashable:
        """As :meth:`MockState.view_version`, for changes made through any worker.

        This worker catches up first if a change was announced since its last request (or it does
        not listen for notices yet), so a page connected to an idle worker still sees changes.
        """
        changes = self.store.changes
        try:
            if not changes.live or changes.stale:  # as abegin: caught up now, until the next notice
                try:
                    self._start_catch_up()
                    self.begin()
                except StateUnavailable:
                    changes.stale = True  # the next request (or call) catches up instead
                    raise
            self._view = super().view_version()
        except StateUnavailable:  # Redis down: nothing to show has changed (requests say it is down)
            pass
        return self._view

    def queue_fault(
        self, name: str, times: int = 1, *, model: str | None = None, route: str | None = None, **params: Any
    ) -> Fault:
        """Give fault ``name`` to the next ``times`` matching requests, whichever worker serves them."""
        fault = super().queue_fault(name, times, model=model, route=route, **params)
        self.shared_faults.hint_active = None
        return fault
