"""Change notices: every write to the shared state that other workers must catch up with is announced.

A worker on shared state must notice, before its next request, a config change, a reset, a
queued fault or reply, or an account changed through any worker. Asking Redis at the start of
every request costs a round trip each time; instead, every such write is followed by a
``PUBLISH`` on one channel (:meth:`Changes.announce`), and each serving worker keeps a
subscription to it (:meth:`Changes.listen`). A request catches up only when a notice came since
the last catch-up (or while the subscription is not established).

Why a notice is never late: Redis writes a published message to every subscriber's socket
before it answers the ``PUBLISH``, and the writer answers its own client only after that. So
by the time anyone can send a request that must see the change, the notice is already in each
worker's receive buffer, and an event loop reads ready sockets (setting :attr:`Changes.stale`)
before it runs the tasks that those reads started (the request's).
"""

from __future__ import annotations

import asyncio
import time

import hiredis

from mockserver.shared.batch import open_connection
from mockserver.shared.store import RETRY_INTERVAL, SOCKET_TIMEOUT, Store

__all__ = ["Changes"]


class _Subscriber(asyncio.Protocol):
    def __init__(self, changes: Changes) -> None:
        self.changes = changes
        self.reader = hiredis.Reader(encoding="utf-8", errors="replace")

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            self.changes.stale = True  # a notice (or the subscription confirmed): catch up
            if isinstance(reply, list) and reply and reply[0] == "subscribe":
                self.changes.live = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.changes._lost()


class Changes:
    """The change-notice channel of one shared mock: announce a change, or learn that one happened.

    Args:
        store: the Redis connection and key namespace.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.channel = store.key("changes")
        self.stale = True
        """Whether a change may have happened since the worker last caught up (it must catch up)."""
        self.live = False
        """Whether this worker's subscription is established (else every request catches up)."""
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting = False
        self._retry_at = 0.0

    def announce(self) -> None:
        """Tell every worker that the shared state changed (after the change is written)."""
        self.store.call(lambda r: r.publish(self.channel, "1"))

    def listen(self) -> None:
        """Make sure this worker is subscribed (on the running event loop); returns at once."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._transport is not None:
                self._transport.abort()
            self._loop, self._transport, self._connecting, self.live = loop, None, False, False
        if self._transport is not None or self._connecting or time.monotonic() < self._retry_at:
            return
        self._connecting = True
        task = loop.create_task(self._subscribe())
        task.add_done_callback(lambda _: None)

    async def _subscribe(self) -> None:
        assert self._loop is not None
        try:
            opening = open_connection(self.store, self._loop, lambda: _Subscriber(self))
            transport, commands = await asyncio.wait_for(opening, SOCKET_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            self._retry_at = time.monotonic() + RETRY_INTERVAL
            return
        finally:
            self._connecting = False
        commands.append(("SUBSCRIBE", self.channel))  # confirmed by a reply: then `live`
        transport.write(b"".join(hiredis.pack_command(command) for command in commands))
        self._transport = transport

    def _lost(self) -> None:
        self._transport, self.live, self.stale = None, False, True
        self._retry_at = time.monotonic() + RETRY_INTERVAL

    def close(self) -> None:
        """End the subscription."""
        if self._transport is not None:
            self._transport.close()
