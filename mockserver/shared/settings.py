"""Runtime config, per-model outages and scripted replies, shared in Redis.

Runtime config is kept as the settings changed since start (``name -> JSON``) plus a version
counter that every change bumps in the same transaction. The settings come in two layers: those
re-read from a watched config file (``serve --watch``), which a reset keeps, as it keeps the file,
and over them those changed at run time (``PUT /_mock/config``), which a reset drops. A file
change of a setting replaces its run-time value, as in memory. A worker reads the version with the
other per-request counters (one ``MGET``) and reloads the settings only when it moved, so a
change made through any worker applies to the very next request on every worker.

Scripted replies are a list of JSON specs, each with a unique id; a request peeks at the head
and removes it only if it is still the head when it is answered (one script), so a scripted
reply is used by exactly one request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.config import ConfigError
from mockserver.shared.store import Store

__all__ = ["Counters", "SharedSettings"]

# KEYS: list, count. ARGV: expected head. 1 if it was the head (and is now gone).
_CONSUME = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  redis.call('DECR', KEYS[2])
  return 1
end
return 0
"""

# KEYS: list, count, id counter. ARGV: spec JSON without id.
_PUSH = """
local id = redis.call('INCR', KEYS[3])
local spec = cjson.decode(ARGV[1])
spec['id'] = id
redis.call('RPUSH', KEYS[1], cjson.encode(spec))
return redis.call('INCR', KEYS[2])
"""


@dataclass(frozen=True, slots=True)
class Counters:
    """What one request needs to know before it starts, read in one round trip."""

    config_version: int
    journal_generation: int
    queued_faults: int
    queued_replies: int


