"""Client-side pacing: a limiter protocol, a local token bucket, and the reaction to rate-limit
answers (docs/protocol.md, "Pacing").

Not ``aiolimiter``: its rate is fixed when built, and the adaptive pace changes at run time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import attrs
from attrs.validators import ge, gt, lt

from .validation import check_count, check_number, check_positive_number, field_check

__all__ = ["AdaptiveThrottle", "RateLimiter", "ThrottlePolicy", "TokenBucket"]

logger: logging.Logger = logging.getLogger(__name__)


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

    def _reshape(self, rate: float, burst: float) -> None:
        """Change the rate and the burst from now on, keeping the tokens accrued (up to it)."""
        self._refill()
        self._rate, self._burst = rate, burst
        self._tokens = min(self._tokens, burst)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def _try_take(self) -> bool:
        self._refill()
        # Within rounding of a whole token is one: waiting for the last 1e-17 of it would spin
        # (the wait rounds to nothing on the clock, so no time passes and no token accrues).
        if self._tokens >= 1.0 - 1e-9:
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False

    async def acquire(self) -> None:
        """Wait until a token is available, then take it."""
        if not self._lock.locked() and self._try_take():
            return
        async with self._lock:
            while not self._try_take():
                await self._sleep((1.0 - self._tokens) / self._rate)


_finite = field_check(check_number)
_share: Any = [_finite, gt(0), lt(1)]
_seconds: Any = [_finite, gt(0)]

_MIN_ANSWERS = 20
"""Answers a round needs before it is judged: fewer say too little about a share."""
_MIN_REJECTIONS = 3
"""Rate-limit answers a round needs to count as hot, whatever its share."""
_FELL = 1.0
"""A cut helped when the next hot round's share is below this part of the one before it."""
_CUBIC_UNTIL = 1.5
"""The pace grows cubically until ``recovery`` × (1 + this) after a cut, then 4-fold per
``recovery``: slow near the rate the server accepted, fast once well past it."""
_SAME = 0.15
"""Two accepted rates this close are the same limit, found again."""
_CONFIRMED = 3.0
"""A limit found again is probed this many times more slowly: above it, a server that allows
bursts refuses only once the burst it saved up meanwhile is spent, so a fast probe overshoots."""
_BURST_S = 0.01
"""The pace allows a burst of this many seconds' worth of requests (at least one): a sleep of
less than a millisecond would otherwise cap a fast pace."""


@attrs.frozen(kw_only=True)
class ThrottlePolicy:
    """How a client reacts to rate-limit answers (1110, 1111, 1199, HTTP 429); the details, and
    measured figures, are in docs/protocol.md ("Pacing"). ``TuyaClient(throttle=None)`` turns the
    reaction off (retries still wait out each rate-limit answer).

    The client judges its answers in rounds of at least ``window`` seconds and 20 answers. A
    round is *hot* when at least ``trigger`` of its answers, and at least 3, were rate-limit
    answers. A hot round sets a pace of ``1 - backoff`` times the rate the server accepted in it
    (never below ``min_rate`` requests per second). The pace is back at that rate ``recovery``
    seconds later (three times that when the cut found the same rate as the one before) and
    keeps rising, slowly at first, then 4-fold per ``recovery``, until another hot round; it ends
    when a round with fewer than 3 rate-limit answers shows it twice what the client uses. When
    ``futile_cuts`` cuts did not lower the share of rate-limit answers, they do not follow the
    pace: the pace ends, and for ``forget_after`` seconds only twice that share counts as hot.

    Tuya documents no rate-limit figures: the defaults are a guess, tuned against the sandbox.
    Each field is a finite number (``trigger`` and ``backoff`` between 0 and 1, ``futile_cuts`` an
    int of 1 or more); a bad value is a ValueError or TypeError naming it.
    """

    trigger: float = attrs.field(default=0.2, validator=_share)
    """The share of rate-limit answers in a round that makes it hot."""
    window: float = attrs.field(default=0.25, validator=_seconds)
    """The shortest round, in seconds."""
    backoff: float = attrs.field(default=0.15, validator=_share)
    """How far below the accepted rate a hot round sets the pace."""
    recovery: float = attrs.field(default=1.0, validator=_seconds)
    """Seconds after a cut at which the pace is back at the rate the server accepted."""
    min_rate: float = attrs.field(default=1.0, validator=_seconds)
    """The slowest pace, in requests per second."""
    futile_cuts: int = attrs.field(
        default=2, validator=field_check(lambda name, value: check_count(name, value, minimum=1))
    )
    """Cuts that left the share of rate-limit answers as high as before, before the pace ends."""
    forget_after: float = attrs.field(default=30.0, validator=[_finite, ge(0)])
    """Seconds for which a share of rate-limit answers that did not follow the pace is tolerated."""


