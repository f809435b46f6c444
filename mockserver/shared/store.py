"""The connection to Redis, the key namespace, and how a lost connection is reported.

Every shared-state class talks to Redis through one :class:`Store`. Read-modify-write steps
run as Lua scripts (``EVALSHA``, re-sent automatically after a Redis restart), so concurrent
workers never race. When Redis cannot be reached, every operation raises
:class:`StateUnavailable`; the app answers such requests with 503 and a clear body.
"""

from __future__ import annotations

import logging
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
            socket_timeout=2.0,
            socket_connect_timeout=1.0,
            # One immediate retry on a fresh connection (a pooled one may predate a Redis restart),
            # never a backoff: a request must not hang while Redis is down.
            retry=Retry(NoBackoff(), 1),
            health_check_interval=0,
        )
        self._scripts: dict[str, Script] = {}

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
        """Turn Redis connection errors into :class:`StateUnavailable`."""
        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            raise StateUnavailable(f"shared state unavailable: cannot reach Redis at {self.where} ({exc})") from None
        except redis.exceptions.BusyLoadingError as exc:  # pragma: no cover - Redis loading a dump at start
            raise StateUnavailable(f"shared state unavailable: Redis at {self.where} is loading ({exc})") from None

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
