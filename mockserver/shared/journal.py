"""The journal in Redis: a capped stream (``XADD … MAXLEN ~ N``) every worker writes to.

Sequence numbers come from one counter, and the reset generation is checked in the same script,
so a request begun before a reset is not recorded after it, whichever worker answered it.
Reading returns at most the newest ``size`` entries (the stream is trimmed approximately).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
import redis
import redis.asyncio

from mockserver.journal import Journal, JournalEntry
from mockserver.shared.batch import CommandError
from mockserver.shared.store import StateUnavailable, Store

__all__ = ["RedisJournal"]

log = logging.getLogger("mockserver")

# KEYS: stream, seq counter, generation. ARGV: entry generation (-1 = always), maxlen, entry JSON.
_ADD = """
local gen = tonumber(redis.call('GET', KEYS[3]) or '0')
local wanted = tonumber(ARGV[1])
if wanted ~= -1 and wanted ~= gen then return 0 end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'seq', seq, 'g', gen, 'e', ARGV[3])
return seq
"""

# The same for several entries at once (one per request of a batch). ARGV: maxlen, then (generation,
# entry JSON) per entry. Returns each entry's seq (0: begun before the last reset, not recorded).
_ADD_MANY = """
local gen = tonumber(redis.call('GET', KEYS[3]) or '0')
local out = {}
for i = 2, #ARGV, 2 do
  local wanted = tonumber(ARGV[i])
  if wanted ~= -1 and wanted ~= gen then
    out[#out + 1] = 0
  else
    local seq = redis.call('INCR', KEYS[2])
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'seq', seq, 'g', gen, 'e', ARGV[i + 1])
    out[#out + 1] = seq
  end
end
return out
"""

RECORD_LUA = """
local function record(stream, seq_key, gen_key, wanted, maxlen, entry)
  local gen = tonumber(redis.call('GET', gen_key) or '0')
  wanted = tonumber(wanted)
  if wanted ~= -1 and wanted ~= gen then return 0 end
  local seq = redis.call('INCR', seq_key)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'seq', seq, 'g', gen, 'e', entry)
  return seq
