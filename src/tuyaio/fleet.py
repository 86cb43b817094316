"""Fleet mode: one token and one rate limit shared by many workers through Redis (extra ``redis``).

Several processes or hosts that use the same Tuya project credentials must not each mint their
own tokens (a refresh in one kills the token another is using) and together must stay under the
project's quota. :class:`RedisTokenStore` keeps the token in Redis and renews it under a Redis
lock, so the whole fleet makes one grant and one refresh per expiry; :class:`RedisRateLimiter`
paces every request of the fleet with a GCRA schedule kept in Redis and timed by Redis's clock;
:class:`RedisCallQuota` caps the requests the whole fleet may send (in all, or per window)::

    from tuyaio.fleet import RedisRateLimiter, RedisTokenStore

    store = RedisTokenStore("redis://localhost:6379/0")
    limiter = RedisRateLimiter("redis://localhost:6379/0", rate=100, key=client_id)
    async with TuyaClient(client_id, secret, region="eu", token_store=store,
                          rate_limit=limiter) as client:
        ...
    await store.aclose(); await limiter.aclose()

Every wait for Redis is bounded: a call waits at most ``timeout`` seconds for Redis in all (one
deadline per call, however many commands or queued callers it waits for), then fails with
:class:`RedisUnavailableError` or, when asked for, falls back to this process alone. Once Redis
has failed to answer, calls fail or fall back at once, and one call at most every second tries
Redis again. Keys that are not what the fleet writes (a wrong type, a lock without TTL, a
schedule an hour ahead) are repaired where they are read. The core of tuyaio does not import
this module, nor redis.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import inspect
import logging
import math
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError, ResponseError
except ImportError as _import_error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "tuyaio.fleet needs redis-py's asyncio client: pip install 'tuyaio[redis]'"
    ) from _import_error

import attrs

from .errors import TuyaError
from .quota import LocalCallQuota
from .ratelimit import TokenBucket
from .tokens import MemoryTokenStore, Token
from .validation import check_count, check_number, check_positive_number

__all__ = [
    "FleetError",
    "RedisCallQuota",
    "RedisRateLimiter",
    "RedisTokenStore",
    "RedisUnavailableError",
    "TokenLockTimeoutError",
]

logger: logging.Logger = logging.getLogger("tuyaio.fleet")

_T = TypeVar("_T")

_POOL_SIZE = 16
_FIRST_POLL_S = 0.005
_MAX_POLL_S = 0.1
_RETRY_EVERY_S = 1.0  # while Redis is failing, one call at most this often tries it again
_CLOSE_WAIT_S = 1.0  # aclose waits this long at most for commands abandoned at their deadline

# Take the lock (SET NX PX with our owner value), repairing what no worker sets: a key of another
# type is deleted (it holds no lock), and a lock without TTL gets one, so that it frees within
# ``lock_ttl`` instead of never. Returns {taken, repaired}.
_ACQUIRE = """
local repaired = 0
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'string' then
    redis.call('DEL', KEYS[1])
    repaired = 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {1, repaired}
end
if redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    repaired = 1
end
return {0, repaired}
"""

# Delete the lock only if we still own it (another worker may hold it after our TTL ran out).
_RELEASE = """
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# Push the lock's expiry back, only if we still own it.
_EXTEND = """
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Forget the token only if it is still the one that failed (a newer one may have replaced it);
# a key of another type than a hash holds no token and is deleted.
_CLEAR = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' then
    if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then
        return redis.call('DEL', KEYS[1])
    end
    return 0
end
if kind ~= 'none' then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# Delete the token key if it is not a hash (what HGETALL and HSET refused with WRONGTYPE); a hash
# another worker wrote meanwhile is kept.
_REPAIR_TOKEN = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'hash' then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# GCRA with reservation, on Redis's clock (microseconds). KEYS[1] holds the theoretical arrival
# time (TAT); ARGV[1] is the emission interval (1/rate), ARGV[2] the burst tolerance
# ((burst - 1) * interval) and ARGV[3] the longest wait the limiter can ask for. Every call books
# the earliest slot the limit allows and returns how long to wait for it, so waiters are served
# in order and none can starve. A schedule that is not a number, or that would make a request
# wait longer than ARGV[3], or a key of another type, is corrupt: it starts again from now.
# Returns {wait, repaired}.
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local repaired = 0
local tat = now
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' then
    local stored = tonumber(redis.call('GET', KEYS[1]))
    if stored == nil or stored ~= stored or stored - tolerance - now > max_wait then
        repaired = 1
    elseif stored > now then
        tat = stored
    end
elseif kind ~= 'none' then
    redis.call('DEL', KEYS[1])
    repaired = 1
end
local send_at = math.max(now, tat - tolerance)
local new_tat = tat + interval
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {send_at - now, repaired}
"""

