"""Fleet mode when Redis misbehaves: stopped, hanging, slow, refusing writes, or holding bad keys.

Every case runs against a real redis-server: one of the test's own that it pauses with SIGSTOP
(connections stay open, nothing answers), puts to sleep with ``DEBUG SLEEP``, slows down behind
a delaying TCP proxy, or fills with keys the fleet did not write. Each call must end within its
bound (checked in the slow run only, where the machine is not shared: see ``Timing``), and each
bad key must heal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from tuyaio.clock import Clock, ServerClock
from tuyaio.fleet import RedisRateLimiter, RedisTokenStore, RedisUnavailableError
from tuyaio.sandbox import Sandbox
from tuyaio.tokens import Token, TokenManager

from .conftest import (
    CLOCKS_US,
    Closers,
    Grants,
    OwnRedis,
    Timing,
    make_token,
    redis_now_us,
    schedule_snapshot,
)
from .proxy import DelayProxy

KEY = "127.0.0.1:fleet-client-id"
TIMEOUT = 0.5  # the fleet's Redis timeout in these tests
SLACK = 0.5  # what the machine may add to a bound (the bounds are checked in the slow run)
HANG = 30.0  # a guard against a hang, not a measurement


async def timed(call: Awaitable[object]) -> float:
    """Seconds ``call`` took (a RedisUnavailableError counts as its end)."""
    started = time.monotonic()
    with contextlib.suppress(RedisUnavailableError):
        await call
    return time.monotonic() - started


async def until(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    """Poll ``check`` every 50 ms, ``seconds`` worth of polls at least (a guard, not a bound)."""
    for _ in range(round(seconds / 0.05)):
        if await check():
            return True
        await asyncio.sleep(0.05)
    return await check()


# Redis stopped -------------------------------------------------------------------------------


async def test_redis_stopped_100_limiter_callers_each_wait_one_timeout_at_most(
    own_redis: OwnRedis, closers: Closers, caplog: pytest.LogCaptureFixture, timing: Timing
) -> None:
    limiter = RedisRateLimiter(
        own_redis.url, 1000, key="cid", timeout=TIMEOUT, local_fallback_rate=1000
    )
    closers.append(limiter)
    await limiter.acquire()  # connected, and the script loaded
    with own_redis.paused():
        first = await asyncio.gather(*(timed(limiter.acquire()) for _ in range(100)))
        then = await asyncio.gather(*(timed(limiter.acquire()) for _ in range(100)))
    print(
        f"\nRedis stopped, 100 concurrent limiter callers: longest wait {max(first):.3f} s "
        f"(timeout {TIMEOUT} s); 100 more after: longest {max(then):.3f} s"
    )
    timing.below(max(first), TIMEOUT + SLACK, "the longest wait")  # was: k timeouts for the k-th
    timing.below(sorted(then)[-2], 0.2, "after the breaker tripped")  # one may try Redis again
    assert sum("pacing this worker alone" in r.getMessage() for r in caplog.records) == 1

    async def back_with_the_fleet() -> bool:
        await limiter.acquire()
        return "pacing with the fleet" in caplog.text

    assert await until(back_with_the_fleet, 5)


async def test_redis_stopped_100_fleet_calls_complete_via_fallback_within_their_bound(
    own_redis: OwnRedis,
    closers: Closers,
    make_sandbox: Callable[..., Awaitable[Sandbox]],
    make_client: Callable[..., Awaitable[object]],
    timing: Timing,
) -> None:
    """The acceptance figure: TuyaClient calls with the fleet's store and limiter, Redis stopped.

    A call renews the token (the store waits one timeout, then falls back) and the grant waits
    for the limiter (one more timeout, then it falls back); every later call passes at once.
    """
    sandbox = await make_sandbox()
    store = RedisTokenStore(own_redis.url, timeout=TIMEOUT, local_fallback=True)
    limiter = RedisRateLimiter(
        own_redis.url, 1000, key=sandbox.client_id, timeout=TIMEOUT, local_fallback_rate=1000
    )
    closers.extend([store, limiter])
    await store.get("warm-up")  # both connected, as in a worker that has been running
    await limiter.acquire()
    client: Any = await make_client(sandbox, token_store=store, rate_limit=limiter)

    async def call() -> float:
        started = time.monotonic()
        await client.maintenance.list_tasks(sandbox.project_id, page_size=1)
        return time.monotonic() - started

    with own_redis.paused():
        waits = await asyncio.gather(*(call() for _ in range(100)))
    print(
        f"\nRedis stopped, 100 concurrent fleet calls: all done, longest {max(waits):.3f} s, "
        f"median {sorted(waits)[50]:.3f} s (bound {2 * TIMEOUT:g} s + slack)"
    )
    timing.below(max(waits), 2 * TIMEOUT + SLACK, "the longest call")
    assert sandbox.state.grants == 1


async def test_redis_stopped_token_renewals_fall_back_or_fail_within_one_timeout(
    own_redis: OwnRedis, closers: Closers, caplog: pytest.LogCaptureFixture, timing: Timing
) -> None:
    grants = Grants()
    clock, fetch = grants.clock, grants.fetch

    falling_back = RedisTokenStore(own_redis.url, timeout=TIMEOUT, local_fallback=True)
    strict = RedisTokenStore(own_redis.url, timeout=TIMEOUT)
    closers.extend([falling_back, strict])
    await falling_back.get(KEY)
    await strict.get(KEY)
    managers = [
        TokenManager(fetch=fetch, store=store, key=f"{KEY}-{n}", clock=clock)
        for store in (falling_back, strict)
        for n in range(25)
    ]
    with own_redis.paused():
        waits = await asyncio.gather(*(timed(manager.get()) for manager in managers))
    print(f"\nRedis stopped, 50 token renewals: longest {max(waits):.3f} s")
    timing.below(max(waits), TIMEOUT + SLACK, "the longest renewal")
    assert len(grants.calls) == 25  # the falling-back ones got a token; the strict ones an error

    async def shared_again() -> bool:
        await falling_back.get(KEY)
        return "sharing the fleet's token" in caplog.text

    assert await until(shared_again, 5)


# Redis hangs or is slow ----------------------------------------------------------------------


async def test_a_hanging_command_is_given_up_at_the_deadline(
    own_redis: OwnRedis, closers: Closers, timing: Timing
) -> None:
    store = RedisTokenStore(own_redis.url, timeout=TIMEOUT)
    limiter = RedisRateLimiter(own_redis.url, 1000, key="cid", timeout=TIMEOUT)
    closers.extend([store, limiter])
    await store.get(KEY)
    await limiter.acquire()
    sleeper = aioredis.Redis.from_url(own_redis.url)
    try:
        asleep = asyncio.create_task(sleeper.execute_command("DEBUG", "SLEEP", "2"))
        await asyncio.sleep(0.1)
        assert not asleep.done()
        started = time.monotonic()
        with pytest.raises(RedisUnavailableError, match=r"did not answer HGETALL within 0\.5 s"):
            await store.get(KEY)
        waits = await asyncio.gather(*(timed(limiter.acquire()) for _ in range(20)))
        store_wait = time.monotonic() - started - max(waits)
        print(
            f"\nDEBUG SLEEP 2 with a {TIMEOUT} s timeout: the store gave up after "
            f"{store_wait:.3f} s, 20 limiter callers after at most {max(waits):.3f} s"
        )
        timing.below(store_wait, TIMEOUT + SLACK, "the store")
        timing.below(max(waits), TIMEOUT + SLACK, "the longest limiter caller")
        await asyncio.wait_for(asleep, 5)
    finally:
        await sleeper.aclose()


async def test_a_slow_redis_costs_each_queued_caller_one_timeout_at_most(
    own_redis: OwnRedis, closers: Closers, timing: Timing
) -> None:
    async with DelayProxy(own_redis.server.port, 0.2) as proxy:
        limiter = RedisRateLimiter(
            proxy.url, 1000, key="cid", timeout=TIMEOUT, local_fallback_rate=1000
        )
        closers.append(limiter)
        waits = await asyncio.gather(*(timed(limiter.acquire()) for _ in range(20)))
        await limiter.aclose()
    print(f"\nRedis answering in 0.2 s, 20 queued callers: longest wait {max(waits):.3f} s")
    assert len(waits) == 20
    timing.below(max(waits), TIMEOUT + SLACK, "the longest wait")  # was: 20 x 0.2 s for the last


# Bad keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda r, name, now: r.set(name, str(now + 3600 * 10**6)), id="an-hour-ahead"),
        pytest.param(lambda r, name, now: r.set(name, "not-a-number"), id="not-a-number"),
        pytest.param(lambda r, name, now: r.set(name, "nan"), id="nan"),
        pytest.param(lambda r, name, now: r.rpush(name, "x"), id="a-list"),
    ],
)
async def test_a_corrupt_rate_schedule_is_reset(
    write: Callable[[aioredis.Redis, str, int], Awaitable[object]],
    redis_url: str,
    redis_client: aioredis.Redis,
    closers: Closers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RedisRateLimiter(redis_url, 10, key="cid", timeout=TIMEOUT)
    closers.append(limiter)
    before = await redis_now_us(redis_client)
    await write(redis_client, "tuyaio:rate:cid", before)  # no TTL
    await limiter.acquire()
    await limiter.acquire()  # and the schedule paces again: 0.1 s later
    now, tat, pttl = await schedule_snapshot(redis_client, "tuyaio:rate:cid")
    # Booked from a fresh start: two slots of 0.1 s from when the first was booked, the second
    # of which has begun.
    assert before + 200_000 <= tat <= now + 100_000
    assert pttl != -1
    assert pttl <= 1300
    assert "rate schedule 'tuyaio:rate:cid' was corrupt" in caplog.text


async def test_a_schedule_within_max_wait_is_kept(
    redis_url: str, redis_client: aioredis.Redis, closers: Closers
) -> None:
    limiter = RedisRateLimiter(redis_url, 10, key="cid", max_wait=1.0)
    closers.append(limiter)
    ahead = await redis_now_us(redis_client) + 300_000
    await redis_client.set("tuyaio:rate:cid", str(ahead), px=1300)
    await limiter.acquire()
    assert await redis_now_us(redis_client) >= ahead - CLOCKS_US  # it waited for its slot
    assert int(await redis_client.get("tuyaio:rate:cid")) == ahead + 100_000


async def test_a_lock_without_ttl_frees_within_lock_ttl(
    redis_url: str, redis_client: aioredis.Redis, closers: Closers, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisTokenStore(redis_url, lock_ttl=0.3, lock_wait=HANG, timeout=TIMEOUT)
    closers.append(store)
    await redis_client.set(store.lock_key(KEY), b"forgotten")  # no TTL: it would never free
    async with store.lock(KEY):
        assert await redis_client.pttl(store.lock_key(KEY)) <= 300
        assert await redis_client.pttl(store.lock_key(KEY)) != -1
    assert "had no TTL; repaired it" in caplog.text


async def test_keys_of_the_wrong_type_are_repaired_not_reported_as_redis_down(
    redis_url: str, redis_client: aioredis.Redis, closers: Closers
) -> None:
    store = RedisTokenStore(redis_url, timeout=TIMEOUT, lock_wait=0)  # no fallback: errors show
    limiter = RedisRateLimiter(redis_url, 100, key="cid", timeout=TIMEOUT)
    closers.extend([store, limiter])
    token_key, lock_key = store.token_key(KEY), store.lock_key(KEY)

    await redis_client.rpush(token_key, "x")
    assert await store.get(KEY) is None
    assert await redis_client.exists(token_key) == 0
    await redis_client.rpush(token_key, "x")
    await store.set(KEY, make_token("a"))
    assert await store.get(KEY) == make_token("a")
    await redis_client.delete(token_key)
    await redis_client.sadd(token_key, "x")
    await store.clear(KEY, access_token="access-a")
    assert await redis_client.exists(token_key) == 0

    await redis_client.hset(lock_key, mapping={"a": "b"})
    async with store.lock(KEY):  # taken at once (lock_wait 0), the hash replaced
        assert await redis_client.type(lock_key) == b"string"
    assert await redis_client.exists(lock_key) == 0

    await redis_client.rpush("tuyaio:rate:cid", "x")
    await limiter.acquire()
    assert await redis_client.type("tuyaio:rate:cid") == b"string"


async def test_a_token_key_of_the_wrong_type_costs_one_grant(
    redis_url: str, redis_client: aioredis.Redis, closers: Closers
) -> None:
    store = RedisTokenStore(redis_url, timeout=TIMEOUT)
    closers.append(store)
    await redis_client.rpush(store.token_key(KEY), "x")
    grants = Grants()
    clock, fetch = grants.clock, grants.fetch

    managers = [TokenManager(fetch=fetch, store=store, key=KEY, clock=clock) for _ in range(3)]
    tokens = await asyncio.gather(*(manager.get() for manager in managers))
    assert grants.calls == [None]
    assert {token.access_token for token in tokens} == {"access-1"}


# Writes refused ------------------------------------------------------------------------------


@pytest.mark.parametrize("local_fallback", [False, True])
async def test_a_refused_token_write_costs_one_grant_per_expiry_not_a_loop(
    local_fallback: bool,
    own_redis: OwnRedis,
    closers: Closers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = aioredis.Redis.from_url(own_redis.url)
    try:  # a user that may do everything but HSET: Redis refuses to store the token
        await admin.execute_command(
            "ACL", "SETUSER", "fleet", "on", ">hush-hush", "~*", "&*", "+@all", "-hset"
        )
    finally:
        await admin.aclose()
    url = f"redis://fleet:hush-hush@127.0.0.1:{own_redis.server.port}/0"
    store = RedisTokenStore(url, timeout=TIMEOUT, local_fallback=local_fallback)
    closers.append(store)
    now = [1_000_000_000.0]
    clock = ServerClock(Clock(time=lambda: now[0]))
    fetched: list[str | None] = []

    async def fetch(refresh_token: str | None) -> Token:
        fetched.append(refresh_token)
        return make_token(
            str(len(fetched)), expires_at_ms=clock.now_ms() + 100_000, lifetime_ms=100_000
        )

    manager = TokenManager(fetch=fetch, store=store, key=KEY, clock=clock)
    failures: list[str] = []
    for _expiry in range(2):
        for _ in range(50):
            try:
                await manager.get()
            except RedisUnavailableError as error:
                failures.append(str(error))
        now[0] += 95.0  # past the renewal point
    # One grant, then one refresh with its refresh token: never a grant per call.
    assert fetched == [None, "refresh-1"]
    if local_fallback:
        assert failures == []
    else:  # the refusal is reported once per renewal; the next call uses the kept token
        assert len(failures) == 2
        assert all(failure.startswith("Redis refused the token write") for failure in failures)
        assert all("can't run this command" in failure for failure in failures)
    assert "hush-hush" not in " ".join(failures) + caplog.text
    assert "access-" not in caplog.text
    warnings = [r for r in caplog.records if r.name == "tuyaio.fleet"]
    assert all(r.levelno == logging.WARNING for r in warnings)
