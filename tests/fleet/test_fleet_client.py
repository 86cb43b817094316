"""TuyaClient with the Redis store and limiter, against the sandbox and a real redis-server."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest

from tuyaio import TuyaClient
from tuyaio.fleet import RedisRateLimiter, RedisTokenStore, RedisUnavailableError
from tuyaio.sandbox import Sandbox

from .conftest import Closers, Timing

SandboxFactory = Callable[..., Awaitable[Sandbox]]
ClientFactory = Callable[..., Awaitable[TuyaClient]]


@pytest.fixture
def store_for(closers: Closers) -> Callable[..., RedisTokenStore]:
    def make(url: str, **options: object) -> RedisTokenStore:
        store = RedisTokenStore(url, **options)  # type: ignore[arg-type]
        closers.append(store)
        return store

    return make


async def _list(client: TuyaClient, sandbox: Sandbox) -> None:
    await client.maintenance.list_tasks(sandbox.project_id, page_size=1)


async def test_clients_with_one_store_share_one_token(
    make_sandbox: SandboxFactory,
    make_client: ClientFactory,
    store_for: Callable[..., RedisTokenStore],
    redis_url: str,
) -> None:
    sandbox = await make_sandbox()
    first = await make_client(sandbox, token_store=store_for(redis_url))
    second = await make_client(sandbox, token_store=store_for(redis_url))
    await _list(first, sandbox)
    await _list(second, sandbox)
    assert sandbox.state.grants == 1
    assert first.stats.token_grants + second.stats.token_grants == 1


async def test_a_refresh_elsewhere_costs_the_others_one_repeat_and_keeps_the_new_token(
    make_sandbox: SandboxFactory,
    make_client: ClientFactory,
    store_for: Callable[..., RedisTokenStore],
    redis_url: str,
) -> None:
    sandbox = await make_sandbox()
    first = await make_client(sandbox, token_store=store_for(redis_url))
    second = await make_client(sandbox, token_store=store_for(redis_url))
    await _list(first, sandbox)
    await _list(second, sandbox)
    old = second._transport.tokens.current
    assert old is not None
    # ``second`` is told its token is bad and refreshes it, which kills it for ``first`` too.
    await second._transport.tokens.invalidate(old)
    await _list(second, sandbox)
    assert sandbox.state.refreshes == 1
    # ``first`` is refused the old token once, must not delete the new one, and adopts it.
    await _list(first, sandbox)
    assert first.stats.token_rejections == 1
    assert first._transport.tokens.current == second._transport.tokens.current
    key = f"{sandbox.base_url.removeprefix('http://')}:{sandbox.client_id}"
    assert await store_for(redis_url).get(key) == (second._transport.tokens.current)
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 1)


async def test_redis_down_fails_the_call_at_once_with_a_clear_error(
    make_sandbox: SandboxFactory,
    make_client: ClientFactory,
    store_for: Callable[..., RedisTokenStore],
    dead_redis_url: str,
    timing: Timing,
) -> None:
    sandbox = await make_sandbox()
    client = await make_client(sandbox, token_store=store_for(dead_redis_url, timeout=0.5))
    started = time.monotonic()
    with pytest.raises(RedisUnavailableError) as caught:
        await _list(client, sandbox)
    timing.below(time.monotonic() - started, 1.5, "the failed call")
    assert "Redis failed" in str(caught.value)
    assert sandbox.secret not in str(caught.value)
    assert sandbox.state.grants == 0


async def test_redis_down_with_local_fallback_keeps_calling(
    make_sandbox: SandboxFactory,
    make_client: ClientFactory,
    store_for: Callable[..., RedisTokenStore],
    closers: Closers,
    dead_redis_url: str,
) -> None:
    sandbox = await make_sandbox()
    limiter = RedisRateLimiter(
        dead_redis_url, 100, key=sandbox.client_id, timeout=0.5, local_fallback_rate=100
    )
    closers.append(limiter)
    store = store_for(dead_redis_url, timeout=0.5, local_fallback=True)
    client = await make_client(sandbox, token_store=store, rate_limit=limiter)
    for _ in range(3):
        await _list(client, sandbox)
    assert sandbox.state.grants == 1


async def test_the_fleet_limiter_paces_a_client(
    make_sandbox: SandboxFactory, make_client: ClientFactory, closers: Closers, redis_url: str
) -> None:
    sandbox = await make_sandbox()
    limiter = RedisRateLimiter(redis_url, 20, key=sandbox.client_id)
    closers.append(limiter)
    client = await make_client(sandbox, rate_limit=limiter)
    started = time.monotonic()
    for _ in range(10):
        await _list(client, sandbox)
    assert time.monotonic() - started >= 10 / 20 - 0.05  # 11 requests incl. the grant