# A budget of requests: spend one unless ARGV[1] are spent. KEYS[1] counts the requests granted
# (never past the limit); ARGV[2] is the window in ms (0: none), which starts with the window's
# first request (the key then expires). A key that is not a count (another type, not a
# non-negative integer) is corrupt and starts again from 0; a window's count without a TTL gets
# one, so that the window ends. Returns {taken, used, repaired}.
_SPEND = """
local repaired = 0
local used = 0
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' then
    used = tonumber(redis.call('GET', KEYS[1]))
    if used == nil or used ~= used or used < 0 or used ~= math.floor(used) then
        redis.call('DEL', KEYS[1])
        used = 0
        repaired = 1
    end
elseif kind ~= 'none' then
    redis.call('DEL', KEYS[1])
    repaired = 1
end
local window = tonumber(ARGV[2])
if window > 0 and used > 0 and redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], window)
    repaired = 1
end
if used >= tonumber(ARGV[1]) then
    return {0, used, repaired}
end
used = redis.call('INCR', KEYS[1])
if window > 0 and used == 1 then
    redis.call('PEXPIRE', KEYS[1], window)
end
return {1, used, repaired}
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


def _refused(error: RedisUnavailableError) -> bool:
    """True if Redis answered, with an error (a refusal, not an outage)."""
    return isinstance(error.__cause__, ResponseError)


def _wrong_type(error: RedisUnavailableError) -> bool:
    return _refused(error) and str(error.__cause__).startswith("WRONGTYPE")


class _Redis:
    """A redis-py asyncio client whose commands never outlast a deadline, with a circuit breaker.

    Each command runs in a task of its own that the caller stops waiting for at its deadline,
    whatever redis-py does meanwhile (a command that hangs is abandoned and cancelled). After a
    command times out or cannot reach Redis, Redis is *down*: commands fail at once without
    touching it, except one at a time, at most every ``_RETRY_EVERY_S``, which tries it again;
    any answer (even an error reply) brings it back up.
    """

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
        self.down: str | None = None  # why Redis is taken to be down, or None while it answers
        self._retry_at = 0.0
        self._trial = False
        self._abandoned: set[asyncio.Future[Any]] = set()

    def usable(self) -> bool:
        """True if a command would be sent now (Redis is up, or it is time to try it again)."""
        if self.down is None:
            return True
        return not self._trial and asyncio.get_running_loop().time() >= self._retry_at

    def unavailable(self) -> RedisUnavailableError:
        """The error of a call turned away because Redis is down."""
        return RedisUnavailableError(
            detail=f"{self.down} (Redis is tried again at most every {_RETRY_EVERY_S:g} s)"
        )

    def trip(self, why: str) -> None:
        """Take Redis to be down: calls fail at once until a try answers."""
        self.down = why
        self._retry_at = asyncio.get_running_loop().time() + _RETRY_EVERY_S

    async def run(self, what: str, command: Awaitable[_T], *, deadline: float | None = None) -> _T:
        """Await one Redis command until ``deadline`` (loop time; default: ``timeout`` from now).

        Failures become RedisUnavailableError; a timeout or an unreachable Redis trips the
        breaker, an error reply (the cause is the ResponseError) does not.
        """
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + self.timeout
        if not self.usable():
            if inspect.iscoroutine(command):
                command.close()
            raise self.unavailable()
        trial = self.down is not None
        self._trial = self._trial or trial
        task: asyncio.Future[_T] = asyncio.ensure_future(command)
        try:
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
            if not done:
                message = f"Redis did not answer {what} within {self.timeout:g} s"
                self.trip(message)
                raise RedisUnavailableError(detail=message)
            try:
                result = task.result()
            except ResponseError as error:
                self.down = None
                raise RedisUnavailableError(
                    detail=f"Redis refused {what}: {type(error).__name__}: {error}"
                ) from error
            except (RedisError, OSError) as error:
                message = f"Redis failed {what}: {type(error).__name__}: {error}"
                self.trip(message)
                raise RedisUnavailableError(detail=message) from error
        finally:
            if trial:
                self._trial = False
            if not task.done():
                self._abandon(task)
        self.down = None
        return result

    def _abandon(self, task: asyncio.Future[Any]) -> None:
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: an abandoned command's failure is no one's concern

    async def aclose(self) -> None:
        """Let abandoned commands finish cancelling, then close what we made from a URL."""
        if self._abandoned:
            await asyncio.wait(set(self._abandoned), timeout=_CLOSE_WAIT_S)
        if self.pool is not None:
            await self.client.aclose()
            await self.pool.disconnect()


def _check_lock_wait(lock_wait: object) -> float:
    """Seconds to wait for another worker's lock: a finite number, 0 (do not wait) or more."""
    seconds = check_number("lock_wait", lock_wait)
    if seconds < 0:
        raise ValueError(f"lock_wait must be 0 or more, got {lock_wait!r}")
    return seconds


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
    wait for a free connection, within the timeout).

    Bounds: :meth:`get`, :meth:`set` and :meth:`clear` each wait at most ``timeout`` seconds for
    Redis, even when a command hangs; taking the lock waits at most ``lock_wait`` for another
    worker's renewal plus ``timeout`` for Redis (just ``timeout`` when Redis does not answer).
    When Redis fails, :class:`RedisUnavailableError` is raised, or with ``local_fallback=True``
    this worker keeps going with a token of its own, kept in memory until Redis answers again
    (the fleet then makes more grants, but no call fails for want of Redis). After a timeout or
    a connection failure, calls fail or fall back at once, without waiting for Redis, and one
    call at most every second tries Redis again.

    Self-repair: a token key that is not a hash is deleted (it holds no token); a lock key that
    is not a string is replaced, and a lock without TTL is given ``lock_ttl`` (so every worker
    sharing the store must use the same ``lock_ttl``). When Redis refuses to store a new token
    (say ``NOPERM`` or ``OOM``), the token is kept in this worker, and :meth:`get` returns it
    (the newer of the two, by expiry) so that the next renewal adopts it instead of making
    another grant; without ``local_fallback`` the refusal is still raised.

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
        self._local_fallback = local_fallback
        self._redis = _Redis(redis, timeout=timeout)
        self._prefix = prefix
        self._lock_ttl_ms = round(lock_ttl * 1000)
        self._lock_wait = lock_wait
        self._local = MemoryTokenStore()
        self._acquire = self._redis.client.register_script(_ACQUIRE)
        self._release = self._redis.client.register_script(_RELEASE)
        self._extend = self._redis.client.register_script(_EXTEND)
        self._clear = self._redis.client.register_script(_CLEAR)
        self._repair = self._redis.client.register_script(_REPAIR_TOKEN)
        self._clearing: dict[str, asyncio.Task[None]] = {}
        self._cleared: collections.deque[str] = collections.deque(maxlen=16)
        self._degraded = False
        self._refusing = False

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
        """The stored token (or one this worker kept), or ``None``; waits ``timeout`` at most."""
        try:
            record = await self._with_repair(
                key, "HGETALL", lambda: self._redis.client.hgetall(self.token_key(key))
            )
        except RedisUnavailableError as error:
            self._fall_back(error)
            return await self._local.get(key)
        self._recovered()
        stored = _token_from_hash(record) if record else None
        kept = await self._local.get(key)
        if kept is not None and (stored is None or kept.expires_at_ms > stored.expires_at_ms):
            return kept
        return stored

    async def set(self, key: str, token: Token) -> None:
        """Store a new token for the whole fleet; waits ``timeout`` at most.

        If Redis does not take it, the token is kept in this worker all the same (and
        :meth:`get` returns it), so that a refused write never leads to another grant.
        """
        mapping: Mapping[Any, Any] = {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at_ms": token.expires_at_ms,
            "lifetime_ms": token.lifetime_ms,
            "uid": token.uid,
        }
        try:
            await self._with_repair(
                key, "HSET", lambda: self._redis.client.hset(self.token_key(key), mapping=mapping)
            )
        except RedisUnavailableError as error:
            await self._local.set(key, token)
            if not _refused(error):
                self._fall_back(error)
                return
            if not self._refusing:  # Redis answers, but not with a yes: warn once, keep going
                self._refusing = True
                logger.warning(
                    "%s; this worker keeps its new token and does not grant again", error
                )
            if not self._local_fallback:
                raise
            return
        self._refusing = False
        kept = await self._local.get(key)
        if kept is not None:  # the fleet's token is the one to use from now on
            await self._local.clear(key, access_token=kept.access_token)
        self._recovered()

    async def clear(self, key: str, *, access_token: str) -> None:
        """Forget the token, but only if the stored one still has this access token.

        When a token dies, every call in flight with it is refused at once; their clears of the
        same token share one Redis round trip, and later ones for it cost none. Waits ``timeout``
        at most.
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

    async def _with_repair(self, key: str, what: str, command: Any) -> Any:
        """Run ``command()``; if the token key is of another type, delete it and run it again.

        Both tries share one deadline of ``timeout``.
        """
        redis = self._redis
        deadline = asyncio.get_running_loop().time() + redis.timeout
        try:
            return await redis.run(what, command(), deadline=deadline)
        except RedisUnavailableError as error:
            if not _wrong_type(error):
                raise
        name = self.token_key(key)
        await redis.run("the token key repair", self._repair(keys=[name]), deadline=deadline)
        logger.warning("the token key %r was not a hash; deleted it", name)
        return await redis.run(what, command(), deadline=deadline)

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

    async def __aexit__(self, *exc_info: object) -> None:
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
            taken, repaired = await redis.run(
                "the lock SET NX",
                store._acquire(keys=[self._name], args=[self._owner, store._lock_ttl_ms]),
            )
            if repaired:
                logger.warning(
                    "the token lock %r was of another type or had no TTL; repaired it", self._name
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


class _Turn:
    """A FIFO turn, handed from one holder straight to the next waiter (like ``asyncio.Lock``)."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def take_now(self) -> bool:
        """Take the turn if it is free and no one waits for it."""
        if self._held or self._waiters:
            return False
        self._held = True
        return True

    def enqueue(self) -> asyncio.Future[None]:
        """A future that is done when the turn is handed to its waiter."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def leave(self, waiter: asyncio.Future[None]) -> None:
        """A waiter gives up: out of the queue, or, if it was handed the turn, pass it on."""
        if waiter.done() and not waiter.cancelled():
            self.release()
            return
        waiter.cancel()
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def release(self) -> None:
        """Hand the turn to the first waiter still waiting, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._held = False


