"""Fleet mode: one token, one request rate and one call budget shared by workers through Redis.

Needs the ``redis`` extra; see the Fleets guide. Works with one Redis server, with Sentinel (a
``Sentinel(...).master_for(...)`` client) and with Redis Cluster (a ``RedisCluster`` client);
Redis 5 or later. Every call waits at most ``timeout`` seconds for Redis in all, then raises
:class:`RedisUnavailableError` or, when asked to, falls back to this worker alone; once Redis has
failed to answer, calls fail or fall back at once, and one call at a time tries Redis again
after a short, growing, jittered delay (20 ms at first, 250 ms at most). Keys that are not what
the fleet writes are repaired. :class:`Fleet` makes all three on one client, with one switch
for local fallback.
"""

from __future__ import annotations

from ._errors import FleetError, QuotaStateLostError, RedisUnavailableError, TokenLockTimeoutError
from ._fleet import Fleet
from ._quota import RedisCallQuota
from ._rate import RedisRateLimiter
from ._token_store import RedisTokenStore

__all__ = [
    "Fleet",
    "FleetError",
    "QuotaStateLostError",
    "RedisCallQuota",
    "RedisRateLimiter",
    "RedisTokenStore",
    "RedisUnavailableError",
    "TokenLockTimeoutError",
]
