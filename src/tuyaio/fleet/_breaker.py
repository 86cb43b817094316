"""What every fleet object shares: a Redis client whose commands never outlast their deadline,
and a breaker that stops a failing Redis from costing every call a timeout."""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

try:
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
except ImportError as _error:  # pragma: no cover - exercised only without the extra
    raise ImportError("tuyaio.fleet needs redis-py: pip install 'tuyaio[redis]'") from _error

from ..validation import check_positive_number
from ._errors import RedisUnavailableError

logger: logging.Logger = logging.getLogger("tuyaio.fleet")

RedisClient: TypeAlias = "aioredis.Redis | RedisCluster"
"""A ``redis.asyncio.Redis`` (one server, or a Sentinel's ``master_for()``) or a
``redis.asyncio.cluster.RedisCluster``."""

_T = TypeVar("_T")

RETRY_FIRST_S = 0.02
"""After a failure, Redis is tried again after this long (jittered: half to all of it) ..."""
RETRY_MAX_S = 0.25
"""... doubling after each failed try, up to this long: an outage costs about its own length."""

POOL_CONNECTIONS = 16
"""Connections of a client made from a URL (one per fleet object, or one per ``Fleet``)."""


def client_from_url(url: str, timeout: float) -> aioredis.Redis:
    """A client of ``POOL_CONNECTIONS`` connections for a ``redis://`` or ``rediss://`` URL."""
    # Many callers at once wait (within the timeout) for one of a few connections; no
    # socket_timeout: run() bounds each command, and redis-py's wait_for is leaky.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_CONNECTIONS,
        timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),  # once, at once: a pooled connection may be stale
    )
    return aioredis.Redis.from_pool(pool)


class Breaker:
    """Whether Redis answers, as the objects sharing one client last saw it.

    While Redis is taken to be down, commands fail at once, but one at a time tries it again
    after a short, growing, jittered delay; any answer closes the breaker.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.down: str | None = None  # why Redis is taken to be down, or None while it answers
        self._clock = clock
        self._rand = rand
        self._failures = 0
        self._retry_at = 0.0
        self._trial = False
        self._watchers: list[asyncio.Future[None]] = []

    def peek(self) -> None:
        """Raise at once while Redis is down, unless it is time to try it again."""
        if self.down is not None and (self._trial or self._now() < self._retry_at):
            raise RedisUnavailableError(detail=f"{self.down} (Redis is tried again shortly)")

    def check(self) -> bool:
        """Like :meth:`peek`; True if this call is the one to try Redis again (it must call
        :meth:`trial_done` when its command has ended)."""
        self.peek()
        self._trial = self.down is not None
        if self._trial:
            self._notify()
        return self._trial

    def changed(self) -> asyncio.Future[None]:
        """A future done when Redis is next taken to be down or tried again (cancel it when
        no longer needed)."""
        watcher = asyncio.get_running_loop().create_future()
        self._watchers = [w for w in self._watchers if not w.done()]
        self._watchers.append(watcher)
        return watcher

    def _notify(self) -> None:
        watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            if not watcher.done():
                watcher.set_result(None)

    def trial_done(self) -> None:
        """The try of Redis started by :meth:`check` has ended."""
        self._trial = False

    def trip(self, why: str, took: float = 0.0) -> RedisUnavailableError:
        """Redis failed (after ``took`` seconds): take it to be down until the next try, which
        comes no sooner than that again, so that a hung Redis costs at most every other
        stretch of time a caller its wait."""
        self.down = why
        delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2**self._failures)
        self._failures = min(self._failures + 1, 16)
        self._retry_at = self._now() + max(delay * (0.5 + self._rand() / 2), took)
        self._notify()
        return RedisUnavailableError(detail=why)

    @property
    def retry_at(self) -> float:
        """When Redis is tried again (on the breaker's clock), once it is down."""
        return self._retry_at

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def answered(self) -> None:
        """Redis answered (perhaps with an error): it is up."""
        self.down = None
        self._failures = 0


_BREAKERS: weakref.WeakKeyDictionary[Any, Breaker] = weakref.WeakKeyDictionary()


def breaker_for(client: RedisClient) -> Breaker:
    """The one breaker of every fleet object that uses ``client``."""
    breaker = _BREAKERS.get(client)
    if breaker is None:
        breaker = _BREAKERS[client] = Breaker()
    return breaker


def refused(error: RedisUnavailableError, reply: str = "") -> bool:
    """True if Redis answered with an error (starting with ``reply``): a refusal, not an outage."""
    cause = error.__cause__
    return isinstance(cause, aioredis.ResponseError) and str(cause).startswith(reply)


class RedisBacked:
    """A fleet object on a Redis client: commands bounded by ``timeout`` (a hung one is
    abandoned), the client's breaker, and an optional fall-back to this worker alone."""

    _alone = ""  # what the worker does while it falls back
    _shared = ""  # what it does again once Redis answers

    def __init__(self, client: RedisClient | str, timeout: float) -> None:
        self._timeout = check_positive_number("timeout", timeout)
        self._owned = isinstance(client, str)
        if isinstance(client, str):
            self._client: RedisClient = client_from_url(client, self._timeout)
        elif isinstance(client, aioredis.Redis | RedisCluster):
            self._client = client
        else:
            kind = type(client).__name__
            raise TypeError(
                "redis must be a redis.asyncio.Redis, a redis.asyncio.cluster.RedisCluster or a "
                f"redis:// URL, got {kind}"
            )
        self._breaker = breaker_for(self._client)
        self._fallen_back = False
        self._abandoned: set[asyncio.Future[Any]] = set()

    @property
    def cluster(self) -> bool:
        """True on Redis Cluster."""
        return isinstance(self._client, RedisCluster)

    async def aclose(self) -> None:
        """Close the Redis client if it was made from a URL (after commands given up on)."""
        if self._abandoned:  # let them finish cancelling, for a second at most
            await asyncio.wait(set(self._abandoned), timeout=1.0)
        if self._owned:
            await self._client.aclose()

    def _check_up(self) -> None:
        """Raise at once while Redis is down, unless it is time to try it again."""
        self._breaker.peek()

    def _late(self, what: str, took: float = 0.0) -> RedisUnavailableError:
        why = f"Redis did not answer {what} within {self._timeout:g} s"
        return self._breaker.trip(why, took)

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
        loop = asyncio.get_running_loop()
        started = loop.time()
        left = self._timeout if deadline is None else deadline - started
        trial = self._breaker.check()
        task = asyncio.ensure_future(call(*args))
        try:
            await asyncio.wait({task}, timeout=max(0.0, left))
        finally:
            if trial:
                self._breaker.trial_done()
            if not task.done():
                task.cancel()
                self._abandoned.add(task)
                task.add_done_callback(self._forget)
        if not task.done():
            raise self._late(what, loop.time() - started)
        try:
            result = task.result()
        except (aioredis.RedisError, OSError) as error:
            why = f"{what}: {type(error).__name__}: {error}"
            if isinstance(error, aioredis.ResponseError):  # an answer: Redis is up
                self._breaker.answered()
                raise RedisUnavailableError(detail=f"Redis refused {why}") from error
            raise self._breaker.trip(f"Redis failed {why}", loop.time() - started) from error
        self._breaker.answered()
        if self._fallen_back:
            self._fallen_back = False
            logger.warning("Redis answers again; %s", self._shared)
        return result

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: an abandoned command's failure is no one's concern


def text(value: bytes | str) -> str:
    """A Redis reply as text."""
    return value.decode() if isinstance(value, bytes) else value