class RedisRateLimiter:
    """A fleet-wide request rate in Redis: ``rate`` requests per second, bursts of ``burst``.

    Plugs into ``TuyaClient(rate_limit=...)``. Every worker that passes the same ``key`` (use the
    project's client_id) and Redis shares one limit. One Lua script books each request's slot on a
    GCRA schedule timed by Redis's own clock (``TIME``), so workers' clocks do not matter and
    requests are served in the order they asked. In any one-second window the fleet sends at
    most ``rate + burst`` requests; ``burst=1`` (the default) spaces them evenly.

    Each limiter books one slot at a time (its other waiters queue in the process), so a worker
    that dies leaves at most one unused slot behind; one process thereby sends at most one
    request per round trip to Redis (the fleet's limit is shared by all of them).

    Bounds: a call waits at most ``timeout`` seconds for Redis in all, counting both its own
    command and the commands of the callers queued before it (the time they wait for their
    slots is the rate limit, not Redis, and does not count), even when a command hangs; then
    it raises :class:`RedisUnavailableError` or, with ``local_fallback_rate``, paces this worker
    alone at that rate until Redis answers. After a timeout or a connection failure, calls raise
    or fall back at once, and one call at most every second tries Redis again. No call sleeps
    longer than ``max_wait`` for its slot (default: 60 s, or 100 intervals of ``1 / rate`` if
    longer): a schedule in Redis further ahead than that, or one that is not a number or not a
    string, is corrupt and starts again from now (so ``max_wait`` must exceed the number of
    limiters that share the key times ``1 / rate``).
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
        max_wait: float | None = None,
    ) -> None:
        self._rate = check_positive_number("rate", rate)
        self._burst = check_count("burst", burst, minimum=1)
        if not key:
            raise ValueError("key must be a non-empty string, e.g. the project's client_id")
        fallback_rate = (
            None
            if local_fallback_rate is None
            else check_positive_number("local_fallback_rate", local_fallback_rate)
        )
        self._max_wait = (
            max(60.0, 100.0 / self._rate)
            if max_wait is None
            else check_positive_number("max_wait", max_wait)
        )
        self._redis = _Redis(redis, timeout=timeout)
        self._name = f"{prefix}:rate:{key}"
        interval_us = 1_000_000 / self._rate
        self._args = [
            math.ceil(interval_us),
            math.ceil(interval_us * (burst - 1)),
            math.ceil(self._max_wait * 1_000_000),
        ]
        self._gcra = self._redis.client.register_script(_GCRA)
        self._turn = _Turn()
        self._fallback = None if fallback_rate is None else TokenBucket(fallback_rate)
        self._degraded = False
        # Seconds the turn's holders have spent waiting for their slots (not for Redis).
        self._paced_s = 0.0
        self._pacing_since: float | None = None
        self._pacing_until = 0.0

    def __repr__(self) -> str:
        return f"RedisRateLimiter(rate={self._rate:g}, burst={self._burst}, key={self._name!r})"

    @property
    def rate(self) -> float:
        """The fleet's requests per second."""
        return self._rate

    async def acquire(self) -> None:
        """Return when the fleet may send one more request (see the class's bounds)."""
        try:
            await self._acquire_from_fleet()
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

    def _paced(self, now: float) -> float:
        """Seconds of pacing so far, counting the holder's current wait for its slot."""
        if self._pacing_since is None:
            return self._paced_s
        return self._paced_s + (now - self._pacing_since)

    async def _acquire_from_fleet(self) -> None:
        redis = self._redis
        if not redis.usable():
            raise redis.unavailable()
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        paced_before = self._paced(arrived)

        def deadline() -> float:
            """When this caller has waited ``timeout`` for Redis (pacing does not count)."""
            now = loop.time()
            return arrived + redis.timeout + (self._paced(now) - paced_before)

        if not self._turn.take_now():
            await self._wait_for_turn(deadline)
        try:
            wait_us, repaired = await redis.run(
                "the rate-limit script",
                self._gcra(keys=[self._name], args=self._args),
                deadline=deadline(),
            )
            self._recovered()
            if repaired:
                logger.warning("the rate schedule %r was corrupt; started it again", self._name)
            wait = min(max(int(wait_us), 0) / 1_000_000, self._max_wait)
            if wait > 0:
                self._pacing_since = loop.time()
                self._pacing_until = self._pacing_since + wait
                try:
                    await asyncio.sleep(wait)
                finally:
                    self._paced_s += loop.time() - self._pacing_since
                    self._pacing_since = None
        finally:
            self._turn.release()

    async def _wait_for_turn(self, deadline: Callable[[], float]) -> None:
        """Queue for the turn until ``deadline()``, which moves on while the holder is pacing."""
        redis = self._redis
        loop = asyncio.get_running_loop()
        waiter = self._turn.enqueue()
        try:
            while True:
                now = loop.time()
                left = deadline() - now
                if left <= 0:
                    message = (
                        f"Redis did not answer the rate-limit script within {redis.timeout:g} s"
                    )
                    redis.trip(message)
                    raise RedisUnavailableError(detail=message)
                if self._pacing_since is not None:
                    left += max(0.0, self._pacing_until - now)
                await asyncio.wait({waiter}, timeout=left)
                if waiter.done():
                    if not redis.usable():
                        raise redis.unavailable()
                    return
                if not redis.usable():
                    raise redis.unavailable()
        except BaseException:
            self._turn.leave(waiter)
            raise

    def _recovered(self) -> None:
        if self._degraded:
            self._degraded = False
            logger.warning("Redis answers again; pacing with the fleet")


