"""The shared store: the router's rows in Redis, updated atomically by Lua scripts.

Every web process and worker records into the same hashes, so all learn from all outcomes.
Each record is one script run (Redis runs scripts one at a time), so concurrent records never
lose an update, and decay is applied inside the script against the stored clocks.  Keys expire
after ``Params.ttl_seconds`` without a record, so segments nobody pays in any more fade away.
Any Redis failure surfaces as :class:`StoreUnavailable`; ``Router.rank`` then falls back to the
default order, and the service logs and skips a failed ``record`` (docs/routing.md, "Shared
state").
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from kadosei.routing.stats import BREAKER_LEN, ROW_LEN, Params
from kadosei.routing.store import Hash, StoreUnavailable

# Mirrors stats.update_row / update_breaker / claim_probe and MemoryStore.record exactly.
_RECORD = """
local prov = ARGV[1]
local x, expected, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local gs, gf, thr, nmin = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local half, ttl = tonumber(ARGV[9]), tonumber(ARGV[10])
local bcons, bdecay, bthr = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local bcool, bmax = tonumber(ARGV[14]), tonumber(ARGV[15])

local function parse(v, n)
  local t = {}
  if v then for w in string.gmatch(v, "%S+") do t[#t + 1] = tonumber(w) end end
  for i = #t + 1, n do t[i] = 0 end
  return t
end
local function fmt(t)
  local o = {}
  for i = 1, #t do o[i] = string.format("%.17g", t[i]) end
  return table.concat(o, " ")
end
local function clamp(v) return math.min(math.max(v, 1e-4), 1 - 1e-4) end

local closed_at = 0
local function update_row(r, clock, detect)
  if x ~= -1 then
    local d = 0
    if r[2] > 0 then
      local lag = clock - r[7]
      if lag > 0 then d = gs ^ lag else d = 1 end
    end
    r[1] = r[1] * d + x; r[2] = r[2] * d + 1; r[3] = r[3] * d + expected
    r[4] = r[4] * gf + x; r[5] = r[5] * gf + 1; r[6] = r[6] * gf + expected
    r[7] = clock
    if detect and r[5] >= nmin and r[2] > r[5] + 1e-9 and r[3] > 0 then
      local pred = clamp(r[6] / r[5] * r[1] / r[3])
      local fast = clamp(r[4] / r[5])
      local kl = fast * math.log(fast / pred) + (1 - fast) * math.log((1 - fast) / (1 - pred))
      if r[5] * kl > thr then r[1], r[2], r[3] = r[4], r[5], r[6] end
    end
  end
  if detect and closed_at > 0 and r[10] <= closed_at then r[8], r[9] = 0, 0 end
  local lag = now - r[10]
  local d = 1
  if lag > 0 then d = 0.5 ^ (lag / half) end
  local ok, err = 1, 0
  if x == -1 then ok, err = 0, 1 end
  r[8] = r[8] * d + ok; r[9] = r[9] * d + err
  r[10] = math.max(now, r[10])
end

local function update_breaker(b)
  if x == -1 then
    b[2] = b[2] + 1; b[3] = b[3] * bdecay + 1
    if b[1] == 2 then
      b[1], b[4], b[6] = 1, now, 0
      b[5] = math.min(b[5] * 2, bmax)
    elseif b[1] == 0 and (b[2] >= bcons or b[3] >= bthr) then
      if now - b[4] < 4 * bmax and b[5] > 0 then b[5] = math.min(b[5] * 2, bmax)
      else b[5] = bcool end
      b[1], b[4], b[6] = 1, now, 0
    end
    return
  end
  b[2] = 0; b[3] = b[3] * bdecay
  if b[1] == 2 then
    if x == 1 then b[1], b[3], b[6], b[7] = 0, 0, 0, now else b[6] = 0 end
  end
end

local bkey = KEYS[#KEYS]
local b = parse(redis.call("HGET", bkey, prov), 7)
closed_at = b[7]
if x == -1 and b[1] ~= 0 then
  update_breaker(b)
  redis.call("HSET", bkey, prov, fmt(b))
  redis.call("EXPIRE", bkey, ttl)
  return 0
end
for i = 1, #KEYS - 1 do
  local k = KEYS[i]
  local clock = tonumber(redis.call("HGET", k, "_c") or "0")
  if x ~= -1 then
    clock = clock + 1
    redis.call("HSET", k, "_c", string.format("%.17g", clock))
    local star = parse(redis.call("HGET", k, "*"), 10)
    update_row(star, clock, false)
    redis.call("HSET", k, "*", fmt(star))
  end
  local raw = redis.call("HGET", k, prov)
  local r = parse(raw, 10)
  if not raw then r[7] = clock end
  update_row(r, clock, true)
  redis.call("HSET", k, prov, fmt(r))
  redis.call("EXPIRE", k, ttl)
end
update_breaker(b)
redis.call("HSET", bkey, prov, fmt(b))
redis.call("EXPIRE", bkey, ttl)
return 1
"""

_CLAIM_PROBE = """
local raw = redis.call("HGET", KEYS[1], ARGV[1])
if not raw then return 0 end
local b = {}
for w in string.gmatch(raw, "%S+") do b[#b + 1] = tonumber(w) end
local now, timeout = tonumber(ARGV[2]), tonumber(ARGV[3])
local due = false
if b[1] == 1 then due = now >= b[4] + b[5]
elseif b[1] == 2 then due = (now >= b[6] + timeout) or b[6] == 0 end
if not due then return 0 end
b[1], b[6] = 2, now
local o = {}
for i = 1, #b do o[i] = string.format("%.17g", b[i]) end
redis.call("HSET", KEYS[1], ARGV[1], table.concat(o, " "))
return 1
"""


def _row(raw: bytes | str, length: int) -> list[float]:
    """A stored row back as floats."""
    values = [float(v) for v in raw.split()]
    return values + [0.0] * (length - len(values))


def _text(value: bytes | str) -> str:
    """A Redis reply as str whatever the client's decode_responses setting."""
    return value.decode() if isinstance(value, bytes) else value


class RedisStore:
    """Router statistics in Redis under ``prefix``, shared by every process."""

    def __init__(self, client: redis.Redis, prefix: str = "kadosei:routing:") -> None:
        self.client = client
        self.prefix = prefix
        self._record = client.register_script(_RECORD)
        self._claim = client.register_script(_CLAIM_PROBE)

    def read(
        self, keys: Sequence[str], breaker_key: str, providers: Sequence[str]
    ) -> tuple[list[tuple[float, Hash]], dict[str, list[float]]]:
        """Each key's (clock, rows) and the providers' breaker rows, in one round trip."""
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(self.prefix + key)
            if providers:
                pipe.hmget(self.prefix + breaker_key, list(providers))
            replies = pipe.execute()
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        levels = []
        for reply in replies[: len(keys)]:
            rows = {_text(k): v for k, v in reply.items()}
            clock = float(rows.pop("_c", 0.0))
            levels.append((clock, {k: _row(v, ROW_LEN) for k, v in rows.items()}))
        breakers = {}
        if providers:
            for name, raw in zip(providers, replies[len(keys)], strict=True):
                if raw is not None:
                    breakers[name] = _row(raw, BREAKER_LEN)
        return levels, breakers

    def record(
        self,
        keys: Sequence[str],
        breaker_key: str,
        provider: str,
        x: int,
        expected: float,
        now: float,
        params: Params,
    ) -> None:
        """Fold one outcome into every key's rows and the provider's breaker in one script."""
        p = params
        args = [
            provider, x, repr(expected), repr(now), p.slow_gamma, p.fast_gamma,
            p.change_threshold, p.change_min, p.availability_half_life, p.ttl_seconds,
            p.breaker_consecutive, p.breaker_decay, p.breaker_threshold, p.breaker_cooldown,
            p.breaker_cooldown_max,
        ]  # fmt: skip
        all_keys = [self.prefix + k for k in keys] + [self.prefix + breaker_key]
        try:
            self._record(keys=all_keys, args=args)
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def claim_probe(self, breaker_key: str, provider: str, now: float, params: Params) -> bool:
        """Reserve a half-open probe of the provider if one is due (one process wins)."""
        try:
            won = self._claim(
                keys=[self.prefix + breaker_key], args=[provider, repr(now), params.probe_timeout]
            )
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return bool(won)
