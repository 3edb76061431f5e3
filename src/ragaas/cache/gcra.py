"""GCRA (generic cell rate algorithm): a smooth per-minute limit with one number per caller.

Each caller has a *theoretical arrival time* (TAT). A request advances it by ``period / limit``;
a request is refused while the advanced TAT would lie more than ``period`` ahead of now. This
allows a burst of ``limit`` requests and then one every ``period / limit`` seconds, with no
window boundary to exploit (a fixed window lets a caller send twice the limit across a boundary).

Two stores share the arithmetic: Redis (one Lua script, atomic, on the server's clock, so every
replica counts together) and an in-process table (one replica's own count, when Redis is not
configured or is down).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis.asyncio as redis

PERIOD_SECONDS = 60.0
# Past this many callers the in-process table drops the ones whose TAT has passed (they are
# back to a full burst anyway, which is what a missing entry means).
_PRUNE_AT = 10_000


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int  # requests still allowed right now
    retry_after: int  # whole seconds until the next request is allowed (0 when allowed)
    reset: int  # whole seconds until the full burst is available again


def decide(tat: float, now: float, limit: int, period: float = PERIOD_SECONDS) -> Decision:
    """The decision for one request given the stored TAT (``now`` or earlier: none stored)."""
    interval = period / limit
    tat = max(tat, now)
    new_tat = tat + interval
    allow_at = new_tat - period
    if now < allow_at:
        return Decision(False, limit, 0, max(1, math.ceil(allow_at - now)), _ceil(tat - now))
    remaining = int((period - (new_tat - now)) / interval + 1e-9)
    return Decision(True, limit, remaining, 0, _ceil(new_tat - now))


def _ceil(seconds: float) -> int:
    return max(1, math.ceil(seconds - 1e-9))


class MemoryLimiter:
    """GCRA state in this process: exact for one replica, per replica when several run."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}

    def hit(self, key: str, limit: int, now: float | None = None) -> Decision:
        """Count one request of ``key`` against ``limit`` per minute."""
        now = time.monotonic() if now is None else now
        decision = decide(self._tat.get(key, now), now, limit)
        if decision.allowed:
            if len(self._tat) >= _PRUNE_AT:
                self._tat = {k: t for k, t in self._tat.items() if t > now}
            self._tat[key] = max(self._tat.get(key, now), now) + PERIOD_SECONDS / limit
        return decision


# KEYS[1]: the caller's TAT key; ARGV[1]: interval in microseconds; ARGV[2]: period in µs.
# Returns {tat before the request, now}, both in µs on the Redis server's clock, and stores the
# advanced TAT only when the request is allowed. Microseconds fit a Lua double exactly.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - period <= now then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
             math.ceil((new_tat - now) / 1000) + 1)
end
return {string.format('%.0f', tat), string.format('%.0f', now)}
"""


async def redis_hit(client: redis.Redis, key: str, limit: int) -> Decision:
    """Count one request of ``key`` in Redis, atomically across replicas."""
    interval = round(PERIOD_SECONDS / limit * 1_000_000)
    period = round(PERIOD_SECONDS * 1_000_000)
    tat, now = await client.eval(_SCRIPT, 1, key, interval, period)
    return decide(int(tat) / 1e6, int(now) / 1e6, limit)
