"""The connection to Redis, the key namespace, and how a lost connection is reported.

Every shared-state class talks to Redis through one :class:`Store`. Read-modify-write steps
run as Lua scripts (``EVALSHA``, re-sent automatically after a Redis restart), so concurrent
workers never race. When Redis cannot be reached, every operation raises
:class:`StateUnavailable`; the app answers such requests with 503 and a clear body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

__all__ = ["DEFAULT_NAMESPACE", "StateUnavailable", "Store", "parse_state_url"]

log = logging.getLogger("mockserver")

DEFAULT_NAMESPACE = "ainative-mock"
SOCKET_TIMEOUT = 0.5
"""Seconds a Redis call may take (connect, or wait for an answer) before the request gets 503."""
RETRY_INTERVAL = 0.25
"""After Redis failed, seconds during which calls fail at once before Redis is tried again."""
_T = TypeVar("_T")


class StateUnavailable(RuntimeError):
    """The shared state (Redis) cannot be reached; the message says where it was expected."""


def parse_state_url(url: str) -> str:
    """Check a ``--state`` value: ``redis://HOST:PORT/DB`` (or ``rediss://``, ``unix://``); returns it.

    Raises:
        ValueError: anything else, with what is expected.

    Example:
        >>> parse_state_url("redis://127.0.0.1:6379/0")
        'redis://127.0.0.1:6379/0'
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"--state {url!r}: expected redis://HOST:PORT/DB")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(f"--state {url!r}: no host; expected redis://HOST:PORT/DB")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ValueError(f"--state {url!r}: the database must be a number (redis://HOST:PORT/0)")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"--state {url!r}: the port is not a number") from None
    return url


class Store:
    """A Redis client, a key namespace and the registered Lua scripts.

    Args:
        url: ``redis://HOST:PORT/DB``.
        namespace: prefix of every key, so several mocks can share one database.
        client: an already built client (tests pass a ``fakeredis`` one).
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", namespace: str = DEFAULT_NAMESPACE, client: Any = None):
        self.url = url
        self.namespace = namespace
        parts = urlsplit(url)
        self.where = f"{parts.hostname}:{parts.port or 6379}" if parts.scheme != "unix" else parts.path
        self.client: redis.Redis = client or redis.Redis.from_url(
            url,
            decode_responses=True,
            # Every call blocks its worker's event loop: a Redis that accepts but does not answer
            # (stopping, starting, paused) must cost little. Mock operations take microseconds.
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            # One immediate retry on a fresh connection (a pooled one may predate a Redis restart),
            # never a backoff, never after a timeout.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
            health_check_interval=0,
        )
        self._scripts: dict[str, Script] = {}
        self._down_until = 0.0
        self._down_reason = ""

    def key(self, *parts: str) -> str:
        """``namespace:part:part``."""
        return ":".join((self.namespace, *parts))

    def script(self, name: str, source: str) -> Script:
        """The script ``name`` (registered once; run with ``EVALSHA``)."""
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self.client.register_script(source)
        return script

    def run(self, name: str, source: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        """Run script ``name`` atomically; :class:`StateUnavailable` if Redis cannot be reached."""
        script = self.script(name, source)
        with self.guard():
            return script(keys=list(keys), args=list(args))

    def call(self, fn: Callable[[redis.Redis], _T]) -> _T:
        """``fn(client)``, with connection errors turned into :class:`StateUnavailable`."""
        with self.guard():
            return fn(self.client)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn Redis connection errors into :class:`StateUnavailable`.

        After a failure, calls fail at once for :data:`RETRY_INTERVAL` seconds (then Redis is tried
        again), so a worker whose Redis is gone answers 503 without waiting on it for every request.
        """
        if self._down_until and time.monotonic() < self._down_until:
            raise StateUnavailable(self._down_reason)
        try:
            yield
        except redis.exceptions.BusyLoadingError as exc:  # Redis loading its data at start
            self._down(f"shared state unavailable: Redis at {self.where} is loading ({exc})")
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            self._down(f"shared state unavailable: cannot reach Redis at {self.where} ({exc})")
        else:
            self._down_until = 0.0

    def _down(self, reason: str) -> None:
        self._down_until = time.monotonic() + RETRY_INTERVAL
        self._down_reason = reason
        raise StateUnavailable(reason) from None

    def delete_matching(self, pattern: str) -> int:
        """Delete every key of this namespace matching ``pattern`` (``SCAN``, not ``KEYS``)."""
        with self.guard():
            doomed = list(self.client.scan_iter(match=self.key(pattern), count=500))
            for start in range(0, len(doomed), 500):
                self.client.delete(*doomed[start : start + 500])
        return len(doomed)

    def wipe(self) -> int:
        """Delete every key of this namespace (a fresh start)."""
        return self.delete_matching("*")

    def ping(self) -> bool:
        """Whether Redis answers."""
        with self.guard():
            return bool(self.client.ping())

    def close(self) -> None:
        """Close the connections."""
        self.client.close()
