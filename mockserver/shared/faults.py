"""The fault queue and the seeded fault generator, shared in Redis.

The queue: one hash per queued fault (the fault as JSON, ``remaining``, ``used``, filters) and a
list of their ids in queue order. Using one time of an entry is one atomic script, so a fault
queued for one request fires exactly once whichever worker serves it.

Seeded faults with shared state follow a rule that does not depend on which worker answers, or on
how requests from different keys interleave: **the n-th request of key K that reaches the draw
(counted from 1 since the last reset or change of seed, rate or faults) gets the fault drawn from
``random.Random(f"{seed}:{K}:{n}")``** (two draws, as in memory: the roll, then the pick). The
count per key is kept in Redis, so the same seed and the same requests per key give the same
faults, with one worker or many.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from mockserver.faults import Fault, FaultError, FaultQueue, QueuedFault, SeededFaults, make_fault
from mockserver.shared.store import Store

__all__ = ["RedisFaultQueue", "RedisQueuedFault", "RedisSeededFaults"]

# KEYS: id list, counter of active entries. ARGV: prefix, model, route, stream (1/0).
# Returns {id, fault JSON, remaining, used, model, route} of the first matching entry, or {}.
_PEEK = """
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local e = redis.call('HMGET', ARGV[1] .. id, 'fault', 'remaining', 'used', 'model', 'route', 'stream_only')
  if e[1] and tonumber(e[2]) > 0 and (e[6] ~= '1' or ARGV[4] == '1')
     and (e[4] == '' or e[4] == ARGV[2]) and (e[5] == '' or e[5] == ARGV[3]) then
    return {id, e[1], e[2], e[3], e[4], e[5]}
  end
end
return {}
"""

# KEYS: id list, active counter. ARGV: prefix, id. 1 if one time was used, 0 if none was left.
_COMMIT = """
local entry = ARGV[1] .. ARGV[2]
local remaining = tonumber(redis.call('HGET', entry, 'remaining') or '0')
if remaining <= 0 then return 0 end
redis.call('HINCRBY', entry, 'remaining', -1)
redis.call('HINCRBY', entry, 'used', 1)
if remaining == 1 then
  redis.call('LREM', KEYS[1], 1, ARGV[2])
  redis.call('DEL', entry)
  redis.call('DECR', KEYS[2])
end
return 1
"""

# KEYS: id list, active counter, id counter. ARGV: prefix, fault JSON, times, model, route, stream_only.
_PUSH = """
local id = tostring(redis.call('INCR', KEYS[3]))
redis.call('HSET', ARGV[1] .. id, 'fault', ARGV[2], 'remaining', ARGV[3], 'used', '0', 'model', ARGV[4],
           'route', ARGV[5], 'stream_only', ARGV[6])