class AdaptiveThrottle:
    """Paces a client when the server says it is going too fast, as ``policy`` says; with
    ``policy=None`` it never does. :meth:`record` hears every answer, :meth:`acquire` waits for
    the pace (at once while there is none)."""

    def __init__(
        self,
        policy: ThrottlePolicy | None = ThrottlePolicy(),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if policy is not None and not isinstance(policy, ThrottlePolicy):
            raise TypeError(
                f"throttle must be a ThrottlePolicy or None, got {type(policy).__name__}"
            )
        self.policy: ThrottlePolicy | None = policy
        """How it reacts (``None``: never)."""
        self._clock = clock
        self._sleep = sleep
        # The round being counted: since when, its answers and rate-limit answers, and the answers
        # accepted after its first rate-limit answer (once the server refuses, what it still
        # accepts is its own rate, without the burst it may have allowed first).
        self._started = self._last = self._refused_at = -math.inf
        self._answers = self._rejected = self._accepted_after = 0
        # The pace: the rate the server accepted (``_ceiling``) when it was last cut (``_cut_at``).
        self._bucket: TokenBucket | None = None
        self._ceiling = self._cut_at = 0.0
        self._recovery = 0.0  # seconds back to the ceiling: longer when it was found twice
        # The share of the last hot round (none to compare with when it set the pace).
        self._hot_share = math.inf
        self._futile = 0
        self._tolerated = 0.0
        self._tolerated_until = -math.inf

    def __repr__(self) -> str:
        return f"AdaptiveThrottle({self.policy!r}, rate={self.rate!r})"

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second, or ``None`` when unlimited."""
        return None if self._bucket is None else self._pace(self._clock())

    @property
    def limited(self) -> bool:
        """True while a pace is set (:meth:`acquire` may wait)."""
        return self._bucket is not None

    async def acquire(self) -> None:
        """Wait for the adaptive pace (returns at once while unlimited)."""
        bucket = self._bucket
        if bucket is not None:
            rate = self._pace(self._clock())
            bucket._reshape(rate, max(1.0, rate * _BURST_S))
            await bucket.acquire()

    def record(self, rate_limited: bool) -> None:
        """One answer from the server: was it a rate-limit answer?"""
        policy = self.policy
        if policy is None:
            return
        now = self._clock()
        gap = now - self._last
        if not self._answers:
            self._new_round(now)  # a round starts at its first answer
        elif gap > policy.window and gap * self._answers >= 4 * (self._last - self._started):
            self._started += gap  # a pause, which says nothing about the server, is left out
            self._refused_at += gap
        self._last = now
        self._answers += 1
        if rate_limited:
            self._rejected += 1
            if self._rejected == 1:
                self._refused_at = now
        elif self._rejected:
            self._accepted_after += 1
        if now - self._started >= policy.window and self._answers >= _MIN_ANSWERS:
            if self._rejected or self._bucket is not None:
                self._judge(policy, now)
            self._new_round(now)

    def _new_round(self, now: float) -> None:
        self._started, self._refused_at = now, math.inf
        self._answers = self._rejected = self._accepted_after = 0

    def _pace(self, now: float) -> float:
        policy = self.policy
        assert policy is not None
        x = (now - self._cut_at) / self._recovery - 1.0
        if x <= _CUBIC_UNTIL:
            growth = 1.0 + policy.backoff * x * x * x
        else:
            growth = (1.0 + policy.backoff * _CUBIC_UNTIL**3) * 4.0 ** min(x - _CUBIC_UNTIL, 100)
        return max(policy.min_rate, self._ceiling * growth)

    def _judge(self, policy: ThrottlePolicy, now: float) -> None:
        answers, rejected, elapsed = self._answers, self._rejected, now - self._started
        share = rejected / answers
        trigger = policy.trigger
        if now < self._tolerated_until:
            trigger = max(trigger, 2 * self._tolerated)
        paced = self._bucket is not None
        if rejected < _MIN_REJECTIONS or share < trigger:
            if (  # lifted only without rate-limit answers: they keep a client in back-off
                paced
                and rejected < _MIN_REJECTIONS
                and now - self._cut_at >= self._recovery
                and self._pace(now) >= 2 * answers / elapsed
            ):
                logger.debug("pace lifted: calm at %.1f req/s", answers / elapsed)
                self._bucket = None
            return
        accepted = (answers - rejected) / elapsed
        if paced and accepted >= self._pace(max(self._started, self._cut_at)):
            return  # the server accepted all the pace allows: requests sent before it were refused
        recent = paced and now - self._cut_at < self._recovery
        if recent and share >= _FELL * self._hot_share:
            self._futile += 1
            if self._futile >= policy.futile_cuts:
                logger.debug(
                    "pace lifted: %.0f %% of answers rate-limited whatever the pace", share * 100
                )
                self._bucket = None
                self._tolerated, self._tolerated_until = share, now + policy.forget_after
                return
        elif not recent:
            self._futile = 0
        refused_for = now - self._refused_at
        if refused_for >= policy.window / 2:
            accepted = max(self._accepted_after / refused_for, accepted * (1.0 - share))
        ceiling = min(accepted, self._pace(now)) if paced else accepted
        ceiling = max(ceiling, policy.min_rate)  # growth from a ceiling of 0 would stay at 0
        confirmed = paced and abs(ceiling - self._ceiling) <= _SAME * self._ceiling
        self._recovery = policy.recovery * (_CONFIRMED if confirmed else 1.0)
        self._ceiling, self._cut_at, self._hot_share = ceiling, now, share
        rate = self._pace(now)
        if self._bucket is None:
            self._hot_share = math.inf
            self._bucket = TokenBucket(
                rate, max(1, int(rate * _BURST_S)), clock=self._clock, sleep=self._sleep
            )
        logger.debug(
            "paced at %.1f req/s: %d of %d answers rate-limited in %.2f s (%.2f s since the first)",
            rate,
            rejected,
            answers,
            elapsed,
            refused_for,
        )
