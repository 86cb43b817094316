"""RedisRateLimiter: one request rate for a fleet, booked on a GCRA schedule in Redis."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

from ..ratelimit import TokenBucket
from ..validation import check_count, check_positive_number
from . import _scripts
from ._breaker import RedisBacked, RedisClient, logger
from ._errors import RedisUnavailableError


class RedisRateLimiter(RedisBacked):
    """A fleet-wide request rate in Redis: ``rate`` requests per second, bursts of ``burst``.

    For ``TuyaClient(rate_limit=...)``: workers that pass the same ``key`` (the project's
    client_id) share one limit, at most ``rate + burst`` requests in any second, booked in order
    by a Lua script on a GCRA schedule timed by Redis's clock. A limiter books one slot at a time
    (its callers queue), so a worker that dies leaves one slot unused at most; the ``timeout``
    for Redis counts the commands of the callers queued before a call too. With
    ``local_fallback_rate``, a worker paces itself alone while Redis fails (bursts of ``burst``),
    and a caller still waiting for its local turn when Redis answers again books a fleet slot
    too. No call waits more than ``max_wait`` for its slot (default: 60 s, or 100 intervals if
    longer): a schedule further ahead starts again, so ``max_wait`` must exceed the number of
    limiters times ``1 / rate``.
    """

    _alone = "pacing this worker alone"
    _shared = "pacing with the fleet"

    def __init__(
        self,
        redis: RedisClient | str,
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
            self._fallback = TokenBucket(fallback_rate, self._burst)
        if max_wait is None:
            max_wait = max(60.0, 100 / self._rate)
        self._max_wait = check_positive_number("max_wait", max_wait)
        self._name = f"{prefix}:rate:{key}"
        interval_us = 1_000_000 / self._rate
        waits_us = (interval_us, interval_us * (burst - 1), self._max_wait * 1_000_000)
        self._args = [math.ceil(us) for us in waits_us]
        self._gcra = self._client.register_script(_scripts.GCRA)
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
            return
        except RedisUnavailableError as error:
            fallback = self._fall_back(error, self._fallback)
        await fallback.acquire()
        if self._breaker.down is None:
            # Redis came back while this caller waited its local turn: it books a slot of the
            # fleet's too, or the local queue would drain on top of the fleet's rate.
            with contextlib.suppress(RedisUnavailableError):
                await self._book()

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
                # Woken too when Redis is tried again: a trial in flight sends the queue to
                # the fallback at once rather than after each caller's timeout.
                changed = self._breaker.changed()
                waiting: set[asyncio.Future[Any]] = {turn, changed}
                await asyncio.wait(
                    waiting,
                    timeout=left + max(0.0, self._pacing_until - now),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                changed.cancel()
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
