"""The adaptive throttle's decisions on a made-up clock: when it sets a pace, how far it cuts,
how fast it recovers, and when it concludes that rate-limit answers do not follow its pace.

No wall clock anywhere: answers are fed at chosen instants, and a simulated client sends at
``min(demand, pace)`` to a simulated server. The client drives the same throttle against the
sandbox in test_resilience.py; the measured figures are in benchmarks/throttle.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

import tuyaio
from tuyaio.ratelimit import AdaptiveThrottle, ThrottlePolicy

KEEP = 1 - ThrottlePolicy().backoff
"""What a cut keeps of the rate the server accepted."""


class FakeTime:
    """A clock that moves only when told to, or when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + 1e-9
        self.slept += seconds + 1e-9


class Limit:
    """A server that accepts ``rate`` requests a second with bursts of ``burst`` (1199 above)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, 0.0

    def accepts(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def every(n: int) -> Iterator[bool]:
    """Exactly one rate-limit answer in ``n``, evenly spread."""
    return (i % n == n - 1 for i in itertools.count())


def run(
    throttle: AdaptiveThrottle,
    clock: FakeTime,
    seconds: float,
    demand: float,
    refused: Callable[[float], bool],
) -> tuple[int, int, list[float | None]]:
    """A client that wants ``demand`` requests a second, held to the throttle's pace, for
    ``seconds``; ``refused(now)`` says whether the server answers 1199. Returns the accepted and
    refused answers, and the pace after each 10 ms."""
    step, owed, accepted, rejected = 0.001, 0.0, 0, 0
    paces: list[float | None] = []
    for tick in range(round(seconds / step)):
        clock.now += step
        pace = throttle.rate
        owed = min(
            owed + min(demand, pace if pace is not None else demand) * step, 1.0 + step * demand
        )
        while owed >= 1:
            owed -= 1
            no = refused(clock.now)
            accepted += not no
            rejected += no
            throttle.record(rate_limited=no)
        if tick % 10 == 0:
            paces.append(throttle.rate)
    return accepted, rejected, paces


def sporadic(pattern: Iterator[bool]) -> Callable[[float], bool]:
    return lambda _now: next(pattern)


def make(**policy: float) -> tuple[AdaptiveThrottle, FakeTime]:
    clock = FakeTime()
    throttle = AdaptiveThrottle(ThrottlePolicy(**policy), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    return throttle, clock


@pytest.mark.parametrize(
    ("case", "demand", "pattern"),
    [
        ("calm", 800, itertools.repeat(False)),
        ("3 % evenly spread", 800, every(33)),
        ("3 %, 7 of the first 32 answers", 800, itertools.chain([True] * 7, every(33))),
        ("10 % at a low rate", 30, every(10)),
        ("stray pairs", 100, itertools.cycle([True, True, *[False] * 48])),
    ],
)
def test_sporadic_rejections_set_no_pace(case: str, demand: float, pattern: Iterator[bool]) -> None:
    throttle, clock = make()
    run(throttle, clock, 5.0, demand, sporadic(pattern))
    assert throttle.rate is None, case


def test_a_true_limit_is_found_and_held_with_few_rejections() -> None:
    throttle, clock = make()
    server = Limit(40, 40)
    run(throttle, clock, 1.0, 1000, lambda now: not server.accepts(now))  # found in one round
    accepted, rejected, paces = run(
        throttle, clock, 14.0, 1000, lambda now: not server.accepts(now)
    )
    assert accepted / 14.0 >= 36  # goodput: 90 % of the limit
    assert rejected / (accepted + rejected) <= 0.1  # each probe above it costs a few
    assert all(p is not None and p >= 34 for p in paces)


def one_round(throttle: AdaptiveThrottle, clock: FakeTime, answers: int, rejected: int) -> None:
    """``answers`` in 0.25 s, the first ``rejected`` of them refused; judged at the last one."""
    for index in range(answers):
        clock.now += 0.2501 / (answers - 1) if index else 0.001
        throttle.record(rate_limited=index < rejected)


@pytest.mark.parametrize(
    ("answers", "rejected", "pace"),
    [
        (19, 10, None),  # too few answers to judge
        (40, 7, None),  # under 20 %
        (40, 2, None),  # too few rate-limit answers
        (40, 8, KEEP * 32 / 0.25),  # 20 %: 0.85 × what the server accepted
        (100, 90, KEEP * 10 / 0.25),
        (100, 100, 1.0),  # nothing accepted: min_rate
    ],
)
def test_one_round_decides(answers: int, rejected: int, pace: float | None) -> None:
    throttle, clock = make()
    one_round(throttle, clock, answers, rejected)
    assert throttle.rate == (pace if pace is None else pytest.approx(pace, rel=0.01))


def test_the_pace_grows_back_slowly_near_the_accepted_rate_then_fast() -> None:
    throttle, clock = make()
    one_round(throttle, clock, 100, 50)
    ceiling = 50 / 0.2501
    assert throttle.rate == pytest.approx(KEEP * ceiling)
    b = 1 - KEEP
    expected = {0.5: 1 - b / 8, 1.0: 1.0, 2.0: 1 + b, 2.5: 1 + b * 3.375, 3.5: 4 * (1 + b * 3.375)}
    for after, growth in expected.items():
        clock.now = 100.2511 + after
        assert throttle.rate == pytest.approx(ceiling * growth, rel=1e-3), after


def test_a_limit_found_again_is_probed_three_times_more_slowly() -> None:
    throttle, clock = make()
    one_round(throttle, clock, 100, 50)  # the server accepted 200/s
    clock.now += 2.0  # the pace is 15 % above that
    one_round(throttle, clock, 100, 50)  # and it accepted 200/s again: the same limit
    cut_at, ceiling = clock.now, 50 / 0.2501
    assert throttle.rate == pytest.approx(KEEP * ceiling)
    clock.now = cut_at + 3.0
    assert throttle.rate == pytest.approx(ceiling)
    clock.now = cut_at + 6.0
    assert throttle.rate == pytest.approx((2 - KEEP) * ceiling)


def test_recovery_is_measured_in_seconds_after_a_burst_of_rejections() -> None:
    throttle, clock = make()
    run(throttle, clock, 2.0, 3000, sporadic(itertools.repeat(False)))
    run(throttle, clock, 0.5, 3000, sporadic(itertools.cycle([True] * 9 + [False])))
    paced = throttle.rate
    assert paced is not None
    assert paced < 300  # 90 % refused: about 0.85 × the 300/s accepted
    run(throttle, clock, 6.0, 3000, sporadic(itertools.repeat(False)))
    assert throttle.rate is None or throttle.rate >= 2900


def test_a_pace_is_lifted_when_the_client_uses_less_than_half_of_it() -> None:
    throttle, clock = make()
    server = Limit(100, 1)
    run(throttle, clock, 0.3, 1000, lambda now: not server.accepts(now))
    assert throttle.limited
    run(throttle, clock, 2.0, 40, sporadic(itertools.repeat(False)))
    assert not throttle.limited


def test_rejections_that_do_not_follow_the_pace_end_it_and_are_then_tolerated() -> None:
    throttle, clock = make()
    accepted, _, paces = run(throttle, clock, 3.0, 800, sporadic(every(5)))  # 20 %, no limit
    seen = [p for p in paces if p is not None]
    assert seen, "20 % rejected at first looks like a limit"
    assert min(seen) >= 0.25 * 800  # at most a few cuts
    assert throttle.rate is None  # then ended: cutting did not lower the share
    accepted, _, paces = run(throttle, clock, 25.0, 800, sporadic(every(5)))
    assert paces == [None] * len(paces)  # the same share is tolerated for `forget_after`
    assert accepted == pytest.approx(0.8 * 800 * 25, rel=0.01)


def test_a_true_limit_is_still_found_while_a_lower_share_is_tolerated() -> None:
    throttle, clock = make()
    run(throttle, clock, 3.0, 800, sporadic(every(5)))
    assert throttle.rate is None
    server = Limit(40, 40)
    run(throttle, clock, 2.0, 800, lambda now: not server.accepts(now))
    assert throttle.rate is not None
    assert throttle.rate < 60


def test_the_pace_never_goes_below_min_rate() -> None:
    throttle, clock = make(min_rate=5.0, futile_cuts=100)
    run(throttle, clock, 10.0, 1000, sporadic(itertools.cycle([True] * 99 + [False])))
    assert throttle.rate == 5.0


def test_rejections_the_pace_cannot_explain_cut_nothing() -> None:
    throttle, clock = make()
    one_round(throttle, clock, 100, 90)  # paced at 0.85 × 40/s = 34/s
    paced = throttle.rate
    assert paced is not None
    one_round(throttle, clock, 40, 20)  # the server accepted 80/s, more than the pace allows:
    assert throttle.rate > paced  # refusals of requests sent before the pace; no cut


def test_a_pace_left_alone_for_an_hour_is_still_a_number() -> None:
    throttle, clock = make()
    one_round(throttle, clock, 100, 50)
    clock.now += 3600
    assert 1e9 < (throttle.rate or 0) < float("inf")


def test_a_pause_is_left_out_of_the_round() -> None:
    throttle, clock = make()
    for index in range(30):  # 30 answers in 0.1 s, all but the first 2 refused
        clock.now += 0.1 / 30
        throttle.record(rate_limited=index >= 2)
    refused_at = clock.now - 0.1 + 0.1 / 30 * 3
    clock.now += 0.5  # everyone waits, then 12 answers 15 ms apart, accepted
    for _ in range(12):
        clock.now += 0.015
        throttle.record(rate_limited=False)
    # Accepted once refused: 12 answers in the sending time since the first refusal, without the
    # pause (counted in, the pace would be about a third of that).
    refused_for = clock.now - refused_at - 0.515
    assert throttle.rate == pytest.approx(KEEP * 12 / refused_for, rel=0.01)


def test_switched_off_it_never_paces() -> None:
    clock = FakeTime()
    throttle = AdaptiveThrottle(None, clock=clock, sleep=clock.sleep)
    run(throttle, clock, 2.0, 1000, sporadic(itertools.repeat(True)))
    assert throttle.rate is None
    assert not throttle.limited


async def test_acquire_waits_for_the_pace() -> None:
    throttle, clock = make()
    await throttle.acquire()
    assert clock.slept == 0  # unlimited: no wait
    server = Limit(20, 1)
    run(throttle, clock, 0.5, 1000, lambda now: not server.accepts(now))
    pace = throttle.rate
    assert pace is not None
    await throttle.acquire()
    await throttle.acquire()
    assert clock.slept == pytest.approx(1 / pace, rel=0.05)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("trigger", 0.0, ValueError),
        ("trigger", 1.0, ValueError),
        ("backoff", 1.5, ValueError),
        ("window", 0, ValueError),
        ("recovery", float("inf"), ValueError),
        ("min_rate", -1.0, ValueError),
        ("futile_cuts", 0, ValueError),
        ("futile_cuts", 1.5, TypeError),
        ("forget_after", "10", TypeError),
    ],
)
def test_a_bad_setting_is_refused_naming_it(field: str, value: object, error: type) -> None:
    with pytest.raises(error, match=field):
        ThrottlePolicy(**{field: value})  # type: ignore[arg-type]


def test_the_client_takes_a_policy_or_none_and_nothing_else() -> None:
    base = {"client_id": "id", "secret": "s", "base_url": "http://127.0.0.1:1"}
    assert tuyaio.TuyaClient(**base, throttle=None)._transport._throttle is None
    tuyaio.TuyaClient(**base, throttle=ThrottlePolicy(trigger=0.5))
    with pytest.raises(TypeError, match="throttle must be a ThrottlePolicy or None"):
        tuyaio.TuyaClient(**base, throttle=0.5)  # type: ignore[arg-type]
