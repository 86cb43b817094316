"""The adaptive throttle with a fake clock: it slows down on a burst of rate-limit answers and is
back to the pre-burst pace within seconds of the burst's end."""

from __future__ import annotations

from tuyaio.ratelimit import AdaptiveThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(
    throttle: AdaptiveThrottle,
    clock: FakeClock,
    seconds: float,
    demand: float,
    *,
    limited_share: float,
) -> None:
    """``demand`` answers a second for ``seconds``, paced by the throttle; a share are 1199s."""
    step, sent, owed = 0.001, 0, 0.0
    for _ in range(round(seconds / step)):
        clock.now += step
        pace = throttle.rate if throttle.rate is not None else demand
        owed += min(pace, demand) * step
        while owed >= 1:
            owed -= 1
            sent += 1
            throttle.record(rate_limited=(sent * limited_share) % 1 + limited_share >= 1)


def test_a_burst_slows_the_client_down_and_it_recovers_within_seconds() -> None:
    clock = FakeClock()
    throttle = AdaptiveThrottle(clock=clock)
    run(throttle, clock, 3.0, 3000, limited_share=0.0)
    assert throttle.rate is None, "no rate-limit answer: unlimited"
    run(throttle, clock, 2.0, 3000, limited_share=0.9)  # a 2 s burst of 1199s
    during = throttle.rate
    assert during is not None
    assert during < 500
    run(throttle, clock, 8.0, 3000, limited_share=0.0)
    assert throttle.rate is None or throttle.rate >= 2900, throttle.rate


def test_a_stray_rejection_slows_nothing_down() -> None:
    clock = FakeClock()
    throttle = AdaptiveThrottle(clock=clock)
    run(throttle, clock, 2.0, 1000, limited_share=0.001)
    assert throttle.rate is None
