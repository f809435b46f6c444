"""One worker's asynchronous Redis connection: every command issued in one event-loop turn goes out in one write.

A request on shared state needs a few Redis commands (catch up, account, reservation, journal).
Sent one by one from a blocking client, each costs a round trip that blocks the worker's event
loop; on a small machine the system calls of those round trips cost more CPU than the whole
request does in memory. :class:`Batch` queues every command issued while the loop runs other
requests, writes them with one ``write`` at the end of the loop turn, and parses the replies
(hiredis) as they come, in order, resolving each command's future. The more requests are ready
in one loop turn, the more commands share one round trip; an idle worker sends each at once.
(Holding commands back while a batch is in flight made larger batches but cost more CPU per
request on a 2-core machine: the worker idled and woke more often.)

Commands on one connection run in the order they were sent, which the ledger relies on to undo a
reservation whose answer was lost (see :class:`~mockserver.shared.ledger.RedisLedger`).

Failures follow :class:`~mockserver.shared.store.Store`: a connection that cannot be made, is lost,
or leaves a command unanswered for :data:`~mockserver.shared.store.SOCKET_TIMEOUT` fails every
command waiting on it with :class:`~mockserver.shared.store.StateUnavailable`, and the next command
connects again.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import hiredis
from redis.connection import parse_url

from mockserver.shared.store import SOCKET_TIMEOUT, StateUnavailable, Store

__all__ = ["Batch", "CommandError", "open_connection"]


class CommandError(RuntimeError):
    """Redis answered a command with an error (a bug in a script or a wrong type, not an outage)."""


async def open_connection(
    store: Store, loop: asyncio.AbstractEventLoop, protocol: Callable[[], asyncio.Protocol]
) -> tuple[asyncio.Transport, list[tuple[Any, ...]]]:
    """A connection to the store's Redis (TCP, TLS or unix socket), and the commands to send first on it.

    Those log in (``AUTH``, when the URL has a password) and choose the database (``SELECT``).
    """
    opts: dict[str, Any] = parse_url(store.url)  # type: ignore[no-untyped-call]
    transport: asyncio.Transport
    if "path" in opts:
        transport, _ = await loop.create_unix_connection(protocol, opts["path"])
    else:
        tls = ssl.create_default_context() if store.url.startswith("rediss:") else None
        host, port = opts.get("host", "127.0.0.1"), int(opts.get("port", 6379))
        transport, _ = await loop.create_connection(protocol, host, port, ssl=tls)
    hello: list[tuple[Any, ...]] = []
    if opts.get("password"):
        hello.append(("AUTH", *([opts["username"]] if opts.get("username") else []), opts["password"]))
    if opts.get("db"):
        hello.append(("SELECT", int(opts["db"])))
    return transport, hello


class _Protocol(asyncio.Protocol):
    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.reader = hiredis.Reader(encoding="utf-8", errors="replace")

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.batch._waiting
        while True:
            reply = self.reader.gets()
            if reply is False:
                break
            if not waiting:  # a reply nobody asked for: the connection is out of step, drop it
                self.batch._abort("an unexpected reply")
                return
            future = waiting.popleft()
            if not future.done():
                if isinstance(reply, hiredis.ReplyError):
                    future.set_exception(CommandError(str(reply)))
                else:
                    future.set_result(reply)
        self.batch._answered = self.batch._loop.time() if self.batch._loop else 0.0

    def connection_lost(self, exc: Exception | None) -> None:
        self.batch._lost(f"connection to Redis at {self.batch.store.where} lost" + (f" ({exc})" if exc else ""))


class Batch:
    """The asynchronous, batching connection of one worker (one event loop) to the store's Redis.

    Args:
        store: where Redis is (its URL) and how outages are reported.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.Transport | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._queue: list[bytes] = []  # packed commands of this loop turn, not written yet
        self._queued: list[asyncio.Future[Any]] = []
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()  # written, in order
        self._flush_scheduled = False
        self._answered = 0.0  # loop time of the last reply (or write): the watchdog's reference
        self._watchdog: asyncio.TimerHandle | None = None
        self.batches = 0  # writes so far (for tests and benchmarks: commands / batches = batch size)
        self.commands = 0
        self._shas: dict[str, str] = {}

    # -- commands --------------------------------------------------------------------------
    async def call(self, *args: Any) -> Any:
        """Send one command (with those of the same loop turn); its reply.

        Raises:
            StateUnavailable: Redis cannot be reached, or did not answer in time.
            CommandError: Redis answered with an error.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._rebind(loop)
        if self._transport is None:
            await self._connect()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append(hiredis.pack_command(args))
        self._queued.append(future)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    async def script(self, name: str, source: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        """Run Lua script ``name`` (``EVALSHA``; loaded first if Redis does not know it yet)."""
        sha = self._shas.get(name)
        if sha is None:
            sha = self._shas[name] = self.store.script(name, source).sha
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except CommandError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self.call("SCRIPT", "LOAD", source)  # a restarted Redis forgot its scripts
        return await self.call("EVALSHA", sha, len(keys), *keys, *args)

    # -- the connection ------------------------------------------------------------------------
    def _rebind(self, loop: asyncio.AbstractEventLoop) -> None:
        """A new event loop (a test's, or a reloaded worker's): its own connection."""
        if self._transport is not None:
            self._transport.abort()
        self._loop, self._transport, self._connecting = loop, None, None
        self._queue, self._queued, self._waiting = [], [], collections.deque()
        self._flush_scheduled, self._watchdog = False, None

    async def _connect(self) -> None:
        self.store.check_up()
        if self._connecting is not None:
            await asyncio.shield(self._connecting)
            if self._transport is None:
                raise StateUnavailable(self.store.down_reason or f"cannot reach Redis at {self.store.where}")
            return
        assert self._loop is not None
        self._connecting = self._loop.create_future()
        try:
            self._transport = await asyncio.wait_for(self._open(), SOCKET_TIMEOUT)
        except (OSError, asyncio.TimeoutError, CommandError) as exc:
            self.store.mark_down(f"shared state unavailable: cannot reach Redis at {self.store.where} ({exc})")
        finally:
            self._connecting.set_result(None)
            self._connecting = None

    async def _open(self) -> asyncio.Transport:
        assert self._loop is not None
        transport, hello = await open_connection(self.store, self._loop, lambda: _Protocol(self))
        for script in list(self.store.scripts()):  # a restarted Redis has forgotten them: never NOSCRIPT mid-request
            hello.append(("SCRIPT", "LOAD", script))
        futures = []
        for command in hello:  # sent before anything else on this connection
            future: asyncio.Future[Any] = self._loop.create_future()
            self._waiting.append(future)
            futures.append(future)
            transport.write(hiredis.pack_command(command))
        for future in futures:
            await future
        return transport

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._queue:
            return
        queue, queued = self._queue, self._queued
        self._queue, self._queued = [], []
        transport = self._transport
        if transport is None or transport.is_closing():
            for future in queued:
                if not future.done():
                    future.set_exception(StateUnavailable(f"connection to Redis at {self.store.where} lost"))
            return
        assert self._loop is not None
        if not self._waiting:  # nothing was outstanding: the wait for an answer starts now
            self._answered = self._loop.time()
        self._waiting.extend(queued)
        transport.write(b"".join(queue))
        self.batches += 1
        self.commands += len(queue)
        if self._watchdog is None:
            self._watchdog = self._loop.call_later(SOCKET_TIMEOUT, self._watch)

    def _watch(self) -> None:
        """Every :data:`SOCKET_TIMEOUT` while commands wait: give up if no reply came meanwhile."""
        self._watchdog = None
        if not self._waiting or self._loop is None:
            return
        if self._loop.time() - self._answered >= SOCKET_TIMEOUT:
            self._abort(f"no answer in {SOCKET_TIMEOUT} s")
            return
        self._watchdog = self._loop.call_later(SOCKET_TIMEOUT, self._watch)

    def _abort(self, why: str) -> None:
        transport = self._transport
        self._lost(f"Redis at {self.store.where}: {why}")
        if transport is not None:
            transport.abort()

    def _lost(self, reason: str) -> None:
        self._transport = None
        waiting, self._waiting = self._waiting, collections.deque()
        error = f"shared state unavailable: {reason}"
        for future in waiting:
            if not future.done():
                future.set_exception(StateUnavailable(error))
        if waiting:
            self.store.mark_down(error, raise_=False)

    def close(self) -> None:
        """Close the connection (commands waiting on it fail)."""
        if self._transport is not None:
            self._transport.close()
