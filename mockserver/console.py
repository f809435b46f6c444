"""The console log of ``ainative-mock serve``: one line per request, as a developer watching the terminal expects.

Example:
    >>> from mockserver.journal import JournalEntry
    >>> entry = JournalEntry(3, "POST", "/api/v1/chat/completions", 200, key="ak_…1234", model="gpt-4o",
    ...                      stream=True, chunks_sent=8, usage={"total_tokens": 14}, charged=14, duration_ms=8.25)
    >>> " ".join(format_entry(entry).split()[1:])  # after the time
    'POST /api/v1/chat/completions gpt-4o 200 SSE 8 - 14 tok 14 cr 8.2 ms ak_…1234'
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from mockserver.journal import JournalEntry

__all__ = ["ConsoleLog", "format_entry"]

HEADER = (
    f"{'time':<12} {'method':<6} {'route':<35} {'model':<26} {'status':>6}  {'stream':<8}  {'fault':<18}"
    f" {'tokens':>8} {'charge':>9} {'duration':>9}  key"
)


def _clean(text: str | None, width: int) -> str:
    """``text`` safe for a terminal (no escape sequences from request bodies), cut to ``width``."""
    if not text:
        return "-"
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[: width + 1])
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _fault(fault: dict[str, Any] | None) -> str:
    if not fault:
        return "-"
    name = str(fault.get("fault") or fault.get("name") or "fault")
    label = str(fault["status"]) if name == "http_error" and fault.get("status") else name
    if fault.get("retry_after") is not None:
        label += f" retry {fault['retry_after']}s"
    if fault.get("after_chunks") is not None:
        label += f" @{fault['after_chunks']}"
    return label


def format_entry(entry: JournalEntry) -> str:
    """One console line: time, method, route, model, status, stream, fault, tokens, charge, duration, key."""
    at = entry.at or time.time()
    clock = time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"
    if entry.stream:
        stream = f"SSE {entry.chunks_sent}" + (" cut" if entry.disconnected else "")
    else:
        stream = "json" if entry.model else "-"
    tokens = f"{entry.usage['total_tokens']} tok" if entry.usage and entry.status < 400 else "-"
    charge = f"{entry.charged:g} cr" if entry.charged else "-"
    return (
        f"{clock:<12} {_clean(entry.method, 7):<6} {_clean(entry.path, 40):<35} {_clean(entry.model, 26):<26}"
        f" {entry.status:>6}  {stream:<8}  {_clean(_fault(entry.fault), 18):<18} {tokens:>8} {charge:>9}"
        f" {entry.duration_ms:>6.1f} ms  {_clean(entry.key, 40)}"
    )


class ConsoleLog:
    """A journal listener that prints each request as one line (``serve`` without ``--quiet``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lines = 0

    def __call__(self, entry: JournalEntry) -> None:
        try:
            if self.lines % 40 == 0:
                self.stream.write(HEADER + "\n")
            self.stream.write(format_entry(entry) + "\n")
            self.stream.flush()
            self.lines += 1
        except (OSError, ValueError):  # a closed or broken terminal must not break the request
            pass
