"""Client-side pacing: a limiter protocol, a local token bucket, and the reaction to 1199.

Evaluated ``aiolimiter`` first: its leaky bucket fixes the rate when it is built, and the adaptive
reaction to the server's rate-limit codes needs a rate that changes at run time, so one small
token bucket serves both the user's limit and the adaptive one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

__all__ = ["AdaptiveThrottle", "RateLimiter", "TokenBucket"]


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that can make an attempt wait for its turn (local, or shared through Redis)."""

    async def acquire(self) -> None:
        """Return when one more request may be sent."""
        ...


class TokenBucket:
    """``rate`` requests per second with bursts of up to ``burst``; waiters are served in order.

    Nothing is reserved before a waiter gets its turn, so a cancelled waiter costs nothing.
    """

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0, got {rate!r}")
        if burst is not None and burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self._clock = clock
        self._sleep = sleep
        self._rate = float(rate)
        self._burst = float(burst if burst is not None else max(1, round(rate)))
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
        """Change the rate from now on (tokens already accrued are kept, up to the burst)."""
        self._refill()
        self._rate = max(float(rate), 1e-3)

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

    Unlimited until the first rate-limit answer. Then the pace is set a little under the rate the
    server accepted over the last second, cut again on each further rejection (at most once per
    ``cooldown``), and raised by ``increase`` per second without rejections until it is lifted.
    """

    def __init__(
        self,
        *,
        decrease: float = 0.85,
        increase: float = 0.05,
        cooldown: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._decrease = decrease
        self._increase = increase
        self._cooldown = cooldown
        self._clock = clock
        self._sleep = sleep
        self._bucket: TokenBucket | None = None
        self._last_cut = -float("inf")
        self._last_raise = 0.0
        self._window_start = clock()
        self._accepted_in_window = 0
        self._accepted_rate = 0.0

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second, or ``None`` when unlimited."""
        return None if self._bucket is None else self._bucket.rate

    async def acquire(self) -> None:
        """Wait for the adaptive pace (returns at once while unlimited)."""
        if self._bucket is not None:
            await self._bucket.acquire()

    def on_accepted(self) -> None:
        """An attempt got through the server's rate limiter."""
        now = self._clock()
        self._accepted_in_window += 1
        elapsed = now - self._window_start
        if elapsed >= 1.0:
            self._accepted_rate = self._accepted_in_window / elapsed
            self._window_start, self._accepted_in_window = now, 0
        bucket = self._bucket
        if bucket is not None and now - self._last_cut >= 1.0 and now - self._last_raise >= 1.0:
            self._last_raise = now
            if bucket.rate >= 2 * max(self._accepted_rate, 1.0):
                self._bucket = None
            else:
                bucket.set_rate(bucket.rate * (1.0 + self._increase))

    def on_rate_limited(self) -> None:
        """The server refused an attempt for going too fast."""
        now = self._clock()
        if now - self._last_cut < self._cooldown:
            return
        self._last_cut = now
        elapsed = now - self._window_start
        recent = self._accepted_in_window / elapsed if elapsed >= 0.2 else self._accepted_rate
        if self._bucket is None:
            rate = max(1.0, max(recent, self._accepted_rate) * self._decrease)
            self._bucket = TokenBucket(rate, 1, clock=self._clock, sleep=self._sleep)
        else:
            self._bucket.set_rate(max(1.0, self._bucket.rate * self._decrease))
