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
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

if TYPE_CHECKING:
    from mockserver.shared.batch import Batch
    from mockserver.shared.changes import Changes

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
        self._injected = client is not None
        self.batching = False
        """Whether requests use :attr:`batch` (one long-lived event loop: a serving worker)."""
        self._batch: Batch | None = None
        self._changes: Changes | None = None
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

    def scripts(self) -> list[str]:
        """The sources of the scripts registered so far."""
        sources = (script.script for script in self._scripts.values())
        return [source.decode() if isinstance(source, bytes) else str(source) for source in sources]

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
        self.check_up()
        try:
            yield
        except redis.exceptions.BusyLoadingError as exc:  # Redis loading its data at start
            self.mark_down(f"shared state unavailable: Redis at {self.where} is loading ({exc})")
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            self.mark_down(f"shared state unavailable: cannot reach Redis at {self.where} ({exc})")
        else:
            self._down_until = 0.0

    def check_up(self) -> None:
        """Raise :class:`StateUnavailable` at once while Redis failed less than :data:`RETRY_INTERVAL` ago."""
        if self._down_until and time.monotonic() < self._down_until:
            raise StateUnavailable(self._down_reason)

    @property
    def down_reason(self) -> str:
        """Why Redis was last found unreachable ("" if it never was)."""
        return self._down_reason

    def mark_down(self, reason: str, raise_: bool = True) -> None:
        """Redis failed: calls fail at once for :data:`RETRY_INTERVAL` (then Redis is tried again)."""
        self._down_until = time.monotonic() + RETRY_INTERVAL
        self._down_reason = reason
        if raise_:
            raise StateUnavailable(reason) from None

    @property
    def changes(self) -> Changes:
        """The change-notice channel (see :mod:`mockserver.shared.changes`)."""
        if self._changes is None:
            from mockserver.shared.changes import Changes

            self._changes = Changes(self)
        return self._changes

    def announce(self) -> None:
        """Tell every worker the shared state changed (see :mod:`mockserver.shared.changes`)."""
        self.changes.announce()

    @property
    def batch(self) -> Batch | None:
        """The asynchronous batching connection (see :mod:`mockserver.shared.batch`), or None.

        None unless :attr:`batching` was turned on (``ainative-mock serve`` does, in each worker,
        whose event loop lives as long as the process), and always for a store given a ready-made
        client (``fakeredis`` in unit tests): the asynchronous operations then run their blocking
        versions.
        """
        if self._injected or not self.batching:
            return None
        if self._batch is None:
            from mockserver.shared.batch import Batch

            self._batch = Batch(self)
        return self._batch

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
        if self._batch is not None:
            self._batch.close()
        if self._changes is not None:
            self._changes.close()
        self.client.close()
