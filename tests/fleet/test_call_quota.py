"""RedisCallQuota: one budget of requests for a fleet, counted atomically in a real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from tuyaio import CallBudgetExceededError, TuyaClient
from tuyaio.fleet import RedisCallQuota, RedisUnavailableError
from tuyaio.quota import CallQuota
from tuyaio.sandbox import Sandbox

from ..conftest import ClientFactory
from .conftest import OwnRedis, Timing

QuotaFactory = Callable[..., RedisCallQuota]


@pytest.fixture
async def make_quota() -> AsyncIterator[QuotaFactory]:
    """``make_quota(redis, key, limit, ...)``: quotas closed at the end of the test."""
    made: list[RedisCallQuota] = []

    def make(*args: object, **kwargs: object) -> RedisCallQuota:
        quota = RedisCallQuota(*args, **kwargs)  # type: ignore[arg-type]
        made.append(quota)
        return quota

    yield make
    for quota in made:
        await quota.aclose()


async def _until_refused(client: TuyaClient, project: str) -> int:
    """List tasks until the budget refuses; the number of calls that went through."""
    done = 0
    while True:
        try:
            await client.maintenance.list_tasks(project, page_size=1)
        except CallBudgetExceededError:
            return done
        done += 1


async def test_two_clients_sharing_a_key_are_refused_at_the_fleet_total(
    sandbox: Sandbox,
    make_client: ClientFactory,
    make_quota: QuotaFactory,
    redis_url: str,
    redis_client: aioredis.Redis,
) -> None:
    first = make_quota(redis_url, "project-a", 12)
    second = make_quota(redis_url, "project-a", 12)
    assert isinstance(first, CallQuota)
    one = await make_client(sandbox, call_quota=first)
    two = await make_client(sandbox, call_quota=second)
    project = sandbox.project_id

    calls = await asyncio.gather(_until_refused(one, project), _until_refused(two, project))

    # Each client's token grant is a request of the budget too: 12 in all, 10 listings.
    assert sum(calls) == 10
    assert one.usage.attempts + two.usage.attempts == 12
    assert await first.used() == await second.used() == 12
    assert int(await redis_client.get(first.key)) == 12
    with pytest.raises(CallBudgetExceededError) as refused:
        await one.maintenance.list_tasks(project)
    assert "RedisCallQuota(limit=12" in str(refused.value)
    assert await redis_client.ttl(first.key) == -1  # no window: the budget lasts
    other = make_quota(redis_url, "project-b", 1)
    assert await other.take() is True  # another key, another budget


async def test_concurrent_requests_never_spend_past_the_limit(
    make_quota: QuotaFactory, redis_url: str
) -> None:
    quotas = [make_quota(redis_url, "burst", 25) for _ in range(4)]
    taken = await asyncio.gather(*(quotas[n % 4].take() for n in range(100)))
    assert taken.count(True) == 25
    assert await quotas[0].used() == 25


async def test_a_window_expires_and_a_new_budget_starts(
    make_quota: QuotaFactory, redis_url: str, redis_client: aioredis.Redis
) -> None:
    quota = make_quota(redis_url, "windowed", 3, window=0.3)
    assert [await quota.take() for _ in range(4)] == [True, True, True, False]
    assert await redis_client.pttl(quota.key) != -1  # (-2 once it has expired)
    assert await redis_client.pttl(quota.key) <= 300
    await asyncio.sleep(0.35)
    assert await quota.used() == 0
    assert await quota.take() is True
    await redis_client.persist(quota.key)  # a window without TTL would never end: repaired
    assert await quota.take() is True
    assert await redis_client.pttl(quota.key) != -1
    assert await redis_client.pttl(quota.key) <= 300


async def test_a_corrupt_key_is_repaired(
    make_quota: QuotaFactory, redis_url: str, redis_client: aioredis.Redis
) -> None:
    quota = make_quota(redis_url, "corrupt", 2)
    await redis_client.set(quota.key, "not a number")
    assert await quota.take() is True
    await redis_client.delete(quota.key)
    await redis_client.lpush(quota.key, "x")
    assert await quota.take() is True
    assert await quota.used() == 1


async def test_without_redis_requests_are_refused_or_spend_a_local_share(
    sandbox: Sandbox,
    make_client: ClientFactory,
    make_quota: QuotaFactory,
    dead_redis_url: str,
    timing: Timing,
) -> None:
    strict = make_quota(dead_redis_url, "k", 100, timeout=0.5)
    client = await make_client(sandbox, call_quota=strict)
    started = time.monotonic()
    with pytest.raises(RedisUnavailableError):
        await client.maintenance.list_tasks(sandbox.project_id)
    with pytest.raises(RedisUnavailableError):  # the breaker: at once, Redis is not tried
        await client.maintenance.list_tasks(sandbox.project_id)
    timing.below(time.monotonic() - started, 1.0, "two refusals")
    assert sandbox.state.grants == 0  # nothing was sent

    share = make_quota(dead_redis_url, "k", 100, timeout=0.5, local_fallback=3)
    degraded = await make_client(sandbox, call_quota=share)
    # The grant and two listings are this worker's share; the next is refused.
    assert await _until_refused(degraded, sandbox.project_id) == 2


async def test_a_hung_redis_refuses_within_the_timeout(
    sandbox: Sandbox,
    make_client: ClientFactory,
    make_quota: QuotaFactory,
    own_redis: OwnRedis,
    timing: Timing,
) -> None:
    quota = make_quota(own_redis.url, "hung", 100, timeout=0.3)
    client = await make_client(sandbox, call_quota=quota)
    await client.maintenance.list_tasks(sandbox.project_id)
    with own_redis.paused():
        started = time.monotonic()
        with pytest.raises(RedisUnavailableError, match=r"within 0\.3 s"):
            await client.maintenance.list_tasks(sandbox.project_id)
        timing.below(time.monotonic() - started, 0.8, "the refusal")
    for _ in range(600):  # until the breaker lets a request try Redis again (a guard: 30 s)
        try:
            await client.maintenance.list_tasks(sandbox.project_id)
            break
        except RedisUnavailableError:
            await asyncio.sleep(0.05)
    # The script sent while Redis was stopped may have run when it resumed: a refused request
    # can still be counted (the budget errs on the side of spent), never the other way round.
    assert await quota.used() in (3, 4)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        RedisCallQuota("redis://127.0.0.1:1/0", "", 1)
    with pytest.raises(ValueError, match="limit"):
        RedisCallQuota("redis://127.0.0.1:1/0", "k", 0)
    with pytest.raises(ValueError, match="window"):
        RedisCallQuota("redis://127.0.0.1:1/0", "k", 1, window=0)
    with pytest.raises(TypeError):
        RedisCallQuota(object(), "k", 1)  # type: ignore[arg-type]
