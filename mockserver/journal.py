"""The journal: a bounded record of the requests the mock answered."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Journal", "JournalEntry"]


@dataclass(slots=True)
class JournalEntry:
    """One request the mock answered.

    Attributes:
        seq: position in the journal since the last reset (1-based).
        method, path: of the request.
        status: HTTP status sent (for a stream: 200, and see ``chunks_sent``/``disconnected``).
        key: the masked credential, or None.
        model: the model answered (after defaults and aliases), or None.
        stream: whether the reply was streamed.
        body: the parsed JSON request body, or None.
        fault: the injected fault, if any (``{"fault": name, ...}``).
        duration_ms: time to the last byte; ``ttfb_ms`` to the response start.
        usage: the ``usage`` the reply reported or would have reported.
        charged: credits charged.
        chunks_sent: SSE events sent (streams only).
        disconnected: the client went away before the stream ended.
        request_id: the ``x-request-id`` sent.
        at: wall-clock time (Unix seconds) the entry was recorded.
        response: the JSON body sent (non-streamed answers), as raw bytes.
        events: the SSE events sent (streams), as raw bytes.
    """

    seq: int
    method: str
    path: str
    status: int
    key: str | None = None
    model: str | None = None
    stream: bool = False
    body: Any = None
    fault: dict[str, Any] | None = None
    duration_ms: float = 0.0
    ttfb_ms: float = 0.0
    usage: dict[str, int] | None = None
    charged: float = 0.0
    chunks_sent: int = 0
    disconnected: bool = False
    request_id: str = ""
    at: float = 0.0
    response: bytes | None = field(default=None, repr=False)
    events: list[bytes] | None = field(default=None, repr=False)
    started: float = field(default=0.0, repr=False)
    generation: int = field(default=-1, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data (``GET /_mock/requests``)."""
        out = asdict(self)
        del out["started"], out["generation"]
        out["response"] = _json_or_text(self.response)
        out["events"] = None if self.events is None else [e.decode("utf-8", "replace") for e in self.events]
        return out


def _json_or_text(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class Journal:
    """Keeps the last ``size`` entries (older ones are dropped, so memory is bounded)."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._seq = 0
        self.generation = 0  # bumped by clear(): requests begun before a reset are not recorded after it
        self.listeners: list[Callable[[JournalEntry], None]] = []
        self.start_listeners: list[Callable[[JournalEntry], None]] = []
        """Told of a stream as it starts (:meth:`started`); :attr:`listeners` get its entry when it ends."""

    def add(self, entry: JournalEntry) -> JournalEntry:
        """Record ``entry`` (its ``seq`` is assigned here), unless it began before the last :meth:`clear`.

        An entry whose ``generation`` was never set (-1) is always recorded.
        """
        with self._lock:
            if entry.generation not in (-1, self.generation):
                return entry
            self._seq += 1
            entry.seq = self._seq
            entry.generation = self.generation  # (the live journal tells entries from before a reset by it)
            entry.at = time.time()
            self._entries.append(entry)
        for listener in self.listeners:
            listener(entry)
        return entry

    def started(self, entry: JournalEntry) -> None:
        """A stream's answer is starting: tell :attr:`start_listeners` (it is recorded with :meth:`add` when it ends).

        The live journal shows it as under way meanwhile (``event: started``).
        """
        for listener in self.start_listeners:
            listener(entry)

    def follow(self, deliver: Callable[[JournalEntry], None]) -> Callable[[], None] | None:
        """Deliver every entry recorded from now on, by any process sharing this journal, to ``deliver``.

        Returns a function that stops it, or None when :attr:`listeners` already see every entry
        (this journal, in memory, is written by this process only). The live journal
        (:mod:`mockserver.events`) uses it to show the requests of every worker.
        """
        return None

    def entries(self) -> list[JournalEntry]:
        """The kept entries, oldest first."""
        with self._lock:
            return list(self._entries)

    @property
    def total(self) -> int:
        """Requests recorded since the last reset (including dropped ones)."""
        return self._seq

    def clear(self) -> None:
        """Forget every entry; requests still in flight will not be recorded."""
        with self._lock:
            self._entries.clear()
            self._seq = 0
            self.generation += 1
