"""Client-side pacing: a limiter protocol, a local token bucket, and the reaction to 1199.

Not ``aiolimiter``: its rate is fixed when built, and the adaptive pace changes at run time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from .validation import check_count, check_positive_number

__all__ = ["AdaptiveThrottle", "RateLimiter", "TokenBucket"]


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that can make an attempt wait for its turn (local, or shared through Redis)."""

    async def acquire(self) -> None:
        """Return when one more request may be sent."""
        ...


class TokenBucket:
    """``rate`` requests per second with bursts of up to ``burst`` (default: the rate, at least 1).

    Waiters are served in order, and nothing is reserved before a waiter's turn.
    """

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rate = check_positive_number("rate", rate)
        if burst is not None:
            check_count("burst", burst, minimum=1)
        self._clock = clock
        self._sleep = sleep
        self._burst = float(burst if burst is not None else max(1, round(self._rate)))
        self._tokens = self._burst
        self._updated = clock()
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self._rate:g}, burst={self._burst:g})"

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self._rate

    def set_rate(self, rate: float) -> None:
        """Change the rate from now on (at least 0.001), keeping the tokens accrued."""
        rate = check_positive_number("rate", rate)
        self._refill()
        self._rate = max(rate, 1e-3)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def _try_take(self) -> bool:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    async def acquire(self) -> None:
        """Wait until a token is available, then take it."""
        if not self._lock.locked() and self._try_take():
            return
        async with self._lock:
            while not self._try_take():
                await self._sleep((1.0 - self._tokens) / self._rate)


class AdaptiveThrottle:
    """Slows the client down when the server says it is going too fast, then speeds up again.

    Unlimited until, within the last ``window`` seconds, at least ``trigger`` of the answers (and
    ``min_rejections``) were rate-limit answers: then the pace is ``decrease`` times the rate the
    server accepted (cut again at most every ``cooldown`` s). Each calm window raises it, by
    ``increase`` after the first, then doubling; it is lifted at twice what the client uses.
    """

    def __init__(
        self,
        *,
        window: float = 1.0,
        trigger: float = 0.1,
        min_rejections: int = 3,
        decrease: float = 0.9,
        increase: float = 0.1,
        cooldown: float = 0.5,
        min_rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._window = window
        self._trigger = trigger
        self._min_rejections = min_rejections
        self._decrease = decrease
        self._increase = increase
        self._cooldown = cooldown
        self._min_rate = min_rate
        self._clock = clock
        self._sleep = sleep
        self._answers: deque[float] = deque()
        self._rejected: deque[float] = deque()
        self._bucket: TokenBucket | None = None
        self._next_cut = -math.inf
        self._calm_since = 0.0
        self._calm_windows = 0

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second, or ``None`` when unlimited."""
        return None if self._bucket is None else self._bucket.rate

    @property
    def limited(self) -> bool:
        """True while a pace is set (:meth:`acquire` may wait)."""
        return self._bucket is not None

    async def acquire(self) -> None:
        """Wait for the adaptive pace (returns at once while unlimited)."""
        if self._bucket is not None:
            await self._bucket.acquire()

    def record(self, *, rate_limited: bool) -> None:
        """One answer from the server: was it a rate-limit answer?"""
        now = self._clock()
        self._answers.append(now)
        if rate_limited:
            self._rejected.append(now)
        oldest = now - self._window
        while self._answers[0] < oldest:
            self._answers.popleft()
        while self._rejected and self._rejected[0] < oldest:
            self._rejected.popleft()
        rejections = len(self._rejected)
        if self._bucket is None and not rate_limited:
            return  # unlimited and calm: nothing to decide
        accepted_rate = (len(self._answers) - rejections) / self._window
        if rate_limited:
            if (
                now >= self._next_cut
                and rejections >= self._min_rejections
                and rejections >= self._trigger * len(self._answers)
            ):
                self._slow_down(max(self._min_rate, accepted_rate * self._decrease))
                self._next_cut, self._calm_since = now + self._cooldown, now
                self._calm_windows = 0
        elif self._bucket is not None and now - self._calm_since >= self._window:
            self._calm_since = now
            if rejections:
                self._calm_windows = 0
            elif self._bucket.rate > 2 * accepted_rate:
                self._bucket = None
            else:
                self._calm_windows += 1
                factor = 1 + self._increase if self._calm_windows < 2 else 2.0
                self._bucket.set_rate(self._bucket.rate * factor)

    def _slow_down(self, rate: float) -> None:
        if self._bucket is None:
            self._bucket = TokenBucket(rate, 1, clock=self._clock, sleep=self._sleep)
        elif rate < self._bucket.rate:
            self._bucket.set_rate(rate)