redis.call('RPUSH', KEYS[1], id)
redis.call('INCR', KEYS[2])
return id
"""

# KEYS: id list, active counter. ARGV: prefix.
_CLEAR = """
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do redis.call('DEL', ARGV[1] .. id) end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '0')
return 1
"""


def fault_to_json(fault: Fault) -> str:
    """A fault as JSON text (every field, its source included)."""
    return json.dumps({**fault.as_dict(), "source": fault.source}, separators=(",", ":"))


def fault_from_json(text: str) -> Fault:
    """The :class:`Fault` that :func:`fault_to_json` wrote."""
    data: dict[str, Any] = json.loads(text)
    name = data.pop("fault")
    source = data.pop("source", "queue")
    return Fault(name=name, source=source, **data)


@dataclass(slots=True)
class RedisQueuedFault(QueuedFault):
    """A queued fault as read from Redis; ``id`` names its hash."""

    id: str = ""


class RedisFaultQueue(FaultQueue):
    """Faults for the next N matching requests, in queue order, shared by every worker."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._ids = store.key("faults", "queue")
        self._active = store.key("faults", "active")
        self._counter = store.key("faults", "ids")
        self._prefix = store.key("fault", "")
        self.hint_active: int | None = None  # queued entries as read at the start of the request (None: unknown)

    @property
    def active_key(self) -> str:
        """The Redis key counting entries with times left (read with the other per-request counters)."""
        return self._active

    def push(self, fault: Fault, times: int = 1, model: str | None = None, route: str | None = None) -> None:
        """Give ``fault`` to the next ``times`` requests matching ``model`` and ``route`` (None = any)."""
        if times < 1:
            raise FaultError("times must be >= 1")
        args = [self._prefix, fault_to_json(fault), times, model or "", route or "", "1" if fault.stream_only else "0"]
        self.store.run("faults_push", _PUSH, [self._ids, self._active, self._counter], args)
        self.store.announce()

    def active(self) -> int:
        """How many queued entries have times left (0 lets a request skip the queue)."""
        return int(self.store.call(lambda r: r.get(self._active)) or 0)

    def peek(self, model: str, route: str, stream: bool) -> QueuedFault | None:
        """The queue entry this request would use, without using it (see :meth:`commit`)."""
        if self.hint_active == 0:
            return None
        found = self.store.run(
            "faults_peek", _PEEK, [self._ids, self._active], [self._prefix, model, route, "1" if stream else "0"]
        )
        if not found:
            return None
        id_, fault, remaining, used, model_filter, route_filter = found
        return RedisQueuedFault(
            fault_from_json(fault), int(remaining), model_filter or None, route_filter or None, int(used), id=id_
        )

    def commit(self, entry: QueuedFault) -> bool:
        """Use one of ``entry``'s times; False if a concurrent request used the last one first."""
        if not isinstance(entry, RedisQueuedFault):
            raise TypeError("commit() takes an entry returned by this queue's peek()")
        used = self.store.run("faults_commit", _COMMIT, [self._ids, self._active], [self._prefix, entry.id])
        if int(used) != 1:
            return False
        entry.remaining -= 1
        entry.used += 1
        if entry.remaining <= 0:
            self.store.announce()  # used up: workers that still count on it look again
        return True

    def pending(self) -> list[dict[str, Any]]:
        """Queued faults not yet used up: fault, times left, filters."""

        def read(client: Any) -> list[Any]:
            ids = client.lrange(self._ids, 0, -1)
            pipe = client.pipeline(transaction=True)  # one snapshot
            for id_ in ids:
                pipe.hmget(self._prefix + id_, "fault", "remaining", "model", "route")
            result: list[Any] = pipe.execute()
            return result

        out = []
        for fault, remaining, model, route in self.store.call(read):
            if fault is None or int(remaining) <= 0:
                continue
            out.append({**fault_from_json(fault).as_dict(), "remaining": int(remaining), "model": model or None,
                        "route": route or None})  # fmt: skip
        return out

    def clear(self) -> None:
        """Drop every queued fault."""
        self.store.run("faults_clear", _CLEAR, [self._ids, self._active], [self._prefix])
        self.store.announce()


class RedisSeededFaults(SeededFaults):
    """The seeded generator with a shared count of draws per key (see the module docstring for the rule)."""

    def __init__(self, store: Store, seed: int, rate: float, choices: tuple[str, ...]) -> None:
        self.store = store
        self.use(seed, rate, choices)

    def use(self, seed: int, rate: float, choices: tuple[str, ...]) -> None:
        """Draw with this seed, rate and choices from now on, keeping the shared counts (another worker's change)."""
        faults = tuple(make_fault(choice, source="rate") for choice in choices)
        self._seed, self._rate, self._faults = seed, rate, faults

    def configure(self, seed: int, rate: float, choices: tuple[str, ...]) -> None:
        """New seed, rate and choices; every key's count starts again at 1."""
        self.use(seed, rate, choices)
        self.store.delete_matching("seeded:*")

    def draw(self, stream: bool, key: str = "") -> Fault | None:
        """The fault for the next request of ``key``, or None. Stream-only faults skip non-streaming requests."""
        if self._rate <= 0 or not self._faults:
            return None
        n = int(self.store.call(lambda r: r.incr(self.store.key("seeded", key))))
        return self._pick(random.Random(f"{self._seed}:{key}:{n}"), stream)
