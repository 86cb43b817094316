"""RedisRateLimiter against a real redis-server: one schedule for every worker, on Redis's clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from tuyaio.fleet import RedisRateLimiter, RedisUnavailableError
from tuyaio.ratelimit import RateLimiter

from .conftest import CLOCKS_US, Timing, redis_now_us, schedule_snapshot

LimiterFactory = Callable[..., RedisRateLimiter]


@pytest.fixture
async def make_limiter(redis_url: str) -> AsyncIterator[LimiterFactory]:
    """Limiters with their own Redis connections, as separate workers would have."""
    limiters: list[RedisRateLimiter] = []

    def make(rate: float, burst: int = 1, **options: object) -> RedisRateLimiter:
        options.setdefault("key", "fleet-client-id")
        url = options.pop("url", redis_url)
        limiter = RedisRateLimiter(url, rate, burst, **options)  # type: ignore[arg-type]
        limiters.append(limiter)
        return limiter

    yield make
    for limiter in limiters:
        await limiter.aclose()


async def _grant_times(limiters: list[RedisRateLimiter], per_limiter: int) -> list[float]:
    """Every limiter is asked by ``per_limiter`` concurrent callers; when each was let through."""
    times: list[float] = []

    async def one(limiter: RedisRateLimiter) -> None:
        await limiter.acquire()
        times.append(time.monotonic())

    await asyncio.gather(*(one(limiter) for limiter in limiters for _ in range(per_limiter)))
    return sorted(times)


def _most_in_any_window(times: list[float], width: float) -> int:
    return max(sum(1 for t in times[i:] if t < start + width) for i, start in enumerate(times))


async def test_implements_the_rate_limiter_protocol(make_limiter: LimiterFactory) -> None:
    assert isinstance(make_limiter(10), RateLimiter)


async def _schedule_us(redis_client: aioredis.Redis, key: str = "fleet-client-id") -> int:
    value = await redis_client.get(f"tuyaio:rate:{key}")
    assert value is not None
    return int(value)


async def test_workers_sharing_a_key_share_one_limit(
    make_limiter: LimiterFactory, redis_client: aioredis.Redis, timing: Timing
) -> None:
    workers = [make_limiter(40) for _ in range(4)]
    before = await redis_now_us(redis_client)
    times = await _grant_times(workers, 15)  # 60 requests at 40/s: 1.5 s
    after = await redis_now_us(redis_client)
    assert len(times) == 60
    # Every grant booked one slot of 25 ms on the one schedule, on Redis's clock, and the last
    # slot had begun when its caller was let through: 60 slots in a row, however busy the machine.
    assert before + 60 * 25_000 <= await _schedule_us(redis_client) <= after + 25_000 + CLOCKS_US
    if timing.checked:  # as the callers saw it
        assert _most_in_any_window(times, 0.5) <= 40 * 0.5 + 2
        assert times[-1] - times[0] >= 59 / 40 - 0.05


async def test_burst_lets_that_many_through_at_once(
    make_limiter: LimiterFactory, redis_client: aioredis.Redis, timing: Timing
) -> None:
    limiters = [make_limiter(10, 5), make_limiter(10, 5)]
    waited: list[float] = []
    for limiter in limiters:
        original = limiter._gcra

        async def booked(*args: object, _original: object = original) -> list[int]:
            wait_us, repaired = await _original(*args)  # type: ignore[operator]
            waited.append(int(wait_us))
            return [wait_us, repaired]

        limiter._gcra = booked  # type: ignore[assignment]
    before = await redis_now_us(redis_client)
    times = await _grant_times(limiters, 4)
    # The first five slots are free, and every slot takes 0.1 s of the schedule.
    assert sorted(waited)[:5] == [0] * 5
    assert await _schedule_us(redis_client) >= before + 8 * 100_000
    if timing.checked:
        assert times[4] - times[0] < 0.05  # the burst
        assert times[5] - times[0] >= 0.08  # then one every 0.1 s
        assert _most_in_any_window(times, 0.5) <= 5 + 5


async def test_keys_are_separate_limits(
    make_limiter: LimiterFactory, redis_client: aioredis.Redis, timing: Timing
) -> None:
    before = await redis_now_us(redis_client)
    times = await _grant_times([make_limiter(5, key="a"), make_limiter(5, key="b")], 1)
    after = await redis_now_us(redis_client)
    for key in ("a", "b"):  # each one slot of 0.2 s ahead on its own schedule
        assert before + 200_000 <= await _schedule_us(redis_client, key) <= after + 200_000
    timing.below(times[1] - times[0], 0.05, "the second key's wait")


async def test_the_schedule_is_kept_on_redis_time_and_expires(
    make_limiter: LimiterFactory, redis_client: aioredis.Redis
) -> None:
    limiter = make_limiter(2, key="cid")
    before = await redis_now_us(redis_client)
    await limiter.acquire()
    now, tat, pttl = await schedule_snapshot(redis_client, "tuyaio:rate:cid")
    assert before + 500_000 <= tat <= now + 500_000
    assert pttl != -1
    assert pttl <= 1500


async def test_cancelled_callers_stop(make_limiter: LimiterFactory) -> None:
    """A cancellation that lands inside a Redis command is honoured, never turned into a retry."""
    limiter = make_limiter(2000)

    async def caller() -> None:
        while True:
            await limiter.acquire()

    for round_ in range(60):
        callers = [asyncio.create_task(caller()) for _ in range(20)]
        await asyncio.sleep(0.001 + round_ % 10 * 0.002)
        for task in callers:
            task.cancel()
        _, pending = await asyncio.wait(callers, timeout=2)
        assert not pending
        assert all(task.cancelled() for task in callers)


async def test_redis_down_is_a_clear_error(
    make_limiter: LimiterFactory, dead_redis_url: str, timing: Timing
) -> None:
    limiter = make_limiter(10, url=dead_redis_url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RedisUnavailableError, match="rate-limit script"):
        await limiter.acquire()
    timing.below(time.monotonic() - started, 1.0, "the refusal")


async def test_local_fallback_paces_this_worker_alone(
    make_limiter: LimiterFactory, dead_redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = make_limiter(10, url=dead_redis_url, timeout=0.5, local_fallback_rate=50)
    times = await _grant_times([limiter], 3)
    assert len(times) == 3
    assert sum("pacing this worker alone" in r.getMessage() for r in caplog.records) == 1


def test_bad_arguments_are_refused() -> None:
    url = "redis://127.0.0.1:1/0"
    with pytest.raises(ValueError, match="rate"):
        RedisRateLimiter(url, 0, key="k")
    with pytest.raises(ValueError, match="burst"):
        RedisRateLimiter(url, 10, 0, key="k")
    with pytest.raises(ValueError, match="key"):
        RedisRateLimiter(url, 10, key="")
    assert repr(RedisRateLimiter(url, 10, key="k")) == (
        "RedisRateLimiter(rate=10, burst=1, key='tuyaio:rate:k')"
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((float("nan"),), {}, ValueError, "rate"),
        ((float("inf"),), {}, ValueError, "rate"),
        ((True,), {}, TypeError, "rate"),
        (("10",), {}, TypeError, "rate"),
        ((10, True), {}, TypeError, "burst"),
        ((10, 2.0), {}, TypeError, "burst"),
        ((10,), {"timeout": float("nan")}, ValueError, "timeout"),
        ((10,), {"timeout": True}, TypeError, "timeout"),
        ((10,), {"local_fallback_rate": 0}, ValueError, "local_fallback_rate"),
        ((10,), {"local_fallback_rate": float("inf")}, ValueError, "local_fallback_rate"),
        ((10,), {"local_fallback_rate": True}, TypeError, "local_fallback_rate"),
        ((10,), {"local_fallback_rate": "5"}, TypeError, "local_fallback_rate"),
        ((10,), {"max_wait": 0}, ValueError, "max_wait"),
        ((10,), {"max_wait": float("nan")}, ValueError, "max_wait"),
        ((10,), {"max_wait": True}, TypeError, "max_wait"),
    ],
)
def test_bad_limiter_arguments_name_the_argument(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RedisRateLimiter("redis://127.0.0.1:1/0", *args, key="k", **kwargs)  # type: ignore[arg-type]
