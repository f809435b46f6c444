"""The mock's clock (UTC), which tests can freeze, and the billing period it implies.

The credits balance reports the current calendar month as its period. Freeze the clock to
test month ends and year ends:

Example:
    >>> from datetime import datetime, timezone
    >>> with clock.frozen(datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)):
    ...     period_bounds(clock.now())
    ('2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z')
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

__all__ = ["Clock", "clock", "period_bounds"]


class Clock:
    """UTC time, or a frozen instant while :meth:`frozen` (or :meth:`freeze`) is in effect."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """The current time (timezone-aware, UTC)."""
        frozen = self._frozen
        return frozen if frozen is not None else datetime.now(timezone.utc)

    def freeze(self, at: datetime | None) -> None:
        """Stop the clock at ``at`` (naive datetimes are taken as UTC); ``None`` lets it run again."""
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        with self._lock:
            self._frozen = None if at is None else at.astimezone(timezone.utc)

    @contextmanager
    def frozen(self, at: datetime) -> Iterator[Clock]:
        """Freeze the clock at ``at`` for the ``with`` block (then restore what was before)."""
        before = self._frozen
        self.freeze(at)
        try:
            yield self
        finally:
            with self._lock:
                self._frozen = before


clock = Clock()
"""The clock every mock in this process reads (the balance period; served mocks run in threads)."""


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def period_bounds(now: datetime) -> tuple[str, str]:
    """``(period_start, period_end)`` of the calendar month holding ``now`` (UTC), ISO-8601 with ``Z``."""
    now = now.astimezone(timezone.utc) if now.tzinfo else now.replace(tzinfo=timezone.utc)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return _iso(start), _iso(end)
