"""Fleet mode: one token, one request rate and one call budget shared by workers through Redis.

Needs the ``redis`` extra; see the Fleets guide. Every call waits at most ``timeout`` seconds for
Redis in all, then raises :class:`RedisUnavailableError` or, when asked to, falls back to this
worker alone; once Redis has failed to answer, calls fail or fall back at once, and one call at
most every second tries Redis again. Keys that are not what the fleet writes are repaired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
except ImportError as _error:  # pragma: no cover - exercised only without the extra
    raise ImportError("tuyaio.fleet needs redis-py: pip install 'tuyaio[redis]'") from _error

import attrs
import cattrs

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

_RETRY_EVERY_S = 1.0  # while Redis is failing, one call at most this often tries it again

# Take the lock (SET NX PX with our owner value), repairing what no worker sets: a key of another
# type is deleted, a lock without TTL gets one. Returns {taken, repaired}.
_ACQUIRE = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'string' then
    redis.call('DEL', KEYS[1])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {1, kind ~= 'none' and 1 or 0}
elseif redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {0, 1}
end
return {0, 0}
"""

# If ARGV[1] still owns the lock (another worker may hold it after our TTL ran out), push its
# expiry to ARGV[2] ms from now, or with ARGV[2] = 0 delete it.
_IF_OWNER = """
if redis.call('TYPE', KEYS[1])['ok'] ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
elseif ARGV[2] == '0' then
    return redis.call('DEL', KEYS[1])
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

# Delete the token key if it is not a hash (it holds no token), or if it still holds the token
# that failed, ARGV[1] (a newer one may have replaced it). Without ARGV[1], a hash is kept.
_CLEAR = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' and (not ARGV[1] or redis.call('HGET', KEYS[1], 'access_token') ~= ARGV[1]) then
    return 0
end
return redis.call('DEL', KEYS[1])
"""

# GCRA on Redis's clock (microseconds), booking the earliest slot; a schedule that is not a number
# or is past the longest wait restarts from now (SET replaces any type). Returns {wait, repaired}.
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval, tolerance, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local kind = redis.call('TYPE', KEYS[1])['ok']
local tat, repaired = now, 0
if kind ~= 'none' then
    tat = kind == 'string' and tonumber(redis.call('GET', KEYS[1]))
end
if not (tat and tat - tolerance - now <= max_wait) then
    tat, repaired = now, 1
