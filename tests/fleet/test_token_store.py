"""RedisTokenStore against a real redis-server: record, compare-and-delete, the lock, failures."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable

import pytest
import redis.asyncio as aioredis

from tuyaio.clock import Clock, ServerClock
from tuyaio.fleet import RedisTokenStore, RedisUnavailableError, TokenLockTimeoutError
from tuyaio.tokens import Token, TokenManager, TokenStore

from .conftest import StoreFactory, Timing, make_token

KEY = "127.0.0.1:fleet-client-id"


async def test_implements_the_token_store_protocol(make_store: StoreFactory) -> None:
    assert isinstance(make_store(), TokenStore)


async def test_round_trip_under_a_key_named_by_client_id(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    store = make_store()
    assert await store.get(KEY) is None
    token = make_token("a")
    await store.set(KEY, token)
    assert await make_store().get(KEY) == token
    assert await redis_client.keys("*") == [b"tuyaio:token:{127.0.0.1:fleet-client-id}"]
    assert "access-a" not in repr(store)
    assert "redis://" not in repr(store)


async def test_a_malformed_record_reads_as_no_token(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    await redis_client.hset("tuyaio:token:{" + KEY + "}", mapping={"access_token": "x"})
    assert await make_store().get(KEY) is None


async def test_clear_deletes_only_the_token_that_failed(make_store: StoreFactory) -> None:
    store = make_store()
    await store.set(KEY, make_token("new"))
    await store.clear(KEY, access_token="access-old")
    assert await store.get(KEY) == make_token("new")
    await store.clear(KEY, access_token="access-new")
    assert await store.get(KEY) is None


async def test_the_calls_refused_with_one_token_share_one_clear(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    async def script_calls() -> int:
        stats = await redis_client.info("commandstats")
        return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("eval", "evalsha"))

    store = make_store()
    await store.set(KEY, make_token("dead"))
    before = await script_calls()
    await asyncio.gather(*(store.clear(KEY, access_token="access-dead") for _ in range(100)))
    await store.clear(KEY, access_token="access-dead")
    assert await store.get(KEY) is None
    assert await script_calls() - before <= 2  # one EVALSHA (after an EVAL if not yet loaded)


async def test_lock_is_exclusive_across_workers(make_store: StoreFactory) -> None:
    first, second = make_store(), make_store()
    order: list[str] = []

    async def hold(store: RedisTokenStore, name: str) -> None:
        async with store.lock(KEY):
            order.append(f"{name} in")
            await asyncio.sleep(0.05)
            order.append(f"{name} out")

    await asyncio.gather(hold(first, "a"), hold(second, "b"), hold(first, "c"))
    for entered, left in zip(order[::2], order[1::2], strict=True):
        assert entered.endswith(" in")
        assert left == entered.replace(" in", " out")


async def test_only_the_owner_releases_the_lock(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    store = make_store(lock_ttl=0.2)
    name = store.lock_key(KEY)
    async with store.lock(KEY):
        owner = await redis_client.get(name)
        assert owner is not None
        assert len(owner) == 32
        # Our TTL runs out (say the worker stalled) and another worker takes the lock.
        await redis_client.set(name, b"someone-else", px=10_000)
    assert await redis_client.get(name) == b"someone-else"


async def test_a_held_lock_is_kept_alive_past_its_ttl(
    make_store: StoreFactory, redis_client: aioredis.Redis
) -> None:
    holder, waiter = make_store(lock_ttl=1.0), make_store(lock_wait=0)
    name = holder.lock_key(KEY)
    async with holder.lock(KEY):
        last = await redis_client.pttl(name)
        for _ in range(1500):  # until the keep-alive extends it (a guard: 30 s)
            await asyncio.sleep(0.02)
            pttl = await redis_client.pttl(name)
            if pttl > last:
                break
            last = pttl
        else:
            raise AssertionError("the lock was never extended")
        with pytest.raises(TokenLockTimeoutError, match=r"more than 0 s"):
            async with waiter.lock(KEY):
                pass
    async with waiter.lock(KEY):
        pass


async def test_a_dead_holders_lock_frees_within_its_ttl(
    make_store: StoreFactory, redis_client: aioredis.Redis, timing: Timing
) -> None:
    store = make_store(lock_ttl=0.5)
    started = time.monotonic()
    # What a worker that died holding the lock leaves behind: no one extends it any more.
    await redis_client.set(store.lock_key(KEY), b"dead-worker", px=500)
    async with store.lock(KEY):
        waited = time.monotonic() - started
    assert waited > 0.3  # it could not be taken before Redis expired it
    timing.below(waited, 0.5 + 0.2, "the wait for the lock")


async def test_managers_in_many_workers_grant_once_and_refresh_once(
    make_store: StoreFactory,
) -> None:
    now = [1_000_000_000.0]
    clock = ServerClock(Clock(time=lambda: now[0]))
    calls: list[str | None] = []

    async def fetch(refresh_token: str | None) -> Token:
        calls.append(refresh_token)
        await asyncio.sleep(0.02)
        return make_token(
            str(len(calls)), expires_at_ms=clock.now_ms() + 100_000, lifetime_ms=100_000
        )

    managers = [
        TokenManager(fetch=fetch, store=make_store(), key=KEY, clock=clock) for _ in range(12)
    ]
    first = await asyncio.gather(*(manager.get() for manager in managers))
    assert calls == [None]
    assert {token.access_token for token in first} == {"access-1"}

    now[0] += 95.0  # past the renewal point of every manager's token
    second = await asyncio.gather(*(manager.get() for manager in managers))
    assert calls == [None, "refresh-1"]
    assert {token.access_token for token in second} == {"access-2"}


async def test_invalidating_a_replaced_token_keeps_the_new_one(make_store: StoreFactory) -> None:
    clock = ServerClock()
    fetched: list[Token] = []

    async def fetch(refresh_token: str | None) -> Token:
        fetched.append(make_token(str(len(fetched) + 1), expires_at_ms=clock.now_ms() + 10**7))
        return fetched[-1]

    slow, fast = (
        TokenManager(fetch=fetch, store=make_store(), key=KEY, clock=clock) for _ in range(2)
    )
    old = await slow.get()
    assert await fast.get() == old
    # ``fast`` was refused ``old`` first and renewed; then ``slow`` is refused ``old`` too.
    await fast.invalidate(old)
    new = await fast.get()
    await slow.invalidate(old)
    assert await slow.get() == new
    assert len(fetched) == 2


@contextlib.asynccontextmanager
async def _silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers: a Redis that hangs. Its connections are closed
    on the way out (since 3.12.1, leaving ``async with server`` waits for every one)."""
    writers: list[asyncio.StreamWriter] = []

    async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(keep, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            for writer in writers:
                writer.close()


async def _raises_quickly(call: Awaitable[object], limit: float, timing: Timing) -> str:
    started = time.monotonic()
    with pytest.raises(RedisUnavailableError) as caught:
        await call
    timing.below(time.monotonic() - started, limit, "the refusal")
    return str(caught.value)


async def test_redis_down_is_a_clear_error(
    make_store: StoreFactory, dead_redis_url: str, timing: Timing
) -> None:
    store = make_store(dead_redis_url, timeout=0.5)
    message = await _raises_quickly(store.get(KEY), 1.0, timing)
    assert message.startswith("Redis failed HGETALL: ConnectionError")
    await _raises_quickly(store.set(KEY, make_token("a")), 1.0, timing)
    await _raises_quickly(store.clear(KEY, access_token="access-a"), 1.0, timing)
    await _raises_quickly(store.lock(KEY).__aenter__(), 1.0, timing)


async def test_a_redis_that_never_answers_is_a_clear_error_not_a_hang(
    make_store: StoreFactory, timing: Timing
) -> None:
    async with _silent_server() as url:
        store = make_store(url, timeout=0.3)
        message = await _raises_quickly(store.get(KEY), 1.5, timing)
        assert message == "Redis did not answer HGETALL within 0.3 s"


async def test_local_fallback_keeps_the_worker_going(
    make_store: StoreFactory, dead_redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store(dead_redis_url, timeout=0.5, local_fallback=True)
    calls: list[str | None] = []
    clock = ServerClock()

    async def fetch(refresh_token: str | None) -> Token:
        calls.append(refresh_token)
        return make_token("local", expires_at_ms=clock.now_ms() + 10**7)

    manager = TokenManager(fetch=fetch, store=store, key=KEY, clock=clock)
    token = await manager.get()
    assert await store.get(KEY) == token
    assert calls == [None]
    await manager.invalidate(token)
    assert await store.get(KEY) is None
    warnings = [r.getMessage() for r in caplog.records if r.name == "tuyaio.fleet"]
    assert len(warnings) == 1
    assert "local to this worker" in warnings[0]
    assert "access-local" not in caplog.text


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="redis must be"):
        RedisTokenStore(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lock_ttl"):
        RedisTokenStore("redis://127.0.0.1:1/0", lock_ttl=0)
    with pytest.raises(ValueError, match="timeout"):
        RedisTokenStore("redis://127.0.0.1:1/0", timeout=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lock_ttl": float("nan")}, ValueError, "lock_ttl"),
        ({"lock_ttl": float("inf")}, ValueError, "lock_ttl"),
        ({"lock_ttl": True}, TypeError, "lock_ttl"),
        ({"lock_ttl": "10"}, TypeError, "lock_ttl"),
        ({"lock_wait": float("nan")}, ValueError, "lock_wait"),
        ({"lock_wait": float("inf")}, ValueError, "lock_wait"),
        ({"lock_wait": -1}, ValueError, "lock_wait"),
        ({"lock_wait": True}, TypeError, "lock_wait"),
        ({"timeout": float("nan")}, ValueError, "timeout"),
        ({"timeout": float("inf")}, ValueError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"timeout": "2"}, TypeError, "timeout"),
    ],
)
def test_bad_store_arguments_name_the_argument(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RedisTokenStore("redis://127.0.0.1:1/0", **kwargs)  # type: ignore[arg-type]
