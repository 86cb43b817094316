"""Fleet mode: one token and one rate limit shared by many workers through Redis (extra ``redis``).

Several processes or hosts that use the same Tuya project credentials must not each mint their
own tokens (a refresh in one kills the token another is using) and together must stay under the
project's quota. :class:`RedisTokenStore` keeps the token in Redis and renews it under a Redis
lock, so the whole fleet makes one grant and one refresh per expiry; :class:`RedisRateLimiter`
paces every request of the fleet with a GCRA schedule kept in Redis and timed by Redis's clock::

    from tuyaio.fleet import RedisRateLimiter, RedisTokenStore

    store = RedisTokenStore("redis://localhost:6379/0")
    limiter = RedisRateLimiter("redis://localhost:6379/0", rate=100, key=client_id)
    async with TuyaClient(client_id, secret, region="eu", token_store=store,
                          rate_limit=limiter) as client:
        ...
    await store.aclose(); await limiter.aclose()

Every Redis command is bounded by ``timeout``: when Redis is down or does not answer, the call
fails with :class:`RedisUnavailableError` (or, when asked for, falls back to this process alone),
and never hangs. The core of tuyaio does not import this module, nor redis.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import math
import random
import secrets
from collections.abc import Awaitable, Mapping
from types import TracebackType
from typing import Any, TypeVar

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "tuyaio.fleet needs redis-py's asyncio client: pip install 'tuyaio[redis]'"
    ) from error

import attrs

from .errors import TuyaError
from .ratelimit import TokenBucket
from .tokens import MemoryTokenStore, Token
from .validation import check_bool, check_count, check_number, check_positive_number, check_text

__all__ = [
    "FleetError",
    "RedisRateLimiter",
    "RedisTokenStore",
    "RedisUnavailableError",
    "TokenLockTimeoutError",
]

logger = logging.getLogger("tuyaio.fleet")

_T = TypeVar("_T")

_POOL_SIZE = 16
_FIRST_POLL_S = 0.005
_MAX_POLL_S = 0.1

# Delete the lock only if we still own it (another worker may hold it after our TTL ran out).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# Push the lock's expiry back, only if we still own it.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Forget the token only if it is still the one that failed (a newer one may have replaced it).
_CLEAR = """
if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# GCRA with reservation, on Redis's clock (microseconds). KEYS[1] holds the theoretical arrival
# time (TAT); ARGV[1] is the emission interval (1/rate) and ARGV[2] the burst tolerance
# ((burst - 1) * interval). Every call books the earliest slot the limit allows and returns how
# long to wait for it, so waiters are served in order and none can starve.
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
    tat = now
end
local send_at = math.max(now, tat - tolerance)
local new_tat = tat + interval
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return send_at - now
"""


@attrs.define(kw_only=True, eq=False, str=False)
class FleetError(TuyaError):
    """Fleet coordination through Redis failed; ``detail`` says how."""

    detail: str = ""

    def __str__(self) -> str:
        return self.detail


@attrs.define(kw_only=True, eq=False, str=False)
class RedisUnavailableError(FleetError):
    """Redis could not be reached, did not answer within the timeout, or refused a command."""


@attrs.define(kw_only=True, eq=False, str=False)
class TokenLockTimeoutError(FleetError):
    """Another worker held the token lock for longer than this worker was willing to wait."""


class _Redis:
    """A redis-py asyncio client with every command bounded in time and errors made ours."""

    def __init__(self, client: aioredis.Redis | str, *, timeout: float) -> None:
        self.timeout = check_positive_number("timeout", timeout)
        self.pool: aioredis.BlockingConnectionPool | None = None
        if isinstance(client, str):
            # Many callers at once wait (within the timeout) for one of a few connections.
            self.pool = aioredis.BlockingConnectionPool.from_url(
                client,
                max_connections=_POOL_SIZE,
                timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 1),  # once, at once: a pooled connection may be stale
            )  # no socket_timeout: run() bounds each command, and redis-py's wait_for is leaky
            self.client = aioredis.Redis(connection_pool=self.pool)
        elif isinstance(client, aioredis.Redis):
            self.client = client
        else:
            kind = type(client).__name__
            raise TypeError(f"redis must be a redis.asyncio.Redis or a redis:// URL, got {kind}")

    async def run(self, what: str, command: Awaitable[_T]) -> _T:
        """Await one Redis command within the timeout; failures become RedisUnavailableError."""
        try:
            async with asyncio.timeout(self.timeout):
                result = await command
        except TimeoutError:
            raise RedisUnavailableError(
                detail=f"Redis did not answer {what} within {self.timeout:g} s"
            ) from None
        except (RedisError, OSError) as error:
            _stop_if_cancelled(error)
            raise RedisUnavailableError(
                detail=f"Redis failed {what}: {type(error).__name__}: {error}"
            ) from error
        _stop_if_cancelled(None)
        return result

    async def aclose(self) -> None:
        """Close the client and its connections if we made them from a URL."""
        if self.pool is not None:
            await self.client.aclose()
            await self.pool.disconnect()


def _check_prefix(prefix: object) -> None:
    check_text("prefix", prefix)


def _check_lock_wait(lock_wait: object) -> float:
    """Seconds to wait for another worker's lock: a finite number, 0 (do not wait) or more."""
    seconds = check_number("lock_wait", lock_wait)
    if seconds < 0:
        raise ValueError(f"lock_wait must be 0 or more, got {lock_wait!r}")
    return seconds