end
tat = math.max(tat, now)
local ttl_ms = math.ceil((tat + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', ttl_ms)
return {math.max(now, tat - tolerance) - now, repaired}
"""

# Spend one request unless ARGV[1] are spent: KEYS[1] counts them, for ARGV[2] ms (0: for good)
# from the window's first request. A count that is not a non-negative integer starts again from
# 0; a window's count without TTL gets one. Returns {taken, repaired}.
_SPEND = """
local kind = redis.call('TYPE', KEYS[1])['ok']
local used, repaired = 0, 0
if kind ~= 'none' then
    used = kind == 'string' and tonumber(redis.call('GET', KEYS[1]))
end
if not (used and used >= 0 and used % 1 == 0) then
    redis.call('DEL', KEYS[1])
    used, repaired = 0, 1
end
local taken = used < tonumber(ARGV[1])
if taken then
    redis.call('INCR', KEYS[1])
end
if ARGV[2] ~= '0' and redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    repaired = used > 0 and 1 or repaired
end
return {taken and 1 or 0, repaired}
"""


@attrs.define(kw_only=True, eq=False, str=False)
class FleetError(TuyaError):
    """Fleet coordination through Redis failed; ``detail`` says how."""

    detail: str = ""

    def __str__(self) -> str:
        return self.detail


class RedisUnavailableError(FleetError):
    """Redis could not be reached, did not answer within the timeout, or refused a command."""


class TokenLockTimeoutError(FleetError):
    """Another worker held the token lock for longer than this worker was willing to wait."""


def _refused(error: RedisUnavailableError, reply: str = "") -> bool:
    """True if Redis answered with an error (starting with ``reply``): a refusal, not an outage."""
    cause = error.__cause__
    return isinstance(cause, aioredis.ResponseError) and str(cause).startswith(reply)


class _RedisBacked:
    """A Redis client whose commands never outlast their deadline (a hung one is abandoned),
    with a breaker: after a timeout or a failed connection, commands fail at once, but one at a
    time, every ``_RETRY_EVERY_S`` at most, tries Redis again; any answer brings it back up."""

    _alone = ""  # what the worker does while it falls back
    _shared = ""  # what it does again once Redis answers

    def __init__(self, client: aioredis.Redis | str, timeout: float) -> None:
        self._timeout = check_positive_number("timeout", timeout)
        self._owned = isinstance(client, str)
        if isinstance(client, str):
            # Many callers at once wait (within the timeout) for one of a few connections; no
            # socket_timeout: _run() bounds each command, and redis-py's wait_for is leaky.
            pool = aioredis.BlockingConnectionPool.from_url(
                client,
                max_connections=16,
                timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                retry=Retry(NoBackoff(), 1),  # once, at once: a pooled connection may be stale
            )
            self._client = aioredis.Redis.from_pool(pool)
        elif isinstance(client, aioredis.Redis):
            self._client = client
        else:
            kind = type(client).__name__
            raise TypeError(f"redis must be a redis.asyncio.Redis or a redis:// URL, got {kind}")
        self._down: str | None = None  # why Redis is taken to be down, or None while it answers
        self._retry_at = 0.0
        self._trial = False
        self._fallen_back = False
        self._abandoned: set[asyncio.Future[Any]] = set()

    async def aclose(self) -> None:
        """Close the Redis client if it was made from a URL (after commands given up on)."""
        if self._abandoned:  # let them finish cancelling, for a second at most
            await asyncio.wait(set(self._abandoned), timeout=1.0)
        if self._owned:
            await self._client.aclose()

    def _check_up(self) -> None:
        """Raise at once while Redis is down, unless it is this call's turn to try it again."""
        if self._down and (self._trial or asyncio.get_running_loop().time() < self._retry_at):
            detail = f"{self._down} (Redis is tried again at most every {_RETRY_EVERY_S:g} s)"
            raise RedisUnavailableError(detail=detail)

    def _trip(self, why: str) -> RedisUnavailableError:
        self._down = why
        self._retry_at = asyncio.get_running_loop().time() + _RETRY_EVERY_S
        return RedisUnavailableError(detail=why)

    def _late(self, what: str) -> RedisUnavailableError:
        return self._trip(f"Redis did not answer {what} within {self._timeout:g} s")

    def _fall_back(self, error: RedisUnavailableError, fallback: _T | None) -> _T:
        if fallback is None:
            raise error
        if not self._fallen_back:
            self._fallen_back = True
            logger.warning("%s; %s until Redis answers", error, self._alone)
        return fallback

    async def _run(
        self, what: str, call: Callable[..., Any], *args: Any, deadline: float | None = None
    ) -> Any:
        """Await ``call(*args)`` until ``deadline`` (loop time; default: in ``timeout``); a
        timeout or an unreachable Redis trips the breaker, an error reply does not."""
        left = self._timeout if deadline is None else deadline - asyncio.get_running_loop().time()
        self._check_up()
        trial = self._down is not None
        self._trial = self._trial or trial
        task = asyncio.ensure_future(call(*args))
        try:
            await asyncio.wait({task}, timeout=max(0.0, left))
        finally:
            if trial:
                self._trial = False
            if not task.done():
                task.cancel()
                self._abandoned.add(task)
                task.add_done_callback(self._forget)
        if not task.done():
            raise self._late(what)
        try:
            result = task.result()
        except (aioredis.RedisError, OSError) as error:
            why = f"{what}: {type(error).__name__}: {error}"
            if isinstance(error, aioredis.ResponseError):  # an answer: Redis is up
                self._down = None
                raise RedisUnavailableError(detail=f"Redis refused {why}") from error
            raise self._trip(f"Redis failed {why}") from error
        self._down = None
        if self._fallen_back:
            self._fallen_back = False
            logger.warning("Redis answers again; %s", self._shared)
        return result

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: an abandoned command's failure is no one's concern


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisTokenStore(_RedisBacked):
    """A :class:`~tuyaio.TokenStore` in Redis: one token, renewed once, for a fleet of workers.

    The token is a hash under ``{prefix}:token:{key}`` (the client's host and client_id). A
    worker that must renew takes the lock ``{prefix}:token-lock:{key}`` (``SET NX PX``, a random
    owner value, extended every ``lock_ttl / 3`` while held), re-reads the token, and only then
    calls Tuya; the others poll for the lock for ``lock_wait`` seconds at most. A worker that dies
    holding it blocks the fleet for ``lock_ttl`` at most (use the same on every worker).

    ``local_fallback=True``: while Redis fails, this worker uses a token of its own instead of
    raising :class:`RedisUnavailableError`. A token Redis refuses to store (``NOPERM``, ``OOM``)
    is kept in this worker, so the next renewal refreshes it rather than granting again. Tokens
    are stored in clear text. ``redis`` is a ``redis.asyncio.Redis`` you own, or a URL for a
    client of 16 connections that :meth:`aclose` closes.
    """

    _alone = "using a token local to this worker"
    _shared = "sharing the fleet's token"

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
        super().__init__(redis, timeout)
        self._lock_ttl_ms = round(check_positive_number("lock_ttl", lock_ttl, minimum=0.01) * 1000)
        self._lock_wait = check_number("lock_wait", lock_wait)
        if self._lock_wait < 0:
            raise ValueError(f"lock_wait must be 0 or more, got {lock_wait!r}")
        self._prefix = prefix
        self._local = MemoryTokenStore()  # tokens Redis refused, and all of them when it fails
        self._fallback = self._local if local_fallback else None
        scripts = map(self._client.register_script, (_ACQUIRE, _IF_OWNER, _CLEAR))
        self._acquire, self._if_owner, self._clear = scripts
        self._clears: dict[tuple[str, str], asyncio.Future[Any]] = {}  # of the last 16 tokens
        self._refusing = False

    def __repr__(self) -> str:
        return (
            f"RedisTokenStore(prefix={self._prefix!r}, lock_ttl={self._lock_ttl_ms / 1000:g}, "
            f"local_fallback={self._fallback is not None})"
        )

    def token_key(self, key: str) -> str:
        """The Redis key of the token record for the client key ``key``."""
        return f"{self._prefix}:token:{key}"

    def lock_key(self, key: str) -> str:
        """The Redis key of the renewal lock for the client key ``key``."""
        return f"{self._prefix}:token-lock:{key}"

    async def get(self, key: str) -> Token | None:
        """The stored token (or one this worker kept, if newer), or ``None``."""
        try:
            record = await self._repairing(key, "HGETALL", self._client.hgetall)
        except RedisUnavailableError as error:
            return await self._fall_back(error, self._fallback).get(key)
        try:
            stored = cattrs.structure({_text(k): _text(v) for k, v in record.items()}, Token)
        except cattrs.BaseValidationError:  # not a whole token
            stored = None
        tokens = [token for token in (stored, await self._local.get(key)) if token]
        return max(tokens, key=lambda token: token.expires_at_ms, default=None)

    async def set(self, key: str, token: Token) -> None:
        """Store a new token for the whole fleet (and keep it in this worker if Redis does not)."""
        mapping = cattrs.unstructure(token)
        try:
            await self._repairing(
                key, "HSET", lambda name: self._client.hset(name, mapping=mapping)
            )
        except RedisUnavailableError as error:
            await self._local.set(key, token)
            if not _refused(error):
                self._fall_back(error, self._fallback)
                return
            if not self._refusing:  # Redis answers, but not with a yes: warn once, keep going
                logger.warning("%s; this worker keeps its token and does not grant again", error)
            self._refusing = True
            if self._fallback is None:
                raise
            return
        self._refusing = False
        kept = await self._local.get(key)
        if kept is not None:  # the fleet's token is the one to use from now on
            await self._local.clear(key, access_token=kept.access_token)

    async def clear(self, key: str, *, access_token: str) -> None:
        """Forget the token if it still has this access token (one Redis round trip per token)."""
        await self._local.clear(key, access_token=access_token)
        mark = (key, access_token)
        pending = self._clears.get(mark)
        if pending is None:
            name = self.token_key(key)
            command = self._run("the token compare-and-delete", self._clear, [name], [access_token])
            pending = self._clears[mark] = asyncio.ensure_future(command)
            if len(self._clears) > 16:
                del self._clears[next(iter(self._clears))]
        try:
            await asyncio.shield(pending)
        except RedisUnavailableError as error:
            if self._clears.get(mark) is pending:
                del self._clears[mark]  # the next clear of this token tries Redis again
            self._fall_back(error, self._fallback)

    async def _repairing(self, key: str, what: str, call: Callable[[str], Awaitable[Any]]) -> Any:
        """``call(token key)``, run again if the key had another type (within one timeout)."""
        name = self.token_key(key)
        deadline = asyncio.get_running_loop().time() + self._timeout
        try:
            return await self._run(what, call, name, deadline=deadline)
        except RedisUnavailableError as error:
            if not _refused(error, "WRONGTYPE"):
                raise
        await self._run("the token key repair", self._clear, [name], deadline=deadline)
        logger.warning("the token key %r was not a hash; deleted it", name)
        return await self._run(what, call, name, deadline=deadline)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """The fleet-wide renewal lock for ``key`` (else TokenLockTimeoutError after lock_wait)."""
        name, owner = self.lock_key(key), secrets.token_hex(16)
        local = await self._take_lock(key, name, owner)
        if local is not None:
            async with local:
                yield
            return
        keep_alive = asyncio.get_running_loop().create_task(self._keep_lock(name, owner))
        try:
            yield
        finally:
            keep_alive.cancel()
            try:
                await self._run("the lock release", self._if_owner, [name], [owner, 0])
            except RedisUnavailableError as error:
                logger.warning("%s; the token lock expires by itself within its TTL", error)

    async def _take_lock(self, key: str, name: str, owner: str) -> asyncio.Lock | None:
        """Take the lock in Redis, or return this worker's own to hold instead if it fails."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait
        poll, args = 0.005, [owner, self._lock_ttl_ms]
        while True:
            try:
                taken, repaired = await self._run("the lock SET NX", self._acquire, [name], args)
            except RedisUnavailableError as error:
                return self._fall_back(error, self._fallback).lock(key)
            if repaired:
                logger.warning("the lock %r was of another type or had no TTL; repaired it", name)
            if taken:
                return None
            remaining = deadline - loop.time()
            if remaining <= 0:
                detail = f"another worker held the token lock for more than {self._lock_wait:g} s"
                raise TokenLockTimeoutError(detail=f"{detail} ({name!r})")
            await asyncio.sleep(min(remaining, random.uniform(poll / 2, poll)))
            poll = min(poll * 2, 0.1)

    async def _keep_lock(self, name: str, owner: str) -> None:
        """Extend the held lock every ``lock_ttl / 3`` until it is released or lapses."""
        args, kept = [owner, self._lock_ttl_ms], True
        while kept:
            await asyncio.sleep(self._lock_ttl_ms / 3000)
            try:
                kept = await self._run("the lock extension", self._if_owner, [name], args)
            except RedisUnavailableError as error:
                logger.warning("%s; the token lock may lapse", error)
        logger.warning("the token lock %r lapsed during a renewal", name)


class RedisRateLimiter(_RedisBacked):
    """A fleet-wide request rate in Redis: ``rate`` requests per second, bursts of ``burst``.

    For ``TuyaClient(rate_limit=...)``: workers that pass the same ``key`` (the project's
    client_id) share one limit, at most ``rate + burst`` requests in any second, booked in order
    by a Lua script on a GCRA schedule timed by Redis's clock. A limiter books one slot at a time
    (its callers queue), so a worker that dies leaves one slot unused at most; the ``timeout``
    for Redis counts the commands of the callers queued before a call too. With
    ``local_fallback_rate``, a worker paces itself alone while Redis fails. No call waits more
    than ``max_wait`` for its slot (default: 60 s, or 100 intervals if longer): a schedule further
    ahead starts again, so ``max_wait`` must exceed the number of limiters times ``1 / rate``.
    """

    _alone = "pacing this worker alone"
    _shared = "pacing with the fleet"

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
        super().__init__(redis, timeout)
        self._rate = check_positive_number("rate", rate)
        self._burst = check_count("burst", burst, minimum=1)
        if not key:
            raise ValueError("key must be a non-empty string, e.g. the project's client_id")
        self._fallback: TokenBucket | None = None
        if local_fallback_rate is not None:
            fallback_rate = check_positive_number("local_fallback_rate", local_fallback_rate)
            self._fallback = TokenBucket(fallback_rate)
        if max_wait is None:
            max_wait = max(60.0, 100 / self._rate)
        self._max_wait = check_positive_number("max_wait", max_wait)
        self._name = f"{prefix}:rate:{key}"
        interval_us = 1_000_000 / self._rate
        waits_us = (interval_us, interval_us * (burst - 1), self._max_wait * 1_000_000)
        self._args = [math.ceil(us) for us in waits_us]
        self._gcra = self._client.register_script(_GCRA)
        self._turn = asyncio.Lock()  # held while booking a slot and waiting for it
        self._paced_s = 0.0  # how long the turn's holders have waited for their slots in all
        self._pacing_until = 0.0  # when the holder's wait for its slot ends

    def __repr__(self) -> str:
        return f"RedisRateLimiter(rate={self._rate:g}, burst={self._burst}, key={self._name!r})"

    @property
    def rate(self) -> float:
        """The fleet's requests per second."""
        return self._rate

    async def acquire(self) -> None:
        """Return when the fleet may send one more request (or raise RedisUnavailableError)."""
        try:
            await self._book()
        except RedisUnavailableError as error:
            await self._fall_back(error, self._fallback).acquire()

    def _paced(self) -> float:
        return self._paced_s - max(0.0, self._pacing_until - asyncio.get_running_loop().time())

    async def _book(self) -> None:
        loop = asyncio.get_running_loop()
        # The time the turn's holders wait for their slots moves this caller's deadline on.
        arrived = loop.time() - self._paced()
        turn = asyncio.ensure_future(self._turn.acquire())
        try:
            while not turn.done():
                self._check_up()
                now = loop.time()
                left = arrived + self._timeout + self._paced() - now
                if left <= 0:
                    raise self._late("the rate-limit script")
                await asyncio.wait({turn}, timeout=left + max(0.0, self._pacing_until - now))
        except BaseException:
            if not turn.cancel():  # the turn was handed to this caller: pass it on
                self._turn.release()
            raise
        try:
            deadline = arrived + self._timeout + self._paced()
            wait_us, repaired = await self._run(
                "the rate-limit script", self._gcra, [self._name], self._args, deadline=deadline
            )
            if repaired:
                logger.warning("the rate schedule %r was corrupt; started it again", self._name)
            wait = min(max(int(wait_us), 0) / 1_000_000, self._max_wait)
            self._paced_s += wait
            self._pacing_until = loop.time() + wait
            try:
                await asyncio.sleep(wait)
            finally:  # count the wait as it was: a little longer, or cut short
                self._paced_s += loop.time() - self._pacing_until
                self._pacing_until = loop.time()
        finally:
            self._turn.release()


class RedisCallQuota(_RedisBacked):
    """A fleet-wide budget of requests in Redis: ``limit`` in all, or per ``window`` seconds.

    For ``TuyaClient(call_quota=...)``: workers that pass the same ``key`` spend one budget
    (retries and token calls count), checked and counted by a Lua script so that it is never
    overspent; then requests are refused with :class:`~tuyaio.CallBudgetExceededError`. A window
    starts with its first request (without one, the budget lasts until the key is deleted). With
    ``local_fallback=n``, a worker may send ``n`` requests (per window) of its own while Redis
    fails. A request that timed out in Redis may still be counted: the budget errs on spent.
    """

    _shared = "spending the fleet's call budget"

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
        super().__init__(redis, timeout)
        if not key:
            raise ValueError("key must be a non-empty string, e.g. the project's client_id")
        self.key: str = f"{prefix}:quota:{key}"
        """The Redis key that holds the count."""
        self.limit: int = check_count("limit", limit, minimum=1)
        self.window: float | None = (
            None if window is None else check_positive_number("window", window)
        )
        self._fallback: LocalCallQuota | None = None
        if local_fallback is not None:
            share = check_count("local_fallback", local_fallback, minimum=1)
            self._fallback = LocalCallQuota(share, window=self.window)
        self._alone = f"spending this worker's local share of the call budget ({local_fallback})"
        window_ms = 0 if self.window is None else max(1, math.ceil(self.window * 1000))
        self._args = [self.limit, window_ms]
        self._spend = self._client.register_script(_SPEND)

    def __repr__(self) -> str:
        return f"RedisCallQuota(limit={self.limit}, window={self.window}, key={self.key!r})"

    async def take(self) -> bool:
        """Spend one request of the fleet's budget; False when it is spent (in this window)."""
        try:
            taken, repaired = await self._run(
                "the quota script", self._spend, [self.key], self._args
            )
        except RedisUnavailableError as error:
            return await self._fall_back(error, self._fallback).take()
        if repaired:
            logger.warning("the call budget %r was corrupt; started it again", self.key)
        return bool(taken)

    async def used(self) -> int:
        """Requests the fleet has spent so far (in the current window; 0 before the first)."""
        value = await self._run("the quota read", self._client.get, self.key)
        return int(value) if value and value.isdigit() else 0
