"""The ledger in Redis: the same accounts, reservations and periods as :class:`mockserver.ledger.Ledger`.

One hash per account (``total``, ``used``, ``plan``, ``unlimited``, ``rpm``, ``tpm``, ``period``);
every change is one Lua script, so a reservation checks and takes credits in one atomic step
whichever worker runs it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mockserver.ledger import MICRO, Account, Ledger, Reservation
from mockserver.shared.store import StateUnavailable, Store

__all__ = ["RedisLedger"]

# KEYS: account hash, defaults hash, period counter, account-name set; ARGV[1]: account name; the starting
# credits and plan (the defaults until a worker changes them: configure(None), reset) are the arguments,
# or else the last two ARGV.
_ENSURE = """
local function ensure(credits, plan)
  if redis.call('EXISTS', KEYS[1]) == 0 then
    local d = redis.call('HMGET', KEYS[2], 'credits', 'plan')
    local period = redis.call('INCR', KEYS[3])
    redis.call('HSET', KEYS[1], 'total', d[1] or credits or ARGV[#ARGV - 1], 'used', '0',
               'plan', d[2] or plan or ARGV[#ARGV], 'unlimited', '0', 'period', period)
    redis.call('SADD', KEYS[4], ARGV[1])
  end
end
"""

_ACCOUNT = (
    _ENSURE
    + """
ensure()
return redis.call('HMGET', KEYS[1], 'total', 'used', 'plan', 'unlimited', 'rpm', 'tpm', 'period')
"""
)

# The batched reservation (RedisLedger.areserve): KEYS as _RESERVE, KEYS[5] being the hash of this worker's
# batching connection, where only the number of its last reservation is kept: commands on one connection
# run in order, so after a lost connection the reservations Redis applied are those numbered up to it.
RESERVE_LUA = (
    _ENSURE
    + """
local function reserve()
  local a = redis.call('HMGET', KEYS[1], 'total', 'used', 'unlimited', 'period')
  if not a[1] then
    ensure(ARGV[4], ARGV[5])  -- other scripts add their own arguments after these
    a = redis.call('HMGET', KEYS[1], 'total', 'used', 'unlimited', 'period')
  end
  local cost = tonumber(ARGV[2])
  local remaining = math.max(tonumber(a[1]) * 1000000 - tonumber(a[2]), 0)
  if a[3] ~= '1' and remaining < cost then
    return {0}
  end
  local used = redis.call('HINCRBY', KEYS[1], 'used', cost)
  redis.call('HSET', KEYS[5], 'n', ARGV[3])
  return {1, a[4], tostring(math.max(tonumber(a[1]) * 1000000 - used, 0))}
end
"""
)
"""Lua function ``reserve()`` of the batched reservation, for scripts that do more in the same step.

KEYS[1..5] and ARGV[1..5] as :meth:`RedisLedger.areserve` passes them (account, defaults, period
counter, account names, this connection's hash; key, cost, number, starting credits and plan).
"""
_RESERVE_BATCHED = RESERVE_LUA + "return reserve()\n"

# The blocking reservation (RedisLedger.reserve): ``reserve()``, and the whole reservation noted in
# KEYS[5] (this worker's last-reservation hash) so that one whose answer was lost (Redis stopped
# mid-call) can be undone when Redis is back. Returns {1, period, remaining after} or {0}.
_RESERVE = (
    RESERVE_LUA
    + """
local r = reserve()
if r[1] == 1 then
  redis.call('HSET', KEYS[5], 'key', ARGV[1], 'cost', ARGV[2], 'period', r[2])
  redis.call('EXPIRE', KEYS[5], 86400)
end
return r
"""
)

# KEYS[1]: the batching connection's hash. ARGV: account prefix, then (number, key, cost, period) per
# reservation whose answer was lost. Each one Redis applied (number up to the hash's n) is given back,
# unless its account started a new period since. Returns how many were refunded.
_UNDO_BATCHED = """
local last = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local refunded = 0
for i = 2, #ARGV, 4 do
  if tonumber(ARGV[i]) <= last then
    local acct = ARGV[1] .. ARGV[i + 1]
    if redis.call('HGET', acct, 'period') == ARGV[i + 3] then
      redis.call('HINCRBY', acct, 'used', -tonumber(ARGV[i + 2]))
      refunded = refunded + 1
    end
  end
end
return refunded
"""

# KEYS[1]: the worker's last-reservation hash. ARGV: account prefix, reservation number whose answer was lost.
# If Redis did apply it, give the credits back (the request was answered 503). 1 if refunded.
_UNDO = """
local last = redis.call('HMGET', KEYS[1], 'n', 'key', 'cost', 'period')
if last[1] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'n', '')
local acct = ARGV[1] .. last[2]
if redis.call('HGET', acct, 'period') ~= last[4] then return 0 end
redis.call('HINCRBY', acct, 'used', -tonumber(last[3]))
return 1
"""

# KEYS[1]: account hash. ARGV: period, refund.
_SETTLE = """
local period = redis.call('HGET', KEYS[1], 'period')
if period and period == ARGV[1] then
  redis.call('HINCRBY', KEYS[1], 'used', -tonumber(ARGV[2]))
  return 1
end
return 0
"""

# KEYS: defaults, period counter, account-name set. ARGV: prefix, key or '', credits, plan, unlimited, rpm, tpm
# ('' = leave as is). With a key, only that account (created first); without, the defaults and every account.
_CONFIGURE = """
local prefix, key = ARGV[1], ARGV[2]
local credits, plan, unlimited, rpm, tpm = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local targets = {}
if key == '' then
  if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], 'credits', ARGV[8], 'plan', ARGV[9]) end
  if credits ~= '' then redis.call('HSET', KEYS[1], 'credits', credits) end
  if plan ~= '' then redis.call('HSET', KEYS[1], 'plan', plan) end
  for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do table.insert(targets, prefix .. name) end
else
  local acct = prefix .. key
  if redis.call('EXISTS', acct) == 0 then
    local d = redis.call('HMGET', KEYS[1], 'credits', 'plan')
    redis.call('HSET', acct, 'total', d[1] or ARGV[8], 'used', '0', 'plan', d[2] or ARGV[9], 'unlimited', '0',
               'period', redis.call('INCR', KEYS[2]))
    redis.call('SADD', KEYS[3], key)
  end
  table.insert(targets, acct)
end
for _, acct in ipairs(targets) do
  if credits ~= '' then
    redis.call('HSET', acct, 'total', credits, 'used', '0', 'period', redis.call('INCR', KEYS[2]))
  end
  if plan ~= '' then redis.call('HSET', acct, 'plan', plan) end
  if unlimited ~= '' then redis.call('HSET', acct, 'unlimited', unlimited) end
  if rpm ~= '' then redis.call('HSET', acct, 'rpm', rpm) end
  if tpm ~= '' then redis.call('HSET', acct, 'tpm', tpm) end
end
return #targets
"""

# KEYS: defaults, account-name set. ARGV: prefix, credits, plan.
_RESET = """
for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', ARGV[1] .. name) end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'credits', ARGV[2], 'plan', ARGV[3])
return 1
"""


_CACHED_ACCOUNTS = 10_000
"""At most this many accounts remembered per worker between changes."""


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _opt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class RedisLedger(Ledger):
    """Accounts by key in Redis, created on first use with the default balance and plan.

    Same methods and meaning as :class:`~mockserver.ledger.Ledger`; every worker of one mock
    sees the same balances.
    """

    def __init__(self, store: Store, credits: int, plan: str) -> None:
        super().__init__(credits, plan)
        self.store = store
        self._defaults = store.key("ledger", "defaults")
        self._period_key = store.key("ledger", "periods")
        self._names = store.key("ledger", "accounts")
        self._prefix = store.key("acct", "")
        self._worker = store.key("worker", os.urandom(8).hex())
        self._numbers = itertools.count(1)
        self._reserving = threading.RLock()
        self._lost: int | None = None  # a reservation whose answer was lost, to undo when Redis is back
        self._start = (credits, plan)  # the defaults until a worker changes them
        self._batched = store.key("worker", os.urandom(8).hex(), "batched")
        self._batched_numbers = itertools.count(1)
        self._batched_lost: list[tuple[int, str, int, int]] = []  # (number, key, cost, period) to undo
        self._undoing: asyncio.Future[None] | None = None
        self._cached: dict[str, Account] = {}  # see aaccount
        self._cache_generation = 0

    def _keys(self, key: str) -> list[str]:
        return [self._prefix + key, self._defaults, self._period_key, self._names]

    def account(self, key: str) -> Account:
        """A snapshot of ``key``'s account."""
        fields = self.store.run("ledger_account", _ACCOUNT, self._keys(key), [key, *self._start])
        total, used, plan, unlimited, rpm, tpm, period = fields
        return Account(int(total), int(used), plan, unlimited == "1", _int(rpm), _int(tpm), int(period))

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
        args = [self._prefix, key or "", _opt(credits), _opt(plan), _opt(unlimited), _opt(rpm), _opt(tpm), *self._start]
        if key == "":
            raise ValueError("key must not be empty")
        self.store.run("ledger_configure", _CONFIGURE, [self._defaults, self._period_key, self._names], args)
        self.store.announce()

    def accounts(self) -> list[tuple[str, Account]]:
        """Snapshots of every account used or configured so far, by key (every worker's)."""

        def read(client: Any) -> list[tuple[str, list[Any]]]:
            names = sorted(client.smembers(self._names))
            pipe = client.pipeline(transaction=True)
            for name in names:
                pipe.hmget(self._prefix + name, "total", "used", "plan", "unlimited", "rpm", "tpm", "period")
            return list(zip(names, pipe.execute(), strict=True))

        out = []
        for name, (total, used, plan, unlimited, rpm, tpm, period) in self.store.call(read):
            if total is None:
                continue
            out.append(
                (name, Account(int(total), int(used), plan, unlimited == "1", _int(rpm), _int(tpm), int(period)))
            )
        out.sort(key=lambda pair: pair[1].period)  # roughly the order of first use
        return out

    def set_defaults(self, credits: int, plan: str) -> None:
        """Credits and plan of keys first seen from now on (every worker); existing accounts keep theirs."""
        self.store.call(lambda r: r.hset(self._defaults, mapping={"credits": credits, "plan": plan}))

    def reserve(self, key: str, cost: int) -> Reservation | None:
        """Hold ``cost`` micro-credits for ``key`` if its balance covers them; None if not.

        If Redis stops during the call, the request is answered 503 and the reservation, if Redis
        applied it, is undone by the first call after Redis is back (see :meth:`undo_lost`).
        """
        with self._reserving:  # this worker's reservations are numbered in order
            self.undo_lost()
            number = next(self._numbers)
            try:
                result = self.store.run(
                    "ledger_reserve", _RESERVE, [*self._keys(key), self._worker], [key, cost, number, *self._start]
                )
            except StateUnavailable:
                self._lost = number
                raise
        if int(result[0]) != 1:
            return None
        return Reservation(key, cost, int(result[1]))

    # -- batched (the chat pipeline on a serving worker) ------------------------------------------
    def forget_cached(self) -> None:
        """Drop the accounts :meth:`aaccount` remembers (called whenever the worker catches up)."""
        self._cached = {}
        self._cache_generation += 1

    async def aaccount(self, key: str) -> Account:
        """:meth:`account`, sent with the other commands of this loop turn (see :mod:`mockserver.shared.batch`).

        The account is remembered until the worker next catches up with a change (see
        :mod:`mockserver.shared.changes`; every change to an account is announced), so its plan,
        limits and period are current, but not its balance: reservations read that in Redis.
        """
        cached = self._cached.get(key)
        if cached is not None:
            return cached
        batch = self.store.batch
        if batch is None:
            return self.account(key)
        self.store.check_up()
        generation = self._cache_generation
        fields = await batch.call(
            "HMGET", self._prefix + key, "total", "used", "plan", "unlimited", "rpm", "tpm", "period"
        )
        total, used, plan, unlimited, rpm, tpm, period = fields
        if total is None:  # first use (or reset since): create it, atomically
            account = self.account(key)
        else:
            account = Account(int(total), int(used), plan, unlimited == "1", _int(rpm), _int(tpm), int(period))
        if generation == self._cache_generation and len(self._cached) < _CACHED_ACCOUNTS:  # no change meanwhile
            self._cached[key] = account
        return account

    async def areserve(self, key: str, cost: int, period: int) -> Reservation | None:
        """:meth:`reserve`, batched; ``period`` is that of the account as the request loaded it.

        If the connection is lost before the answer came, the request gets 503 and the reservation,
        if Redis applied it, is undone before this worker's next batched reservation.
        """
        reservation, _ = await self.areserve_and(key, cost, period)
        return reservation

    async def areserve_and(
        self, key: str, cost: int, period: int, script: tuple[str, str] | None = None, more: Sequence[Any] = ()
    ) -> tuple[Reservation | None, list[Any]]:
        """:meth:`areserve`, and more in the same atomic step: the reservation, and what ``script`` added to its answer.

        ``script`` (name, source) is built on :data:`RESERVE_LUA` and calls ``reserve()``; ``more``
        are its own keys and arguments, after the reservation's: its first item is how many keys
        follow. Without ``script``, the plain reservation.
        """
        batch = self.store.batch
        if batch is None:
            return self.reserve(key, cost), []
        self.store.check_up()
        if self._batched_lost or self._undoing is not None:
            await self._aundo()
        number = next(self._batched_numbers)
        keys, args = [*self._keys(key), self._batched], [key, cost, number, *self._start]
        try:
            if script is None:
                result = await batch.script("ledger_reserve_batched", _RESERVE_BATCHED, keys, args)
            else:
                count = int(more[0]) if more else 0
                keys += more[1 : 1 + count]
                args += more[1 + count :]
                result = await batch.script(*script, keys, args)
        except StateUnavailable:
            self._batched_lost.append((number, key, cost, period))
            raise
        if int(result[0]) != 1:
            return None, list(result[1:])
        return Reservation(key, cost, int(result[1])), list(result[3:])

    async def _aundo(self) -> None:
        """Undo the lost reservations before any newer one is sent (the undo relies on their order)."""
        if self._undoing is not None:
            await asyncio.shield(self._undoing)
            return
        batch = self.store.batch
        assert batch is not None
        lost, self._batched_lost = self._batched_lost, []
        self._undoing = asyncio.get_running_loop().create_future()
        args: list[Any] = [self._prefix]
        for number, key, cost, period in lost:
            args += [number, key, cost, period]
        try:
            await batch.script("ledger_undo_batched", _UNDO_BATCHED, [self._batched], args)
        except StateUnavailable:
            self._batched_lost = lost + self._batched_lost
            raise
        finally:
            self._undoing.set_result(None)
            self._undoing = None

    @property
    def has_lost_reservation(self) -> bool:
        """Whether a reservation's answer was lost and is still to be undone."""
        return self._lost is not None

    def undo_lost(self) -> None:
        """Give back the credits of a reservation whose answer was lost, if Redis applied it."""
        with self._reserving:
            if self._lost is None:
                return
            self.store.run("ledger_undo", _UNDO, [self._worker], [self._prefix, self._lost])
            self._lost = None

    def settle(self, reservation: Reservation, actual: int) -> None:
        """Replace ``reservation`` by the ``actual`` cost (never more than reserved); see :meth:`Ledger.settle`."""
        refund = reservation.amount - min(actual, reservation.amount)
        if refund:
            self.store.run("ledger_settle", _SETTLE, [self._prefix + reservation.key], [reservation.period, refund])

    def balance(self, key: str, now: datetime | None = None) -> dict[str, Any]:
        """The credits-balance body for ``key`` (contract schema ``credits-balance``)."""
        snapshot = self.account(key)
        probe = Ledger(snapshot.total, snapshot.plan)
        probe._accounts[key] = snapshot  # the in-memory ledger formats the body
        return probe.balance(key, now)

    def reset(self, credits: int, plan: str) -> None:
        """Forget every account; new ones start with ``credits`` on ``plan``."""
        self.store.run("ledger_reset", _RESET, [self._defaults, self._names], [self._prefix, credits, plan])
        self.store.announce()


assert MICRO == 1_000_000  # the scripts spell it out
