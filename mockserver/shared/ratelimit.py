"""Rate-limit buckets in Redis: the token buckets of :class:`mockserver.ratelimit.RateLimiter`, shared.

Each bucket is a hash (``capacity``, ``level``, ``updated``). One Lua script refills, decides and
takes from both buckets of an account at once, on Redis's own clock (``TIME``), so every worker
agrees on the time. A bucket left alone for a minute is full again, so it expires then.
"""

from __future__ import annotations

from mockserver.ratelimit import Decision, RateLimiter, _Bucket, limit_headers, refusal
from mockserver.shared.store import Store

__all__ = ["RedisRateLimiter"]

# KEYS: requests bucket, tokens bucket. ARGV: rpm, tpm, tokens, take (1/0).
# Returns {allowed, requests level or '', tokens level or '', now}.
_CHECK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function load(key, cap)
  local b = redis.call('HMGET', key, 'capacity', 'level', 'updated')
  if not b[1] then return cap end
  local capacity, level, updated = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])
  if cap ~= capacity then level = math.min(level + cap - capacity, cap) end
  return math.min(cap, level + math.max(now - updated, 0) * cap / 60.0)
end
local function wait(level, cap, amount)
  if amount > cap then return math.huge end
  return math.max(0, (amount - level) * 60.0 / cap)
end
local rpm, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rl, tl = nil, nil
local longest = 0
if rpm > 0 then rl = load(KEYS[1], rpm); longest = math.max(longest, wait(rl, rpm, 1)) end
if tpm > 0 then tl = load(KEYS[2], tpm); longest = math.max(longest, wait(tl, tpm, tokens)) end
local allowed = longest <= 1e-9
if allowed and ARGV[4] == '1' then
  if rl then rl = rl - 1 end
  if tl then tl = tl - tokens end
end
local out = {allowed and 1 or 0, '', ''}
if rl then
  redis.call('HSET', KEYS[1], 'capacity', rpm, 'level', string.format('%.17g', rl),
             'updated', string.format('%.17g', now))
  redis.call('EXPIRE', KEYS[1], 61)
  out[2] = string.format('%.17g', rl)
end
if tl then
  redis.call('HSET', KEYS[2], 'capacity', tpm, 'level', string.format('%.17g', tl),
             'updated', string.format('%.17g', now))
  redis.call('EXPIRE', KEYS[2], 61)
  out[3] = string.format('%.17g', tl)
end
return out
"""


class RedisRateLimiter(RateLimiter):
    """Token buckets per account in Redis: ``rpm`` requests and ``tpm`` tokens per minute (0 = no limit).

    Same decisions and headers as :class:`~mockserver.ratelimit.RateLimiter`, across workers.
    """

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def _evaluate(self, account: str, rpm: int, tpm: int, tokens: int, *, take: bool) -> Decision:
        if rpm <= 0 and tpm <= 0:
            return Decision(True, 0, {})
        keys = [self.store.key("rl", account, "requests"), self.store.key("rl", account, "tokens")]
        allowed, requests_level, tokens_level = self.store.run(
            "ratelimit_check", _CHECK, keys, [rpm, tpm, tokens, 1 if take else 0]
        )
        requests = _Bucket(rpm, float(requests_level), 0.0) if requests_level else None
        token_bucket = _Bucket(tpm, float(tokens_level), 0.0) if tokens_level else None
        headers = limit_headers(rpm, requests, tpm, token_bucket)
        if int(allowed) == 1:
            return Decision(True, 0, headers)
        waits: list[tuple[float, str]] = []
        if requests is not None:
            waits.append((requests.wait_for(1), "requests per minute"))
        if token_bucket is not None:
            waits.append((token_bucket.wait_for(tokens), "tokens per minute"))
        wait, reason = max(waits)
        return refusal(wait, reason, tokens, tpm, headers)

    def reset(self) -> None:
        """Refill every bucket."""
        self.store.delete_matching("rl:*")
