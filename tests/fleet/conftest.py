"""Fixtures of the fleet tests: a real redis-server (see tests/redis_server.py), clients of it,
and worker processes that are always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import attrs
import pytest

pytest.importorskip("redis", reason="the fleet tests need redis-py: pip install 'tuyaio[redis]'")

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from tuyaio import TuyaClient
from tuyaio.clock import ServerClock
from tuyaio.fleet import Fleet, RedisRateLimiter, RedisTokenStore
from tuyaio.sandbox import Sandbox
from tuyaio.tokens import Token

from ..redis_server import (
    RedisClusterServers,
    RedisServer,
    SentinelServers,
    redis_server,
    start_cluster,
    start_redis,
    start_sentinels,
    stop_all,
    stop_redis,
)
from .processes import Workers

__all__ = ["redis_server"]


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's URL, emptied before the test."""
    with redis.Redis(host=redis_server.host, port=redis_server.port) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
async def dead_redis_url() -> str:
    """A redis:// URL of a loopback port where nothing listens."""
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client of the test's Redis, closed afterwards."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def workers() -> AsyncIterator[Workers]:
    """Start worker processes; any still running at the end of the test is killed."""
    started = Workers()
    try:
        yield started
    finally:
        await started.stop()


@attrs.frozen
class OwnRedis:
    """A redis-server of the test's own, which it may pause (SIGSTOP) and resume (SIGCONT)."""

    process: subprocess.Popen[bytes]
    server: RedisServer

    @property
    def url(self) -> str:
        """A redis:// URL for database 0."""
        return self.server.url

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Redis stopped in its tracks: connections stay open, nothing answers; resumed after."""
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A fresh redis-server for this test alone, resumed and stopped at the end."""
    process, server = start_redis(tmp_path)
    try:
        yield OwnRedis(process, server)
    finally:
        stop_redis(process)


Closers = list[RedisTokenStore | RedisRateLimiter]


@pytest.fixture
async def closers() -> AsyncIterator[Closers]:
    """Stores and limiters to close at the end of the test."""
    opened: Closers = []
    yield opened
    for item in opened:
        await item.aclose()


@attrs.frozen
class Timing:
    """Wall-clock bounds, checked only in the ``slow`` run: the default run never compares
    durations (a loaded machine may stretch any of them); it checks what the call did."""

    checked: bool

    def below(self, seconds: float, bound: float, what: str = "") -> None:
        """``seconds`` is under ``bound`` (in the slow run)."""
        if self.checked:
            assert seconds < bound, f"{what}: {seconds:.3f} s, bound {bound:g} s"


@pytest.fixture(
    params=[
        pytest.param(False, id="behaviour"),
        pytest.param(True, id="timing", marks=pytest.mark.slow),
    ]
)
def timing(request: pytest.FixtureRequest) -> Timing:
    """A test taking ``timing`` runs twice: its behaviour by default, its time bounds under
    ``-m slow`` (where the machine is not shared with other tests)."""
    return Timing(bool(request.param))


CLOCKS_US = 5_000  # Redis's clock against the event loop's: both the same machine's, in step


async def redis_now_us(client: aioredis.Redis) -> int:
    """Redis's clock, in microseconds."""
    seconds, micros = await client.time()
    return int(seconds) * 1_000_000 + int(micros)


async def schedule_snapshot(client: aioredis.Redis, name: str) -> tuple[int, int, int]:
    """Redis's clock, the rate schedule ``name`` and its PTTL, read at one instant."""
    async with client.pipeline(transaction=True) as pipe:
        (seconds, micros), tat, pttl = await pipe.time().get(name).pttl(name).execute()
    return int(seconds) * 1_000_000 + int(micros), int(tat), int(pttl)


def make_token(name: str, *, expires_at_ms: int = 10**13, lifetime_ms: int = 7_200_000) -> Token:
    """A token pair named ``name`` (``access-NAME``/``refresh-NAME``)."""
    return Token(
        access_token=f"access-{name}",
        refresh_token=f"refresh-{name}",
        expires_at_ms=expires_at_ms,
        lifetime_ms=lifetime_ms,
        uid="uid-1",
    )


@pytest.fixture(scope="session")
def redis_cluster_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisClusterServers]:
    """A 3-master Redis Cluster for the session, stopped at the end."""
    servers = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield servers
    finally:
        stop_all(servers.processes)


@pytest.fixture
def redis_cluster(redis_cluster_servers: RedisClusterServers) -> RedisClusterServers:
    """The session's cluster, emptied before the test."""
    for node in redis_cluster_servers.nodes:
        with redis.Redis(host=node.host, port=node.port) as client:
            client.flushall()
    return redis_cluster_servers


@pytest.fixture
async def cluster_client(redis_cluster: RedisClusterServers) -> AsyncIterator[RedisCluster]:
    """A RedisCluster client of the test's cluster, closed afterwards."""
    node = redis_cluster.nodes[0]
    client = RedisCluster(host=node.host, port=node.port)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelServers]:
    """A master, a replica and three Sentinels of this test's own, stopped at the end."""
    servers = start_sentinels(tmp_path)
    try:
        yield servers
    finally:
        stop_all(servers.processes)


@attrs.define
class Grants:
    """A token fetcher that records its calls; each gives a new token (``access-1``, …)."""

    clock: ServerClock = attrs.field(factory=ServerClock)
    calls: list[str | None] = attrs.field(factory=list)
    """The refresh token of each call (``None``: a grant)."""

    async def fetch(self, refresh_token: str | None) -> Token:
        """The TokenManager's ``fetch``."""
        self.calls.append(refresh_token)
        return make_token(str(len(self.calls)), expires_at_ms=self.clock.now_ms() + 10**7)


StoreFactory = Callable[..., RedisTokenStore]


@pytest.fixture
async def make_store(redis_url: str) -> AsyncIterator[StoreFactory]:
    """Stores with their own Redis connections, as separate workers would have."""
    stores: list[RedisTokenStore] = []

    def make(url: str = redis_url, **options: object) -> RedisTokenStore:
        store = RedisTokenStore(url, **options)  # type: ignore[arg-type]
        stores.append(store)
        return store

    yield make
    for store in stores:
        await store.aclose()


async def fleet_client(
    make_client: Callable[..., Awaitable[TuyaClient]], sandbox: Sandbox, fleet: Fleet
) -> TuyaClient:
    """A client of the sandbox on the fleet's token store, rate limiter and call budget."""
    return await make_client(
        sandbox,
        token_store=fleet.token_store,
        rate_limit=fleet.rate_limiter,
        call_quota=fleet.call_quota,
    )
