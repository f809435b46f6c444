"""Cassettes in tests: where a test's cassette lives, and whether this run replays or records it.

The record modes are pytest-recording's (``--ainative-record``):

- ``none`` (default): replay only. A missing cassette is an error; nothing touches the network.
- ``once``: replay the cassettes that exist; record the missing ones through the validation proxy
  against ``$AINATIVE_UPSTREAM``.
- ``rewrite``: record every cassette again (the old files of the cassette are removed first).

Used by the pytest plugin; callable without pytest.

Example:
    >>> from pathlib import Path
    >>> cassette_path("chat_hello", Path("tests/test_chat.py"))
    PosixPath('tests/cassettes/chat_hello')
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit

from mockserver.cassettes import CassetteError
from mockserver.intercept import Interceptor
from mockserver.proxy import ValidationProxy
from mockserver.testing import IN_PROCESS_URL, PRODUCTION_HOSTS

__all__ = ["RECORD_MODES", "UPSTREAM_ENV", "Recorder", "cassette_path", "decide"]

RECORD_MODES = ("none", "once", "rewrite")
UPSTREAM_ENV = "AINATIVE_UPSTREAM"
"""The environment variable naming the real API that ``once`` and ``rewrite`` record from."""


def cassette_path(name: str | os.PathLike[str], test_file: Path) -> Path:
    """The cassette ``name`` of a test: absolute as given, else under ``cassettes/`` next to the test file.

    A name is a directory of cassettes (what the proxy records) or one cassette file; ``name.json``
    is found too.
    """
    path = Path(name)
    if not path.is_absolute():
        path = test_file.parent / "cassettes" / path
    if not path.exists() and path.with_name(path.name + ".json").is_file():
        return path.with_name(path.name + ".json")
    return path


def _has_cassettes(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.rglob("*.json")))


def decide(mode: str, path: Path) -> Literal["replay", "record"]:
    """Whether this run replays or records the cassette at ``path``.

    Raises:
        CassetteError: ``none`` and the cassette does not exist (the message says how to record it).
        ValueError: an unknown mode.
    """
    if mode not in RECORD_MODES:
        raise ValueError(f"--ainative-record must be one of {', '.join(RECORD_MODES)}, got {mode!r}")
    if mode == "rewrite" or (mode == "once" and not _has_cassettes(path)):
        return "record"
    if not _has_cassettes(path):
        raise CassetteError(
            f"cassette {path} does not exist: record it with --ainative-record=once and "
            f"{UPSTREAM_ENV}=<the real API's base URL>"
        )
    return "replay"


class Recorder:
    """Send the mock's traffic to the real API through the validation proxy, recording into ``path``.

    While active, every httpx/httpx2 request for ``hosts`` (the mock's URL and AINative's API hosts)
    is answered by a :class:`~mockserver.proxy.ValidationProxy` in-process, which forwards it to
    ``upstream`` and writes one cassette per exchange. Start it after the mock, so it wins.

    Args:
        path: the cassette directory (``rewrite`` empties it first).
        upstream: the real API's base URL (default ``$AINATIVE_UPSTREAM``).
        hosts: more hosts to record (besides the in-process mock's and AINative's API hosts).
        rewrite: remove the cassette's existing files first.
    """

    def __init__(self, path: Path, upstream: str | None = None, hosts: tuple[str, ...] = (), *, rewrite: bool = False):
        upstream = upstream or os.environ.get(UPSTREAM_ENV, "")
        if not upstream:
            raise CassetteError(f"recording cassette {path} needs {UPSTREAM_ENV} (the real API's base URL)")
        if path.suffix == ".json":
            raise CassetteError(f"cannot record into the file {path}: name a cassette directory")
        self.path = path
        try:
            self.proxy = ValidationProxy(upstream, record=path, pool=False, upstream_name=UPSTREAM_ENV)
        except ValueError as exc:
            raise CassetteError(f"recording cassette {path}: {exc}") from None
        names = {urlsplit(h).hostname or h for h in (IN_PROCESS_URL, *hosts, *PRODUCTION_HOSTS)}
        self.interceptor = Interceptor(self.proxy, sorted(names))
        self.rewrite = rewrite

    @property
    def upstream_host(self) -> str:
        """The host the recording talks to (let it through the network guard)."""
        return urlsplit(self.proxy.upstream).hostname or ""

    def start(self) -> Recorder:
        """Clear the cassette (``rewrite``) and begin recording."""
        if self.rewrite and self.path.is_dir():
            for old in self.path.rglob("*.json"):
                old.unlink()
        self.interceptor.start()
        return self

    def stop(self) -> None:
        """Stop recording."""
        self.interceptor.stop()

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