def _stop_if_cancelled(cause: BaseException | None) -> None:
    """Honour a cancellation that redis-py swallowed or turned into an error.

    A cancellation that lands mid-command can come out of redis-py as ConnectionError, or not at
    all (``asyncio.wait_for`` in Python 3.11 drops one that races with completion); a caller
    that asked to stop must not go on as if nothing happened.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from cause


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _token_from_hash(record: Mapping[Any, Any]) -> Token | None:
    fields = {_text(name): _text(value) for name, value in record.items()}
    try:
        return Token(
            access_token=fields["access_token"],
            refresh_token=fields["refresh_token"],
            expires_at_ms=int(fields["expires_at_ms"]),
            lifetime_ms=int(fields["lifetime_ms"]),
            uid=fields.get("uid", ""),
        )
    except (KeyError, ValueError):
        return None


class RedisTokenStore:
    """A :class:`~tuyaio.TokenStore` in Redis: one token, renewed once, for a fleet of workers.

    The token lives in a hash under ``{prefix}:token:{key}``, where the client's key is its host
    and client_id (never the secret); expiry is on the server's clock. A worker that must renew
    takes the lock ``{prefix}:token-lock:{key}`` (``SET NX PX`` with a random owner value),
    re-reads the token, and only then calls Tuya; the others poll for the lock with jittered
    backoff for at most ``lock_wait`` seconds, then read the token it stored. While held, the lock
    is extended every ``lock_ttl / 3`` seconds, so a long renewal keeps it but a worker that dies
    holding it blocks the fleet for at most ``lock_ttl`` seconds. Only its owner releases it (a
    Lua compare-and-delete), and a rejected token is forgotten only if it is still the stored one.

    ``redis`` is a ``redis.asyncio.Redis`` you own (never closed here) or a ``redis://`` URL, from
    which a client of up to 16 connections is made (closed by :meth:`aclose`; more callers at once
    wait for a free connection, within the timeout). Each Redis command is bounded by
    ``timeout`` seconds; when Redis fails, :class:`RedisUnavailableError` is raised, or with
    ``local_fallback=True`` this worker keeps going with a token of its own, kept in memory until
    Redis answers again (the fleet then makes more grants, but no call fails for want of Redis).

    Tokens are stored in clear text: give the fleet a Redis that only it can reach.
    """

    def __init__(
        self,
        redis: aioredis.Redis | str,
        *,
        prefix: str = "tuyaio",
        lock_ttl: float = 10.0,
        lock_wait: float = 60.0,
        timeout: float = 2.0,
        local_fallback: bool = False,
    ) -> None:
        lock_ttl = check_positive_number("lock_ttl", lock_ttl, minimum=0.01)
        lock_wait = _check_lock_wait(lock_wait)
        _check_prefix(prefix)
        self._local_fallback = check_bool("local_fallback", local_fallback)
        self._redis = _Redis(redis, timeout=timeout)
        self._prefix = prefix
        self._lock_ttl_ms = round(lock_ttl * 1000)
        self._lock_wait = lock_wait
        self._local = MemoryTokenStore()
        self._release = self._redis.client.register_script(_RELEASE)
        self._extend = self._redis.client.register_script(_EXTEND)
        self._clear = self._redis.client.register_script(_CLEAR)
        self._clearing: dict[str, asyncio.Task[None]] = {}
        self._cleared: collections.deque[str] = collections.deque(maxlen=16)
        self._degraded = False

    def __repr__(self) -> str:
        return (
            f"RedisTokenStore(prefix={self._prefix!r}, lock_ttl={self._lock_ttl_ms / 1000:g}, "
            f"local_fallback={self._local_fallback})"
        )

    def token_key(self, key: str) -> str:
        """The Redis key of the token record for the client key ``key``."""
        return f"{self._prefix}:token:{key}"

    def lock_key(self, key: str) -> str:
        """The Redis key of the renewal lock for the client key ``key``."""
        return f"{self._prefix}:token-lock:{key}"

    async def get(self, key: str) -> Token | None:
        """The stored token, or ``None``."""
        try:
            record = await self._redis.run(
                "HGETALL", self._redis.client.hgetall(self.token_key(key))
            )
        except RedisUnavailableError as error:
            self._fall_back(error)
            return await self._local.get(key)
        self._recovered()
        return _token_from_hash(record) if record else None

    async def set(self, key: str, token: Token) -> None:
        """Store a new token for the whole fleet."""
        mapping: Mapping[Any, Any] = {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at_ms": token.expires_at_ms,
            "lifetime_ms": token.lifetime_ms,
            "uid": token.uid,
        }
        try:
            await self._redis.run(
                "HSET", self._redis.client.hset(self.token_key(key), mapping=mapping)
            )
        except RedisUnavailableError as error:
            self._fall_back(error)
            await self._local.set(key, token)
            return
        self._recovered()

    async def clear(self, key: str, *, access_token: str) -> None:
        """Forget the token, but only if the stored one still has this access token.

        When a token dies, every call in flight with it is refused at once; their clears of the
        same token share one Redis round trip, and later ones for it cost none.
        """
        await self._local.clear(key, access_token=access_token)
        mark = hashlib.sha256(f"{key}\0{access_token}".encode()).hexdigest()
        if mark in self._cleared:
            return
        pending = self._clearing.get(mark)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._clear_shared(key, access_token))
            self._clearing[mark] = pending
            pending.add_done_callback(lambda done: self._cleared_by(mark, done))
        try:
            await asyncio.shield(pending)
        except RedisUnavailableError as error:
            self._fall_back(error)

    async def _clear_shared(self, key: str, access_token: str) -> None:
        await self._redis.run(
            "the token compare-and-delete",
            self._clear(keys=[self.token_key(key)], args=[access_token]),
        )

    def _cleared_by(self, mark: str, done: asyncio.Task[None]) -> None:
        del self._clearing[mark]
        if not done.cancelled() and done.exception() is None:
            self._cleared.append(mark)

    def lock(self, key: str) -> _FleetLock:
        """The fleet-wide renewal lock for ``key`` (an async context manager)."""
        return _FleetLock(self, key)

    async def aclose(self) -> None:
        """Close the Redis client if this store made it from a URL."""
        await self._redis.aclose()

    def _fall_back(self, error: RedisUnavailableError) -> None:
        if not self._local_fallback:
            raise error
        if not self._degraded:
            self._degraded = True
            logger.warning("%s; using a token local to this worker until Redis answers", error)

    def _recovered(self) -> None:
        if self._degraded:
            self._degraded = False
            logger.warning("Redis answers again; sharing the fleet's token")


class _FleetLock:
    """One acquisition of a store's renewal lock, with a random owner value and a keep-alive."""

    def __init__(self, store: RedisTokenStore, key: str) -> None:
        self._store = store
        self._key = key
        self._name = store.lock_key(key)
        self._owner = secrets.token_hex(16)
        self._local: asyncio.Lock | None = None
        self._keep_alive: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"_FleetLock(held={self._keep_alive is not None or self._local is not None})"

    async def __aenter__(self) -> _FleetLock:
        store = self._store
        try:
            await self._acquire()
        except RedisUnavailableError as error:
            store._fall_back(error)
            self._local = store._local.lock(self._key)
            await self._local.acquire()
            return self
        self._keep_alive = asyncio.get_running_loop().create_task(self._extend_while_held())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._local is not None:
            self._local.release()
            self._local = None
            return
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keep_alive
            self._keep_alive = None
        store = self._store
        try:
            await store._redis.run(
                "the lock release", store._release(keys=[self._name], args=[self._owner])
            )
        except RedisUnavailableError as error:
            logger.warning("%s; the token lock expires by itself within its TTL", error)

    async def _acquire(self) -> None:
        store = self._store
        redis = store._redis
        loop = asyncio.get_running_loop()
        deadline = loop.time() + store._lock_wait
        poll = _FIRST_POLL_S
        while True:
            taken = await redis.run(
                "the lock SET NX",
                redis.client.set(self._name, self._owner, nx=True, px=store._lock_ttl_ms),
            )
            if taken:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TokenLockTimeoutError(
                    detail=(
                        f"another worker has been renewing the token for more than "
                        f"{store._lock_wait:g} s (lock {self._name!r})"
                    )
                )
            await asyncio.sleep(min(remaining, poll * (0.5 + random.random() / 2)))
            poll = min(poll * 2, _MAX_POLL_S)

    async def _extend_while_held(self) -> None:
        store = self._store
        interval = store._lock_ttl_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                kept = await store._redis.run(
                    "the lock extension",
                    store._extend(keys=[self._name], args=[self._owner, store._lock_ttl_ms]),
                )
            except RedisUnavailableError as error:
                logger.warning("%s; the token lock may lapse", error)
                continue
            if not kept:
                logger.warning("the token lock %r lapsed during a renewal", self._name)
                return