end
"""
"""Lua function ``record(stream, seq key, generation key, entry generation, maxlen, entry JSON)``: the
entry's seq, or 0 if it began before the last reset. For scripts that record in the same step as
they do something else (see :meth:`RedisJournal.record_args`)."""

# KEYS: stream, seq counter, generation. Returns the new generation. (XTRIM, not DEL: the stream keeps
# its last ID, so the next entry's ID is greater and a reader following the stream cannot miss it.)
_CLEAR = """
redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)
redis.call('SET', KEYS[2], '0')
return redis.call('INCR', KEYS[3])
"""

_FIELDS = {f.name for f in dataclasses.fields(JournalEntry)}


def _encode(entry: JournalEntry, response_is_json: bool = False) -> bytes:
    """The stream field of ``entry``: :meth:`JournalEntry.as_dict` without ``seq``, as JSON (orjson).

    ``response_is_json``: the response bytes are known to be JSON (the mock's own encoding), so
    they are embedded as they are, unparsed.
    """
    response = entry.response
    data = {
        "method": entry.method,
        "path": entry.path,
        "status": entry.status,
        "key": entry.key,
        "model": entry.model,
        "stream": entry.stream,
        "body": entry.body,
        "fault": entry.fault,
        "duration_ms": entry.duration_ms,
        "ttfb_ms": entry.ttfb_ms,
        "usage": entry.usage,
        "charged": entry.charged,
        "chunks_sent": entry.chunks_sent,
        "disconnected": entry.disconnected,
        "request_id": entry.request_id,
        "at": entry.at,
        "response": None
        if response is None
        else orjson.Fragment(response)
        if response_is_json
        else _raw_json_or_text(response),
        "events": None if entry.events is None else [e.decode("utf-8", "replace") for e in entry.events],
    }
    try:
        return orjson.dumps(data, default=str)
    except TypeError:  # integers beyond 64 bits in the body, a lone surrogate...
        return json.dumps(data, separators=(",", ":"), default=str).encode()


_ENCODED = {"method", "path", "status", "key", "model", "stream", "body", "fault", "duration_ms", "ttfb_ms", "usage"}
_ENCODED |= {"charged", "chunks_sent", "disconnected", "request_id", "at", "response", "events"}
assert {f.name for f in dataclasses.fields(JournalEntry)} - {"seq", "started", "generation"} == _ENCODED, (
    "a JournalEntry field is missing from the shared journal's encoding"
)


def _raw_json_or_text(raw: bytes) -> Any:
    """Bytes the mock sent: as JSON (embedded as sent) when they are JSON, else as text."""
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")
        return json.loads(raw)  # what orjson refuses (a 19-digit integer): the standard library's value
    return orjson.Fragment(raw)


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _decoded(items: Iterable[tuple[str, dict[str, str]]]) -> Iterator[tuple[str, JournalEntry]]:
    """``(id, entry)`` of each stream item, skipping (with a log line) those something else wrote."""
    for item_id, fields in items:
        try:
            entry = _decode(fields)
        except Exception as exc:  # never a 500 for the journal, never the end of the live feed
            log.warning("journal: skipping stream item %s (%s)", item_id, exc)
            continue
        yield item_id, entry


def _decode(fields: dict[str, str]) -> JournalEntry:
    """The entry of one stream item (its ``seq`` and ``e`` fields), as :func:`_encode` wrote it."""
    data = {k: v for k, v in json.loads(fields["e"]).items() if k in _FIELDS}
    response = data.get("response")
    if response is not None:  # as_dict() decoded the bytes sent: encode them back
        data["response"] = response.encode() if isinstance(response, str) else _dumps(response)
    if data.get("events") is not None:
        data["events"] = [event.encode() for event in data["events"]]
    return JournalEntry(**{"seq": int(fields["seq"]), "generation": int(fields.get("g", -1)), **data})


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
        self._pending: list[JournalEntry] = []  # added this loop turn, written at its end
        self._pending_written: asyncio.Future[None] | None = None
        self._writing: set[asyncio.Task[None]] = set()

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
        """Record ``entry`` (its ``seq`` is assigned when written), unless it began before the last :meth:`clear`.

        On a serving worker the entry is written with the other entries of this event-loop turn, in
        one command sent with the turn's other commands (see :mod:`mockserver.shared.batch`);
        :meth:`written` waits for it, and the app does so before it answers. Elsewhere (no running
        event loop, or a ``fakeredis`` store) it is written at once.

        If Redis is unreachable the entry is dropped with a log line: the request it describes
        has already been answered (and charged), so it must not fail now.
        """
        entry.at = time.time()
        batch = self.store.batch
        if batch is not None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                self._pending.append(entry)
                if self._pending_written is None:
                    self._pending_written = loop.create_future()
                    loop.call_soon(self._write_pending)
                return entry
        text = _encode(entry)
        try:
            seq = self.store.run(
                "journal_add", _ADD, [self._stream, self._seq_key, self._gen], [entry.generation, self.size, text]
            )
        except StateUnavailable as exc:
            log.warning("journal entry for %s %s dropped: %s", entry.method, entry.path, exc)
            return entry
        self.recorded(entry, int(seq))
        return entry

    def _write_pending(self) -> None:
        entries, written = self._pending, self._pending_written
        self._pending, self._pending_written = [], None
        assert written is not None
        task = asyncio.ensure_future(self._write(entries, written))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _write(self, entries: list[JournalEntry], written: asyncio.Future[None]) -> None:
        batch = self.store.batch
        assert batch is not None
        args: list[Any] = [self.size]
        for entry in entries:
            args += [entry.generation, _encode(entry)]
        try:
            seqs = await batch.script("journal_add_many", _ADD_MANY, [self._stream, self._seq_key, self._gen], args)
        except (StateUnavailable, CommandError) as exc:
            log.warning("%d journal entries dropped: %s", len(entries), exc)
            seqs = [0] * len(entries)
        finally:
            written.set_result(None)
        for entry, seq in zip(entries, seqs, strict=True):
            self.recorded(entry, int(seq))

    def record_args(self, entry: JournalEntry, response_is_json: bool = False) -> tuple[list[str], list[Any]]:
        """Keys and arguments for :data:`RECORD_LUA`'s ``record`` to write ``entry`` (its ``at`` set now).

        ``response_is_json``: ``entry.response`` is the mock's own JSON encoding (kept unparsed).
        """
        entry.at = time.time()
        encoded = _encode(entry, response_is_json)
        return [self._stream, self._seq_key, self._gen], [entry.generation, self.size, encoded]

    def recorded(self, entry: JournalEntry, seq: int) -> None:
        """``entry`` was written with sequence number ``seq`` (0: not recorded): tell this worker's listeners."""
        if seq:
            entry.seq = seq
            if entry.generation == -1:  # recorded whatever the generation: it is the current one
                entry.generation = self.generation
            for listener in self.listeners:  # the console log, the live journal page
                listener(entry)

    @property
    def unwritten(self) -> bool:
        """Whether entries this worker added are still to be written (see :meth:`written`)."""
        return self._pending_written is not None or bool(self._writing)

    async def written(self) -> None:
        """Wait until the entries this worker added so far are written (or dropped: Redis down)."""
        if self._pending_written is not None:
            await asyncio.shield(self._pending_written)
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)

    def follow(self, deliver: Callable[[JournalEntry], None]) -> Callable[[], None] | None:
        """Deliver the entries every worker records from now on, in stream order, to ``deliver``.

        On a serving worker, a task reads the stream (``XREAD BLOCK``) on a connection of its own,
        from the last entry written when it was called. Each item carries its reset generation,
        so the live journal can show a reset before the entries after it. Items something else
        wrote are skipped. Redis down: it tries again every second and goes on from the same place.
        Elsewhere (no serving worker) returns None: the process's own :attr:`listeners` see what it
        records.
        """
        if not self.store.batching:
            return None
        loop = asyncio.get_running_loop()
        rows: list[tuple[str, dict[str, str]]] = self.store.call(
            lambda r: r.xrevrange(self._stream, "+", "-", count=1)  # type: ignore[arg-type,return-value]
        )
        task = loop.create_task(self._follow(rows[0][0] if rows else "0-0", deliver))

        def stop() -> None:  # (from any thread)
            if not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)

        return stop

    async def _follow(self, last: str, deliver: Callable[[JournalEntry], None]) -> None:
        client = redis.asyncio.Redis.from_url(
            self.store.url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5, socket_keepalive=True
        )  # (a timeout above the 1 s block: a connection gone half-open is noticed and made again)
        try:
            while True:
                found: list[tuple[str, list[tuple[str, dict[str, str]]]]]
                try:
                    found = await client.xread({self._stream: last}, count=500, block=1000)  # type: ignore[assignment]
                except (redis.RedisError, OSError):  # Redis down (its requests say so): try again
                    await asyncio.sleep(1.0)
                    continue
                for _stream, items in found or []:
                    last = items[-1][0] if items else last
                    for _id, entry in _decoded(items):
                        deliver(entry)
        finally:
            await client.aclose()

    def entries(self) -> list[JournalEntry]:
        """The kept entries, oldest first."""
        rows: list[tuple[str, dict[str, str]]] = self.store.call(
            lambda r: r.xrevrange(self._stream, "+", "-", count=self.size)  # type: ignore[arg-type,return-value]
        )
        return [entry for _id, entry in _decoded(reversed(rows))]

    @property
    def total(self) -> int:
        """Requests recorded since the last reset (including dropped ones)."""
        return int(self.store.call(lambda r: r.get(self._seq_key)) or 0)

    def clear(self) -> None:
        """Forget every entry; requests still in flight will not be recorded."""
        self.generation = int(self.store.run("journal_clear", _CLEAR, [self._stream, self._seq_key, self._gen]))
        self.store.announce()
