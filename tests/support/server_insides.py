"""The served mock's insides seen from the test thread: its event loop, tasks, connections, logs, RSS."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from mockserver.server import ServerThread
from tests.support.raw_http import TIMEOUT

T = TypeVar("T")


def server_loop(server: ServerThread) -> asyncio.AbstractEventLoop:
    """The event loop uvicorn runs on (public API: the listening ``asyncio.Server``'s ``get_loop()``)."""
    servers = server.server.servers
    assert servers, "the server has no listening socket yet"
    return servers[0].get_loop()


def server_tasks(server: ServerThread) -> list[str]:
    """Descriptions of the asyncio tasks alive on the server's loop (the probe's own task excluded)."""

    async def probe() -> list[str]:
        me = asyncio.current_task()
        return sorted(repr(task.get_coro()) for task in asyncio.all_tasks() if task is not me)

    return asyncio.run_coroutine_threadsafe(probe(), server_loop(server)).result(TIMEOUT)


def connection_count(server: ServerThread) -> int:
    """Connections uvicorn holds open."""
    return len(server.server.server_state.connections)


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll ``probe()`` until ``done(value)`` or ``timeout`` seconds; returns the last value either way."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(interval)
        value = probe()
    return value


def rss_bytes() -> int:
    """Resident set size of this process (the served mock runs in it) from ``/proc/self/status``."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line in /proc/self/status")


LogsFactory = Callable[[], "LogCapture"]


class LogCapture(logging.Handler):
    """Collects every record of the server's loggers (they do not propagate to the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) not in self._seen:  # a record reaches both "uvicorn.error" and "uvicorn"
            self._seen.add(id(record))
            self.records.append(record)

    def text(self) -> str:
        """Every record formatted with its traceback, one after the other."""
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return "\n".join(formatter.format(record) for record in self.records)

    def problems(self) -> list[str]:
        """Records at WARNING or above, formatted."""
        return [f"{r.name} {r.levelname}: {r.getMessage()}" for r in self.records if r.levelno >= logging.WARNING]