class RedisRateLimiter:
    """A fleet-wide request rate in Redis: ``rate`` requests per second, bursts of ``burst``.

    Plugs into ``TuyaClient(rate_limit=...)``. Every worker that passes the same ``key`` (use the
    project's client_id) and Redis shares one limit. One Lua script books each request's slot on a
    GCRA schedule timed by Redis's own clock (``TIME``), so workers' clocks do not matter and
    requests are served in the order they asked. In any one-second window the fleet sends at
    most ``rate + burst`` requests; ``burst=1`` (the default) spaces them evenly.

    Each limiter books one slot at a time (its other waiters queue in the process), so a worker
    that dies leaves at most one unused slot behind; one process thereby sends at most one
    request per round trip to Redis (the fleet's limit is shared by all of them). Redis commands
    are bounded by ``timeout``: when Redis fails, :class:`RedisUnavailableError` is raised, or,
    with ``local_fallback_rate``, this worker paces itself alone at that rate until Redis answers.
    """

    def __init__(
        self,
        redis: aioredis.Redis | str,
        rate: float,
        burst: int = 1,
        *,
        key: str,
        prefix: str = "tuyaio",
        timeout: float = 2.0,
        local_fallback_rate: float | None = None,
    ) -> None:
        self._rate = check_positive_number("rate", rate)
        self._burst = check_count("burst", burst, minimum=1)
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string, e.g. the project's client_id")
        _check_prefix(prefix)
        fallback_rate = (
            None
            if local_fallback_rate is None
            else check_positive_number("local_fallback_rate", local_fallback_rate)
        )
        self._redis = _Redis(redis, timeout=timeout)
        self._name = f"{prefix}:rate:{key}"
        interval_us = 1_000_000 / self._rate
        self._args = [math.ceil(interval_us), math.ceil(interval_us * (burst - 1))]
        self._gcra = self._redis.client.register_script(_GCRA)
        self._turn = asyncio.Lock()
        self._fallback = None if fallback_rate is None else TokenBucket(fallback_rate)
        self._degraded = False

    def __repr__(self) -> str:
        return f"RedisRateLimiter(rate={self._rate:g}, burst={self._burst}, key={self._name!r})"

    @property
    def rate(self) -> float:
        """The fleet's requests per second."""
        return self._rate

    async def acquire(self) -> None:
        """Return when the fleet may send one more request."""
        try:
            async with self._turn:
                wait_us = await self._redis.run(
                    "the rate-limit script", self._gcra(keys=[self._name], args=self._args)
                )
                self._recovered()
                if int(wait_us) > 0:
                    await asyncio.sleep(int(wait_us) / 1_000_000)
        except RedisUnavailableError as error:
            if self._fallback is None:
                raise
            if not self._degraded:
                self._degraded = True
                logger.warning("%s; pacing this worker alone until Redis answers", error)
            await self._fallback.acquire()

    async def aclose(self) -> None:
        """Close the Redis client if this limiter made it from a URL."""
        await self._redis.aclose()

    def _recovered(self) -> None:
        if self._degraded:
            self._degraded = False
            logger.warning("Redis answers again; pacing with the fleet")