class SharedSettings:
    """Changed settings, unavailable models and the scripted-reply queue of one shared mock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.version_key = store.key("config", "version")
        self.overrides_key = store.key("config", "overrides")
        self.file_key = store.key("config", "file")
        self.unavailable_key = store.key("config", "unavailable")
        self.replies_key = store.key("replies")
        self.replies_count_key = store.key("replies", "count")
        self._reply_ids = store.key("replies", "ids")

    # -- per request ---------------------------------------------------------------------
    def counters(self, journal_generation_key: str, faults_active_key: str) -> Counters:
        """The config version, journal generation and queue lengths, in one ``MGET``."""
        keys = [self.version_key, journal_generation_key, faults_active_key, self.replies_count_key]
        values = self.store.call(lambda r: r.mget(keys))
        version, generation, faults, replies = (int(v or 0) for v in values)
        return Counters(version, generation, faults, replies)

    async def acounters(self, journal_generation_key: str, faults_active_key: str) -> Counters:
        """:meth:`counters`, sent with the other commands of this loop turn (see :mod:`mockserver.shared.batch`)."""
        batch = self.store.batch
        if batch is None:
            return self.counters(journal_generation_key, faults_active_key)
        self.store.check_up()
        keys = [self.version_key, journal_generation_key, faults_active_key, self.replies_count_key]
        version, generation, faults, replies = (int(v or 0) for v in await batch.call("MGET", *keys))
        return Counters(version, generation, faults, replies)

    # -- config --------------------------------------------------------------------------
    def update(self, raw: Mapping[str, Any]) -> int:
        """Store changed settings (as given, JSON) and bump the version; returns the new version."""
        try:
            encoded = {name: json.dumps(value, default=_plain) for name, value in raw.items()}
        except TypeError as exc:
            raise ConfigError(f"settings shared through Redis must be JSON values: {exc}") from None

        def write(client: Any) -> int:
            pipe = client.pipeline(transaction=True)
            if encoded:
                pipe.hset(self.overrides_key, mapping=encoded)
            pipe.incr(self.version_key)
            return int(pipe.execute()[-1])

        version = self.store.call(write)
        self.store.announce()
        return version

    def update_file(self, values: Mapping[str, Any]) -> int:
        """Store settings re-read from the config file (JSON values), replacing their run-time values."""
        encoded = {name: json.dumps(value) for name, value in values.items()}

        def write(client: Any) -> int:
            pipe = client.pipeline(transaction=True)
            if encoded:
                pipe.hset(self.file_key, mapping=encoded)
                pipe.hdel(self.overrides_key, *encoded)
            pipe.incr(self.version_key)
            return int(pipe.execute()[-1])

        version = self.store.call(write)
        self.store.announce()
        return version

    def file_values(self) -> dict[str, Any]:
        """The settings re-read from the config file since start (see :meth:`update_file`)."""
        stored: dict[str, str] = self.store.call(lambda r: r.hgetall(self.file_key))  # type: ignore[arg-type,return-value]
        return {k: json.loads(v) for k, v in stored.items()}

    def snapshot(self) -> tuple[int, dict[str, Any], set[str]]:
        """Version, changed settings (the file's, then the run-time ones over them) and unavailable models."""

        def read(client: Any) -> list[Any]:
            pipe = client.pipeline(transaction=True)
            pipe.get(self.version_key)
            pipe.hgetall(self.file_key)
            pipe.hgetall(self.overrides_key)
            pipe.smembers(self.unavailable_key)
            result: list[Any] = pipe.execute()
            return result

        version, from_file, overrides, unavailable = self.store.call(read)
        changed = {k: json.loads(v) for k, v in from_file.items()}
        changed.update((k, json.loads(v)) for k, v in overrides.items())
        return int(version or 0), changed, set(unavailable)

    def set_unavailable(self, model: str, unavailable: bool) -> None:
        """Mark ``model`` unavailable (or available again) for every worker."""

        def write(client: Any) -> None:
            pipe = client.pipeline(transaction=True)
            if unavailable:
                pipe.sadd(self.unavailable_key, model)
            else:
                pipe.srem(self.unavailable_key, model)
            pipe.incr(self.version_key)
            pipe.execute()

        self.store.call(write)
        self.store.announce()

    def replace_unavailable(self, models: Iterable[str]) -> None:
        """The unavailable models become exactly ``models``."""
        models = list(models)

        def write(client: Any) -> None:
            pipe = client.pipeline(transaction=True)
            pipe.delete(self.unavailable_key)
            if models:
                pipe.sadd(self.unavailable_key, *models)
            pipe.incr(self.version_key)
            pipe.execute()

        self.store.call(write)
        self.store.announce()

    def reset(self, unavailable: Iterable[str]) -> None:
        """Back to the starting config (with the file's changes) and outages; scripted replies dropped."""
        models = list(unavailable)

        def write(client: Any) -> None:
            pipe = client.pipeline(transaction=True)
            pipe.delete(self.overrides_key, self.unavailable_key, self.replies_key)
            pipe.set(self.replies_count_key, 0)
            if models:
                pipe.sadd(self.unavailable_key, *models)
            pipe.incr(self.version_key)
            pipe.execute()

        self.store.call(write)
        self.store.announce()

    # -- scripted replies ------------------------------------------------------------------
    def push_reply(self, spec: Mapping[str, Any]) -> None:
        """Queue a reply spec (``{"text": ...}`` or ``{"tool_call": {...}}``)."""
        text = json.dumps(dict(spec), separators=(",", ":"))
        self.store.run("replies_push", _PUSH, [self.replies_key, self.replies_count_key, self._reply_ids], [text])
        self.store.announce()

    def head_reply(self) -> str | None:
        """The raw head of the reply queue (JSON with its ``id``), or None."""
        head: Any = self.store.call(lambda r: r.lindex(self.replies_key, 0))
        return None if head is None else str(head)

    def consume_reply(self, raw: str) -> bool:
        """Drop ``raw`` if it is still the head; False if another request took it first."""
        used = int(self.store.run("replies_consume", _CONSUME, [self.replies_key, self.replies_count_key], [raw])) == 1
        if used:
            self.store.announce()  # the queue is shorter: workers that still count on it look again
        return used

    def replies(self) -> list[dict[str, Any]]:
        """The queued reply specs, in order."""
        return [json.loads(raw) for raw in self.store.call(lambda r: r.lrange(self.replies_key, 0, -1))]


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")
