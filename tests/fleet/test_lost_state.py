"""What Redis forgets or workers do late: fenced token writes, a token gone after ``FLUSHALL``,
a call budget whose count was lost. Against a real redis-server; no timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from tuyaio import CallBudgetExceededError
from tuyaio.clock import ServerClock
from tuyaio.fleet import QuotaStateLostError, RedisCallQuota, RedisTokenStore
from tuyaio.sandbox import Sandbox
from tuyaio.tokens import Token, TokenManager

from ..conftest import ClientFactory
from .conftest import Grants, StoreFactory, make_token

KEY = "127.0.0.1:fleet-client-id"
QuotaFactory = Callable[..., RedisCallQuota]


@pytest.fixture
async def make_quota(redis_url: str) -> AsyncIterator[QuotaFactory]:
    """``make_quota(limit, ...)`` on key "project": quotas closed at the end of the test."""
    made: list[RedisCallQuota] = []

    def make(limit: int, **options: object) -> RedisCallQuota:
        quota = RedisCallQuota(redis_url, "project", limit, **options)  # type: ignore[arg-type]
        made.append(quota)
        return quota

    yield make
    for quota in made:
        await quota.aclose()


async def _expiry(client: aioredis.Redis, store: RedisTokenStore) -> int:
    return int(await client.hget(store.token_key(KEY), "expires_at_ms") or 0)


# Fenced writes --------------------------------------------------------------------------------


async def test_a_renewal_that_lost_its_lock_keeps_its_token_to_itself(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    paused, other = make_store(), make_store()
    async with paused.lock(KEY):
        # The holder stalls past lock_ttl: its lock lapses, another worker renews meanwhile.
        await redis_client.delete(paused.lock_key(KEY))
        async with other.lock(KEY):
            await other.set(KEY, make_token("newer", expires_at_ms=2_000))
        await paused.set(KEY, make_token("late", expires_at_ms=3_000))  # later, but no lock
    assert await redis_client.hget(paused.token_key(KEY), "access_token") == b"access-newer"
    assert (await paused.get(KEY)) == make_token("late", expires_at_ms=3_000)  # its own
    assert (await other.get(KEY)) == make_token("newer", expires_at_ms=2_000)


async def test_the_stored_token_never_moves_to_an_earlier_expiry(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    store = make_store()
    async with store.lock(KEY):
        await store.set(KEY, make_token("later", expires_at_ms=5_000))
    for holder in (store, make_store()):
        async with holder.lock(KEY):  # holding the lock, but with an older token
            await holder.set(KEY, make_token("earlier", expires_at_ms=4_000))
        assert await _expiry(redis_client, store) == 5_000
    async with store.lock(KEY):
        await store.set(KEY, make_token("latest", expires_at_ms=6_000))
    assert await _expiry(redis_client, store) == 6_000


async def test_the_lock_lapse_case_with_managers(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    """A manager whose renewal outlives its lock: the one that took the lock over stores its
    token; the late one's, which expires earlier, never replaces it."""
    clock = ServerClock()
    late_fetch, proceed = asyncio.Event(), asyncio.Event()

    async def slow_fetch(refresh_token: str | None) -> Token:
        late_fetch.set()
        await proceed.wait()
        return make_token("late", expires_at_ms=clock.now_ms() + 1_000_000)

    async def quick_fetch(refresh_token: str | None) -> Token:
        return make_token("quick", expires_at_ms=clock.now_ms() + 2_000_000)

    slow_store, quick_store = make_store(lock_ttl=0.05), make_store(lock_wait=30)
    slow = TokenManager(fetch=slow_fetch, store=slow_store, key=KEY, clock=clock)
    quick = TokenManager(fetch=quick_fetch, store=quick_store, key=KEY, clock=clock)
    late = asyncio.create_task(slow.get())
    await late_fetch.wait()
    await redis_client.delete(slow_store.lock_key(KEY))  # it lapsed (a stall of the worker)
    assert (await quick.get()).access_token == "access-quick"
    proceed.set()
    assert (await late).access_token == "access-late"  # its own, kept to itself
    assert await redis_client.hget(quick_store.token_key(KEY), "access_token") == b"access-quick"


# A token gone from Redis ---------------------------------------------------------------------


async def _subscribed(client: aioredis.Redis, channel: str, count: int) -> None:
    """Wait until ``count`` workers answer for the token (they subscribe in the background)."""
    for _ in range(1500):  # a guard: 30 s
        [(_, subscribers)] = await client.pubsub_numsub(channel)
        if subscribers >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{channel}: fewer than {count} subscribers")


