"""The adaptive reaction to rate-limit answers, on a made-up clock (the client drives the same
throttle against the sandbox in test_resilience.py)."""

from __future__ import annotations

import pytest

from tuyaio.ratelimit import AdaptiveThrottle


class FakeTime:
    """A clock that moves only when told to, or when something sleeps on it (a sleep, like a real
    one, lasts a little longer than asked, so a wait rounded to nothing still ends)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + 1e-9
        self.slept += seconds + 1e-9


def answers(
    throttle: AdaptiveThrottle, clock: FakeTime, *, per_second: float, seconds: float
) -> None:
    """Accepted answers at an even pace, for ``seconds``."""
    for _ in range(round(per_second * seconds)):
        clock.now += 1 / per_second
        throttle.record(rate_limited=False)


async def test_a_burst_of_rejections_sets_a_pace_that_is_raised_and_then_lifted() -> None:
    clock = FakeTime()
    throttle = AdaptiveThrottle(clock=clock, sleep=clock.sleep)
    answers(throttle, clock, per_second=100, seconds=1.0)
    throttle.record(rate_limited=True)
    throttle.record(rate_limited=True)
    assert throttle.rate is None, "a stray rejection or two slows nothing down"
    await throttle.acquire()
    assert clock.slept == 0

    for _ in range(20):  # a burst: 10 % of the window's answers and more
        throttle.record(rate_limited=True)
    assert throttle.limited
    assert throttle.rate == pytest.approx(0.9 * 100)  # 0.9 × what the server accepted

    await throttle.acquire()
    await throttle.acquire()
    assert clock.slept == pytest.approx(1 / throttle.rate)  # the pace is kept

    paced = throttle.rate
    answers(throttle, clock, per_second=80, seconds=1.2)  # a calm window at about that pace
    assert paced < throttle.rate <= paced * 1.1 + 1e-9  # raised by 10 %, not lifted
    raised = throttle.rate
    answers(throttle, clock, per_second=80, seconds=1.2)
    assert raised < throttle.rate  # raised again per calm window

    answers(throttle, clock, per_second=10, seconds=2.5)  # twice what the client now uses
    assert throttle.rate is None
    assert not throttle.limited


async def test_a_pace_is_cut_again_at_most_once_per_cooldown() -> None:
    clock = FakeTime()
    throttle = AdaptiveThrottle(clock=clock, sleep=clock.sleep)
    answers(throttle, clock, per_second=100, seconds=1.0)
    for _ in range(20):
        throttle.record(rate_limited=True)
    first = throttle.rate
    assert first is not None
    for _ in range(50):  # more rejections at once: no further cut within the cooldown
        throttle.record(rate_limited=True)
    assert throttle.rate == first
    clock.now += 0.6  # past the cooldown, still rejected: cut again, never below min_rate
    for _ in range(5):
        throttle.record(rate_limited=True)
    assert 1.0 <= throttle.rate < first
