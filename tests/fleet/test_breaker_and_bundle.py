"""The breaker's schedule of tries (a fake clock), and Fleet: one client, one breaker, one
switch for local fallback (against a real redis-server, and a port where nothing listens)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from tuyaio.fleet import Fleet, RedisRateLimiter, RedisTokenStore, RedisUnavailableError
from tuyaio.fleet._breaker import RETRY_FIRST_S, RETRY_MAX_S, Breaker, breaker_for
from tuyaio.sandbox import Sandbox

from ..conftest import ClientFactory
from .conftest import fleet_client


def test_the_breaker_tries_redis_again_sooner_than_a_second_growing_and_jittered() -> None:
    now = [100.0]
    draws = iter([1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    breaker = Breaker(clock=lambda: now[0], rand=lambda: next(draws))
    delays = []
    for _ in range(8):
        breaker.trip("Redis failed")
        delays.append(round(breaker.retry_at - now[0], 6))
    full = [0.02, 0.04, 0.08, 0.16, 0.25, 0.25, 0.25, 0.25]
    jitter = [1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75]
    assert delays == [round(d * j, 6) for d, j in zip(full, jitter, strict=True)]
    assert (RETRY_FIRST_S, RETRY_MAX_S) == (0.02, 0.25)


def test_the_breaker_lets_one_caller_at_a_time_try_again() -> None:
    now = [0.0]
    breaker = Breaker(clock=lambda: now[0], rand=lambda: 1.0)
    assert breaker.check() is False  # up: nothing to try
    breaker.trip("Redis failed")
    with pytest.raises(RedisUnavailableError, match="Redis failed"):
        breaker.check()
    now[0] += RETRY_FIRST_S
    assert breaker.check() is True  # this caller tries Redis
    with pytest.raises(RedisUnavailableError):
        breaker.check()  # the others do not meanwhile
    breaker.trial_done()
    breaker.answered()
    assert breaker.check() is False
    breaker.trip("again")
    assert breaker.retry_at == now[0] + RETRY_FIRST_S  # an answer starts the schedule again


async def test_objects_on_one_client_share_one_breaker(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        store = RedisTokenStore(client)
        limiter = RedisRateLimiter(client, 10, key="k")
        assert breaker_for(client) is store._breaker is limiter._breaker
        await store.aclose()  # a client passed in is not closed
        assert await client.ping()
    finally:
        await client.aclose()


def test_a_cluster_client_is_accepted_and_other_objects_refused() -> None:
    cluster = RedisCluster(host="127.0.0.1", port=1)  # not connected until used
    assert RedisTokenStore(cluster).cluster
    with pytest.raises(TypeError, match="RedisCluster or a redis:// URL, got int"):
        RedisTokenStore(42)  # type: ignore[arg-type]


async def test_one_switch_falls_back_for_the_whole_fleet(
    sandbox: Sandbox, make_client: ClientFactory, dead_redis_url: str
) -> None:
    async with Fleet(
        dead_redis_url,
        key=sandbox.client_id,
        rate=100,
        call_quota=1000,
        local_fallback=1 / 4,
        timeout=0.5,
    ) as fleet:
        assert fleet.rate_limiter is not None
        assert fleet.call_quota is not None
        assert fleet.rate_limiter._fallback is not None
        assert fleet.rate_limiter._fallback.rate == 25
        assert fleet.call_quota._fallback is not None
        assert fleet.call_quota._fallback.limit == 250
        client = await fleet_client(make_client, sandbox, fleet)
        await asyncio.gather(
            *(client.maintenance.list_tasks(sandbox.project_id, page_size=1) for _ in range(5))
        )
    assert sandbox.state.grants == 1
    assert "local_fallback=True" in repr(fleet)


async def test_without_the_switch_the_fleet_fails_calls_with_a_clear_error(
    sandbox: Sandbox, make_client: ClientFactory, dead_redis_url: str
) -> None:
    async with Fleet(dead_redis_url, key=sandbox.client_id, rate=100, timeout=0.5) as fleet:
        client = await make_client(
            sandbox, token_store=fleet.token_store, rate_limit=fleet.rate_limiter
        )
        with pytest.raises(RedisUnavailableError):
            await client.maintenance.list_tasks(sandbox.project_id, page_size=1)
    assert fleet.call_quota is None
    assert sandbox.state.grants == 0


async def test_a_fleet_on_one_redis_grants_once(
    sandbox: Sandbox, make_client: ClientFactory, redis_url: str
) -> None:
    fleets = [Fleet(redis_url, key=sandbox.client_id, rate=200, call_quota=50) for _ in "abc"]
    try:
        clients = [await fleet_client(make_client, sandbox, fleet) for fleet in fleets]
        for client in clients:
            await client.maintenance.list_tasks(sandbox.project_id, page_size=1)
        assert fleets[0].call_quota is not None
        assert await fleets[0].call_quota.used() == 4  # the grant and three listings
    finally:
        for fleet in fleets:
            await fleet.aclose()
    assert sandbox.state.grants == 1


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"local_fallback": 0}, ValueError, "local_fallback"),
        ({"local_fallback": 1.5}, ValueError, "local_fallback"),
        ({"local_fallback": True}, TypeError, "local_fallback"),
        ({"rate": 0}, ValueError, "rate"),
        ({"call_quota": 0}, ValueError, "call_quota"),
        ({"timeout": 0}, ValueError, "timeout"),
    ],
)
def test_bad_fleet_arguments_name_the_argument(
    options: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Fleet("redis://127.0.0.1:1/0", key="k", **options)  # type: ignore[arg-type]


async def test_a_hung_redis_is_tried_no_sooner_than_a_try_took() -> None:
    now = [0.0]
    breaker = Breaker(clock=lambda: now[0], rand=lambda: 1.0)
    watcher = breaker.changed()
    breaker.trip("Redis did not answer", took=0.5)  # each try costs its caller a timeout
    assert breaker.retry_at == 0.5
    assert watcher.done()  # callers queued behind the one that waited go to the fallback
    now[0] = 0.5
    watcher = breaker.changed()
    assert breaker.check() is True
    assert watcher.done()  # and so do those queued behind a try of Redis
