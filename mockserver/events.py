"""The live journal: ``GET /_mock/events`` pushes every request the mock answers, as SSE.

A subscriber first gets ``event: hello`` (``{"total": n}``), then the entries still in the journal
(``event: request``, oldest first), then each new entry as it is recorded. Only a client that asks
for a stream (``Accept: text/event-stream``, as ``EventSource``, httpx-sse and the inspector page
send) is kept open; any other (``curl``, a fuzzer, a plain ``GET``) gets the hello and the kept
entries in the same SSE form, and the response ends there, so nothing hangs on it. ``event: reset`` says the
journal was cleared (entries numbered from 1 again follow); ``event: started`` that a stream
this process serves has begun (``request_id``, method, path, model, masked key, ``at``): its
``event: request`` comes when it ends, with the same ``request_id``; ``event: changed`` that settings or
queued faults changed by other means (another page, curl, a hot reload), so a page shows them
afresh. A comment line every 15 s keeps proxies and the browser from timing the connection out.
A subscriber that cannot keep up (1,000 entries behind) is cut off; the page reconnects and gets
the journal afresh.

Entries are the ``GET /_mock/requests`` form (:meth:`JournalEntry.as_dict`), so the request body
and the response (or the stream's events) come with them; keys are masked as everywhere else.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send

from mockserver.journal import Journal, JournalEntry

__all__ = ["JournalEvents"]

HEARTBEAT_S = 15.0
QUEUE_SIZE = 1000
BACKLOG = 200
_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def sse_event(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One SSE event: ``event:``, optional ``id:``, and ``data:`` (one line of JSON)."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return f"{head}data: {_encode(data)}\n\n".encode()


def _entry_event(entry: JournalEntry) -> bytes:
    return sse_event("request", entry.as_dict(), str(entry.seq))


class _Subscriber:
    """One open ``/_mock/events`` connection: a bounded queue filled from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[tuple[int, int, bytes] | None] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def push(self, data: tuple[int, int, bytes]) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._put(data)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._put, data)

    def _put(self, data: tuple[int, int, bytes]) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= QUEUE_SIZE - 1:
            self.overflowed = True
            self.queue.put_nowait(None)  # the reader ends the stream; the page reconnects
            return
        self.queue.put_nowait(data)


class JournalEvents:
    """Fans journal entries out to the open ``/_mock/events`` streams.

    Hooked on :attr:`Journal.listeners`; with nobody subscribed, recording an entry costs one
    check. An entry is encoded once, whatever the number of subscribers.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._lock = threading.Lock()
        self._subscribers: set[_Subscriber] = set()
        self._unfollow: Callable[[], None] | None = None  # while set, entries come from Journal.follow
        journal.listeners.append(self._on_local_entry)
        journal.start_listeners.append(self._on_start)

    def _on_local_entry(self, entry: JournalEntry) -> None:
        if self._unfollow is None:
            self._on_entry(entry)

    def _on_start(self, entry: JournalEntry) -> None:
        if not self._subscribers:
            return
        fields = {"request_id": entry.request_id, "method": entry.method, "path": entry.path, "model": entry.model}
        self._push((-1, 0, sse_event("started", {**fields, "key": entry.key, "stream": True, "at": time.time()})))

    def _push(self, data: tuple[int, int, bytes]) -> None:
        """``(generation or -1, seq or 0, SSE bytes)`` to every subscriber."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.push(data)

    @property
    def subscribers(self) -> int:
        """Streams open now."""
        return len(self._subscribers)

    def _on_entry(self, entry: JournalEntry) -> None:
        if not self._subscribers:
            return
        self._push((entry.generation, entry.seq, _entry_event(entry)))

    def stream(self, version: Callable[[], Hashable] | None = None, *, follow: bool = True) -> EventStream:
        """The ASGI response for one ``GET /_mock/events``.

        ``version`` tells whether the rest of the state changed (settings, queued faults): it is
        checked every second and each new value is sent as ``event: changed``. With ``follow``
        false, the response ends after the hello and the kept entries.
        """
        return EventStream(self, version, follow=follow)

    def _subscribe(self) -> _Subscriber:
        """A new subscriber; the first one starts following the journal of every worker (shared state)."""
        subscriber = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            if self._unfollow is None:  # (raises StateUnavailable if Redis is down: nothing to undo then)
                self._unfollow = self.journal.follow(self._on_entry)
            self._subscribers.add(subscriber)
        return subscriber

    def _unsubscribe(self, subscriber: _Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)
            unfollow = self._unfollow if not self._subscribers else None
            if unfollow is not None:
                self._unfollow = None
        if unfollow is not None:
            unfollow()


class EventStream:
    """ASGI response: the hello event, the backlog, then live entries until the client leaves."""

    def __init__(
        self, events: JournalEvents, version: Callable[[], Hashable] | None = None, *, follow: bool = True
    ) -> None:
        self.events = events
        self.version = version
        self.follow = follow
        self.status_code = 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        events = self.events
        journal = events.journal
        subscriber = events._subscribe() if self.follow else None  # before the backlog is read: nothing is missed
        try:
            seen = self.version() if self.version is not None else None  # (shared state: catches up first)
            generation = journal.generation
            backlog = journal.entries()[-BACKLOG:]
            generation = max([generation, *(e.generation for e in backlog)])
            sent = {e.seq for e in backlog}
            checked = time.monotonic()
            first = sse_event("hello", {"total": journal.total, "backlog": len(backlog)})
            body = b"retry: 1000\n\n" + first + b"".join(_entry_event(e) for e in backlog)
            await send({"type": "http.response.start", "status": 200, "headers": list(_HEADERS)})
            await send({"type": "http.response.body", "body": body, "more_body": self.follow})
            if subscriber is None:
                return
            async with anyio.create_task_group() as group:

                async def watch_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch_disconnect)
                idle = 0.0
                while True:
                    data: tuple[int, int, bytes] | None
                    try:
                        data = await asyncio.wait_for(subscriber.queue.get(), timeout=1.0)
                    except asyncio.TimeoutError:
                        data = (-1, 0, b"")
                    out = b""
                    if self.version is not None and time.monotonic() - checked >= 1.0:
                        checked = time.monotonic()
                        if (now := self.version()) != seen:
                            seen = now
                            out += sse_event("changed", {})
                    # A reset shows once, before the first entry after it (entries carry their generation);
                    # an entry recorded before a reset the page was told of is dropped.
                    newer = max(journal.generation, data[0] if data is not None else -1)
                    if newer > generation:
                        generation = newer
                        sent.clear()
                        out += sse_event("reset", {"total": journal.total})
                    if data is None:
                        break
                    entry_generation, seq, encoded = data
                    if encoded and entry_generation in (-1, generation) and seq not in sent:  # (the backlog's: sent)
                        out += encoded
                    sent.discard(seq)
                    if not out:
                        idle += 1.0
                        if idle < HEARTBEAT_S:
                            continue
                        out = b": keep-alive\n\n"
                    idle = 0.0
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                group.cancel_scope.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away while we wrote
            pass
        finally:
            if subscriber is not None:
                events._unsubscribe(subscriber)
