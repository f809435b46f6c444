"""The ledger in Redis: the same accounts, reservations and periods as :class:`mockserver.ledger.Ledger`.

One hash per account (``total``, ``used``, ``plan``, ``unlimited``, ``rpm``, ``tpm``, ``period``);
every change is one Lua script, so a reservation checks and takes credits in one atomic step
whichever worker runs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockserver.ledger import MICRO, Account, Ledger, Reservation
from mockserver.shared.store import Store

__all__ = ["RedisLedger"]

# KEYS: account hash, defaults hash, period counter, account-name set; ARGV[1]: account name.
_ENSURE = """
local function ensure()
  if redis.call('EXISTS', KEYS[1]) == 0 then
    local d = redis.call('HMGET', KEYS[2], 'credits', 'plan')
    local period = redis.call('INCR', KEYS[3])
    redis.call('HSET', KEYS[1], 'total', d[1] or '0', 'used', '0', 'plan', d[2] or 'pro', 'unlimited', '0',
               'period', period)
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

# ARGV[2]: cost in micro-credits. Returns {1, period, remaining after} or {0}.
_RESERVE = (
    _ENSURE
    + """
ensure()
local a = redis.call('HMGET', KEYS[1], 'total', 'used', 'unlimited', 'period')
local cost = tonumber(ARGV[2])
local remaining = math.max(tonumber(a[1]) * 1000000 - tonumber(a[2]), 0)
if a[3] ~= '1' and remaining < cost then
  return {0}
end
local used = redis.call('HINCRBY', KEYS[1], 'used', cost)
return {1, a[4], tostring(math.max(tonumber(a[1]) * 1000000 - used, 0))}
"""
)

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
  if credits ~= '' then redis.call('HSET', KEYS[1], 'credits', credits) end
  if plan ~= '' then redis.call('HSET', KEYS[1], 'plan', plan) end
  for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do table.insert(targets, prefix .. name) end
else
  local acct = prefix .. key
  if redis.call('EXISTS', acct) == 0 then
    local d = redis.call('HMGET', KEYS[1], 'credits', 'plan')
    redis.call('HSET', acct, 'total', d[1] or '0', 'used', '0', 'plan', d[2] or 'pro', 'unlimited', '0',
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

# KEYS: defaults. ARGV: credits, plan. Sets the defaults only if no worker did before.
_INIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'credits', ARGV[1], 'plan', ARGV[2])
  return 1
end
return 0
"""


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
        store.run("ledger_init", _INIT, [self._defaults], [credits, plan])

    def _keys(self, key: str) -> list[str]:
        return [self._prefix + key, self._defaults, self._period_key, self._names]

    def account(self, key: str) -> Account:
        """A snapshot of ``key``'s account."""
        fields = self.store.run("ledger_account", _ACCOUNT, self._keys(key), [key])
        total, used, plan, unlimited, rpm, tpm, period = fields
        return Account(
            int(total),
            int(used),
            plan,
            unlimited == "1",
            None if rpm is None else int(rpm),
            None if tpm is None else int(tpm),
            int(period),
        )

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
        args = [self._prefix, key or "", _opt(credits), _opt(plan), _opt(unlimited), _opt(rpm), _opt(tpm)]
        if key == "":
            raise ValueError("key must not be empty")
        self.store.run("ledger_configure", _CONFIGURE, [self._defaults, self._period_key, self._names], args)

    def reserve(self, key: str, cost: int) -> Reservation | None:
        """Hold ``cost`` micro-credits for ``key`` if its balance covers them; None if not."""
        result = self.store.run("ledger_reserve", _RESERVE, self._keys(key), [key, cost])
        if int(result[0]) != 1:
            return None
        return Reservation(key, cost, int(result[1]))

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


assert MICRO == 1_000_000  # the scripts spell it out
