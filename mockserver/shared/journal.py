"""The journal in Redis: a capped stream (``XADD … MAXLEN ~ N``) every worker writes to.

Sequence numbers come from one counter, and the reset generation is checked in the same script,
so a request begun before a reset is not recorded after it, whichever worker answered it.
Reading returns at most the newest ``size`` entries (the stream is trimmed approximately).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time

from mockserver.journal import Journal, JournalEntry
from mockserver.shared.store import StateUnavailable, Store

__all__ = ["RedisJournal"]

log = logging.getLogger("mockserver")

# KEYS: stream, seq counter, generation. ARGV: entry generation (-1 = always), maxlen, entry JSON.
_ADD = """
local gen = tonumber(redis.call('GET', KEYS[3]) or '0')
local wanted = tonumber(ARGV[1])
if wanted ~= -1 and wanted ~= gen then return 0 end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'seq', seq, 'e', ARGV[3])
return seq
"""

# KEYS: stream, seq counter, generation. Returns the new generation.
_CLEAR = """
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '0')
return redis.call('INCR', KEYS[3])
"""

_FIELDS = {f.name for f in dataclasses.fields(JournalEntry)}


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class RedisJournal(Journal):
    """Keeps the last ``size`` entries of every worker, in one Redis stream.

    ``generation`` is the reset count as last seen by this worker (see :meth:`refresh`).
    """

    def __init__(self, store: Store, size: int) -> None:
        super().__init__(size)
        self.store = store
        self.size = size
        self._stream = store.key("journal")
        self._seq_key = store.key("journal", "seq")
        self._gen = store.key("journal", "gen")

    @property
    def generation_key(self) -> str:
        """The Redis key of the reset generation (read with the other per-request state)."""
        return self._gen

    def refresh(self, generation: int | None = None) -> None:
        """Take the current reset generation (read from Redis unless given)."""
        if generation is None:
            generation = int(self.store.call(lambda r: r.get(self._gen)) or 0)
        self.generation = generation

    def add(self, entry: JournalEntry) -> JournalEntry:
        """Record ``entry`` (its ``seq`` is assigned here), unless it began before the last :meth:`clear`.

        If Redis is unreachable the entry is dropped with a log line: the request it describes
        has already been answered (and charged), so it must not fail now.
        """
        entry.at = time.time()
        data = entry.as_dict()
        del data["seq"]
        text = json.dumps(data, separators=(",", ":"), default=str)
        try:
            seq = self.store.run(
                "journal_add", _ADD, [self._stream, self._seq_key, self._gen], [entry.generation, self.size, text]
            )
        except StateUnavailable as exc:
            log.warning("journal entry for %s %s dropped: %s", entry.method, entry.path, exc)
            return entry
        if int(seq):
            entry.seq = int(seq)
            for listener in self.listeners:  # this worker's subscribers (the live journal page)
                listener(entry)
        return entry

    def entries(self) -> list[JournalEntry]:
        """The kept entries, oldest first."""
        rows: list[tuple[str, dict[str, str]]] = self.store.call(
            lambda r: r.xrevrange(self._stream, "+", "-", count=self.size)  # type: ignore[arg-type,return-value]
        )
        out = []
        for _id, fields in reversed(rows):
            data = {k: v for k, v in json.loads(fields["e"]).items() if k in _FIELDS}
            response = data.get("response")
            if response is not None:  # as_dict() decoded the bytes sent: encode them back
                data["response"] = response.encode() if isinstance(response, str) else _dumps(response)
            if data.get("events") is not None:
                data["events"] = [event.encode() for event in data["events"]]
            out.append(JournalEntry(**{"seq": int(fields["seq"]), **data}))
        return out

    @property
    def total(self) -> int:
        """Requests recorded since the last reset (including dropped ones)."""
        return int(self.store.call(lambda r: r.get(self._seq_key)) or 0)

    def clear(self) -> None:
        """Forget every entry; requests still in flight will not be recorded."""
        self.generation = int(self.store.run("journal_clear", _CLEAR, [self._stream, self._seq_key, self._gen]))
