"""Credits per account, exact under concurrency.

Amounts are kept as integer micro-credits so that sums are exact whatever the price per
token; the balance endpoint reports them as numbers of credits. A stream *reserves* its full
cost up front (so concurrent streams cannot overspend) and *settles* to what it actually sent.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mockserver.clock import clock, period_bounds

__all__ = ["EXHAUSTED_KEYS", "Account", "Ledger", "Reservation", "micro"]

MICRO = 1_000_000
EXHAUSTED_KEYS = frozenset({"ak_test_insufficient_credits"})
"""Magic keys whose chat calls get 402: their balance shows every credit used, so the two agree."""


def micro(credits: float) -> int:
    """Credits as integer micro-credits."""
    return round(credits * MICRO)


@dataclass(slots=True)
class Account:
    """One key's credits and plan. ``used`` includes reservations of streams in flight."""

    total: int  # credits
    used: int  # micro-credits
    plan: str
    unlimited: bool = False
    rpm: int | None = None
    tpm: int | None = None
    period: int = 0  # changes whenever the balance starts afresh; stale reservations then settle to nothing

    @property
    def remaining(self) -> int:
        """Remaining micro-credits, never negative."""
        return max(self.total * MICRO - self.used, 0)


@dataclass(frozen=True, slots=True, init=False)
class Reservation:
    """Credits held for a request in flight: settle it with :meth:`Ledger.settle`."""

    key: str
    amount: int  # micro-credits
    period: int

    def __init__(self, key: str, amount: int, period: int) -> None:
        # The frozen dataclass __init__, through the slots directly: half the cost of object.__setattr__.
        _set_key(self, key)
        _set_amount(self, amount)
        _set_period(self, period)


_set_key, _set_amount, _set_period = (vars(Reservation)[name].__set__ for name in ("key", "amount", "period"))
"""The ``__set__`` of the slots' member descriptors, for :meth:`Reservation.__init__`."""


class Ledger:
    """Accounts by key, created on first use with the default balance and plan."""

    def __init__(self, credits: int, plan: str) -> None:
        self._lock = threading.Lock()
        self._default_credits = credits
        self._default_plan = plan
        self._accounts: dict[str, Account] = {}
        self._periods = itertools.count(1)

    def _get(self, key: str) -> Account:
        account = self._accounts.get(key)
        if account is None:
            account = Account(total=self._default_credits, used=0, plan=self._default_plan, period=next(self._periods))
            self._accounts[key] = account
        return account

    def account(self, key: str) -> Account:
        """A snapshot of ``key``'s account."""
        with self._lock:
            a = self._get(key)
            return Account(a.total, a.used, a.plan, a.unlimited, a.rpm, a.tpm)

    def accounts(self) -> list[tuple[str, Account]]:
        """Snapshots of every account used or configured so far, by key, in order of first use."""
        with self._lock:
            return [(k, Account(a.total, a.used, a.plan, a.unlimited, a.rpm, a.tpm)) for k, a in self._accounts.items()]

    def configure(
        self,
        key: str | None,
        *,
        credits: int | None = None,
        plan: str | None = None,
        unlimited: bool | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
    ) -> None:
        """Change one account (or, with ``key=None``, the defaults and every existing account).

        Setting ``credits`` starts a fresh period: the total becomes ``credits`` and nothing is used.
        """
        with self._lock:
            if key is None:
                if credits is not None:
                    self._default_credits = credits
                if plan is not None:
                    self._default_plan = plan
                targets = list(self._accounts.values())
            else:
                targets = [self._get(key)]
            for account in targets:
                if credits is not None:
                    account.total, account.used, account.period = credits, 0, next(self._periods)
                if plan is not None:
                    account.plan = plan
                if unlimited is not None:
                    account.unlimited = unlimited
                if rpm is not None:
                    account.rpm = rpm
                if tpm is not None:
                    account.tpm = tpm

    def set_defaults(self, credits: int, plan: str) -> None:
        """Credits and plan of keys first seen from now on; existing accounts keep theirs."""
        with self._lock:
            self._default_credits, self._default_plan = credits, plan

    def reserve(self, key: str, cost: int) -> Reservation | None:
        """Hold ``cost`` micro-credits for ``key`` if its balance covers them; None if not."""
        with self._lock:
            account = self._get(key)
            if not account.unlimited and max(account.total * MICRO - account.used, 0) < cost:  # remaining < cost
                return None
            account.used += cost
            return Reservation(key, cost, account.period)

    def settle(self, reservation: Reservation, actual: int) -> None:
        """Replace ``reservation`` by the ``actual`` cost (never more than reserved).

        A reservation made before the balance was set afresh (``configure(credits=...)`` or
        :meth:`reset`) belongs to the old period and changes nothing now.
        """
        with self._lock:
            account = self._accounts.get(reservation.key)
            if account is None or account.period != reservation.period:
                return
            account.used -= reservation.amount - min(actual, reservation.amount)

    def balance(self, key: str, now: datetime | None = None) -> dict[str, Any]:
        """The credits-balance body for ``key`` (contract schema ``credits-balance``).

        The period is the calendar month holding ``now`` (default: :data:`mockserver.clock.clock`).
        """
        period_start, period_end = period_bounds(now or clock.now())
        with self._lock:
            a = self._get(key)
            if key in EXHAUSTED_KEYS:  # chat answers 402 for this key whatever its balance
                a = Account(a.total, a.total * MICRO, a.plan)
            used = a.used / MICRO
            remaining = a.remaining / MICRO
            percentage = 0.0 if a.total == 0 else min(round(used / a.total * 100, 2), 100.0)
            return {
                "total_credits": a.total,
                "used_credits": int(used) if used.is_integer() else used,
                "remaining_credits": int(remaining) if remaining.is_integer() else remaining,
                "unlimited": a.unlimited,
                "plan": a.plan,
                "period_start": period_start,
                "period_end": None if a.plan == "free" else period_end,
                "usage_percentage": percentage,
            }

    def reset(self, credits: int, plan: str) -> None:
        """Forget every account; new ones start with ``credits`` on ``plan``."""
        with self._lock:
            self._accounts.clear()
            self._default_credits, self._default_plan = credits, plan