class RedisCallQuota:
    """A fleet-wide budget of requests in Redis: ``limit`` in all, or per ``window`` seconds.

    Plugs into ``TuyaClient(call_quota=...)``: every client of every worker that passes the same
    ``key`` (use the project's client_id, or a job's name) and Redis spends one shared budget,
    one request at a time (retries and token calls count, as in the project's quota). Once it is
    spent, requests are refused before they are sent with
    :class:`~tuyaio.CallBudgetExceededError`. One Lua script checks and counts each request
    atomically (``INCR``, and ``PEXPIRE`` when a window starts), so the fleet together sends at
    most ``limit`` requests per window; the count never goes past ``limit``. A window starts with
    its first request and ends ``window`` seconds later (the key expires); without ``window`` the
    budget lasts until the key is deleted. :meth:`used` reads the count.

    Bounds: a request waits at most ``timeout`` seconds for Redis (one command, even when it
    hangs). When Redis fails, the budget cannot be checked, so by default the request is refused
    too, with :class:`RedisUnavailableError` (a runaway job stops rather than spend the
    project's quota unchecked). With ``local_fallback=n``, this worker alone may instead send
    ``n`` requests (per ``window``) until Redis answers again; those are not counted in Redis
    afterwards, so size ``n`` as this worker's share of the budget. After a timeout or a
    connection failure, requests are refused (or fall back) at once, and one at most every
    second tries Redis again. A script Redis received but did not answer in time may still run
    later: a request refused that way can be counted, so the budget errs towards spent. A key
    that is not a count is repaired: its budget starts again.
    """

    def __init__(
        self,
        redis: aioredis.Redis | str,
        key: str,
        limit: int,
        *,
        window: float | None = None,
        prefix: str = "tuyaio",
        timeout: float = 2.0,
        local_fallback: int | None = None,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string, e.g. the project's client_id")
        self.limit: int = check_count("limit", limit, minimum=1)
        self.window: float | None = (
            None if window is None else check_positive_number("window", window)
        )
        self._fallback = (
            None
            if local_fallback is None
            else LocalCallQuota(
                check_count("local_fallback", local_fallback, minimum=1), window=self.window
            )
        )
        self._redis = _Redis(redis, timeout=timeout)
        self._name = f"{prefix}:quota:{key}"
        window_ms = 0 if self.window is None else max(1, math.ceil(self.window * 1000))
        self._args = [self.limit, window_ms]
        self._spend = self._redis.client.register_script(_SPEND)
        self._degraded = False

    def __repr__(self) -> str:
        return f"RedisCallQuota(limit={self.limit}, window={self.window}, key={self._name!r})"

    @property
    def key(self) -> str:
        """The Redis key that holds the count."""
        return self._name

    async def take(self) -> bool:
        """Spend one request of the fleet's budget; False when it is spent (in this window).

        Raises :class:`RedisUnavailableError` when Redis fails and there is no
        ``local_fallback`` (then False means this worker's local share is spent).
        """
        try:
            taken, _used, repaired = await self._redis.run(
                "the call-quota script", self._spend(keys=[self._name], args=self._args)
            )
        except RedisUnavailableError as error:
            if self._fallback is None:
                raise
            if not self._degraded:
                self._degraded = True
                logger.warning(
                    "%s; spending this worker's local share of the call budget (%d) until "
                    "Redis answers",
                    error,
                    self._fallback.limit,
                )
            return await self._fallback.take()
        if self._degraded:
            self._degraded = False
            logger.warning("Redis answers again; spending the fleet's call budget")
        if repaired:
            logger.warning("the call budget %r was corrupt; started it again", self._name)
        return bool(taken)

    async def used(self) -> int:
        """Requests the fleet has spent so far (in the current window; 0 before the first).

        Waits ``timeout`` at most; raises :class:`RedisUnavailableError` when Redis fails.
        """
        value = await self._redis.run("the call-quota read", self._redis.client.get(self._name))
        try:
            return int(value or 0)
        except ValueError:
            return 0

    async def aclose(self) -> None:
        """Close the Redis client if this quota made it from a URL."""
        await self._redis.aclose()