async def test_a_worker_joining_after_flushall_makes_no_second_grant(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    grants = Grants()
    clock, fetch = grants.clock, grants.fetch
    running = [TokenManager(fetch=fetch, store=make_store(), key=KEY, clock=clock) for _ in "ab"]
    first = {(await manager.get()).access_token for manager in running}
    await _subscribed(redis_client, f"tuyaio:token-wanted:{{{KEY}}}", 2)
    await redis_client.flushall()
    joiner = TokenManager(fetch=fetch, store=make_store(), key=KEY, clock=clock)
    assert first == {"access-1"}
    assert (await joiner.get()).access_token == "access-1"
    assert grants.calls == [None]
    assert await redis_client.hget(f"tuyaio:token:{{{KEY}}}", "access_token") == b"access-1"


async def test_a_running_worker_that_finds_the_token_gone_publishes_its_own(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    store = make_store()
    async with store.lock(KEY):
        await store.set(KEY, make_token("a"))
    await redis_client.flushall()
    assert await store.get(KEY) == make_token("a")
    assert await redis_client.hget(store.token_key(KEY), "access_token") == b"access-a"


async def test_a_cleared_token_is_never_published_again(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    knows, clears = make_store(), make_store()
    async with knows.lock(KEY):
        await knows.set(KEY, make_token("dead"))
    assert await clears.get(KEY) == make_token("dead")
    await _subscribed(redis_client, f"tuyaio:token-wanted:{{{KEY}}}", 2)
    await clears.clear(KEY, access_token="access-dead")  # refused by Tuya
    assert await make_store().get(KEY) is None  # a marker, not a gap: nobody is asked
    assert await knows.get(KEY) is None
    assert await redis_client.hget(knows.token_key(KEY), "access_token") is None


async def test_a_new_fleet_grants_at_once(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    store = make_store()
    assert await store.get(KEY) is None  # nobody subscribed: no wait for an answer
    assert await redis_client.pubsub_numsub(f"tuyaio:token-wanted:{{{KEY}}}") == [
        (f"tuyaio:token-wanted:{{{KEY}}}".encode(), 0)
    ]


# A call budget that lost its count -----------------------------------------------------------


async def test_a_quota_that_lost_its_count_refuses_with_a_typed_error(
    make_quota: QuotaFactory, redis_client: aioredis.Redis
) -> None:
    running, idle = make_quota(300), make_quota(300)
    assert all([await running.take() for _ in range(150)])
    assert await idle.take()
    await redis_client.flushall()
    for quota in (running, idle, make_quota(300)):  # a worker started after the loss too
        with pytest.raises(QuotaStateLostError, match="lost its count in Redis"):
            await quota.take()
    assert await running.used() == 300  # counted as spent, not from zero
    await running.reset()  # an operator who knows what was spent starts it again
    assert await idle.take()
    assert await running.used() == 1


async def test_a_fresh_start_after_the_loss_is_caught_too(
    make_quota: QuotaFactory, redis_client: aioredis.Redis
) -> None:
    running = make_quota(10)
    assert await running.take()
    await redis_client.flushall()
    joiner = make_quota(10)
    assert await joiner.take()  # it cannot know: a new budget as far as it sees
    with pytest.raises(QuotaStateLostError):
        await running.take()  # but the worker that saw the old one marks it spent
    with pytest.raises(QuotaStateLostError):
        await joiner.take()


async def test_a_windowed_quota_counts_as_spent_for_one_window_then_starts_again(
    make_quota: QuotaFactory, redis_client: aioredis.Redis
) -> None:
    quota = make_quota(5, window=0.2)
    assert await quota.take()
    await redis_client.flushall()
    with pytest.raises(QuotaStateLostError, match="for one window"):
        await quota.take()
    assert await redis_client.pttl(quota.key) <= 200
    for _ in range(1500):  # until the window has ended (a guard: 30 s)
        await asyncio.sleep(0.02)
        if not await redis_client.exists(quota.key):
            break
    assert [await quota.take() for _ in range(6)] == [True] * 5 + [False]  # a plain budget


async def test_a_300_call_budget_flushed_after_150_calls_lets_300_reach_the_server(
    sandbox: Sandbox,
    make_client: ClientFactory,
    make_quota: QuotaFactory,
    redis_client: aioredis.Redis,
) -> None:
    client = await make_client(sandbox, call_quota=make_quota(300))
    for _ in range(149):  # and the grant: 150 requests
        await client.maintenance.list_tasks(sandbox.project_id, page_size=1)
    await redis_client.flushall()
    refusals: list[type[Exception]] = []
    for _ in range(400):
        try:
            await client.maintenance.list_tasks(sandbox.project_id, page_size=1)
        except (QuotaStateLostError, CallBudgetExceededError) as error:
            refusals.append(type(error))
    assert sandbox.state.requests_between() <= 300
    assert set(refusals) == {QuotaStateLostError}
