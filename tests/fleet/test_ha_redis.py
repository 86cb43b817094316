"""The fleet on highly available Redis: a real 3-master Redis Cluster, and a master + replica
watched by three Sentinels (their own servers on free loopback ports, stopped by PID)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel

from tuyaio.fleet import Fleet, QuotaStateLostError, RedisRateLimiter, RedisTokenStore
from tuyaio.sandbox import Sandbox
from tuyaio.tokens import TokenManager

from ..conftest import ClientFactory
from ..redis_server import SENTINEL_MASTER, RedisClusterServers, SentinelServers
from .conftest import Grants, fleet_client, make_token

KEY = "127.0.0.1:fleet-client-id"


@pytest.fixture
async def cluster_clients(
    redis_cluster: RedisClusterServers,
) -> AsyncIterator[list[RedisCluster]]:
    """Four RedisCluster clients (four workers), each starting from another node."""
    clients = [
        RedisCluster(host=node.host, port=node.port)
        for node in (*redis_cluster.nodes, redis_cluster.nodes[0])
    ]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()


async def test_four_workers_on_a_cluster_make_one_grant(
    sandbox: Sandbox, make_client: ClientFactory, cluster_clients: list[RedisCluster]
) -> None:
    fleets = [
        Fleet(client, key=sandbox.client_id, rate=500, call_quota=1000)
        for client in cluster_clients
    ]
    try:
        clients = [await fleet_client(make_client, sandbox, fleet) for fleet in fleets]
        await asyncio.gather(
            *(
                client.maintenance.list_tasks(sandbox.project_id, page_size=1)
                for client in clients
                for _ in range(10)
            )
        )
        assert fleets[0].call_quota is not None
        assert await fleets[0].call_quota.used() == 41  # the grant and 40 listings
    finally:
        for fleet in fleets:
            await fleet.aclose()
    assert sandbox.state.grants == 1


async def test_the_scripts_run_on_a_cluster(cluster_client: RedisCluster) -> None:
    """Fencing, the lost-token request (sharded pub/sub) and the quota's epoch on Cluster."""
    grants = Grants()
    clock, fetch = grants.clock, grants.fetch

    store = RedisTokenStore(cluster_client)
    joiner_store = RedisTokenStore(cluster_client)
    limiter = RedisRateLimiter(cluster_client, 100, key="cid")
    try:
        manager = TokenManager(fetch=fetch, store=store, key=KEY, clock=clock)
        assert (await manager.get()).access_token == "access-1"
        async with store.lock(KEY):  # fenced: an earlier token is not stored
            await store.set(KEY, make_token("old", expires_at_ms=1))
        assert await cluster_client.hget(store.token_key(KEY), "access_token") == b"access-1"
        channel = f"tuyaio:token-wanted:{{{KEY}}}"
        for _ in range(1500):  # until the store answers for its token (a guard: 30 s)
            if await _shard_subscribers(cluster_client, channel):
                break
            await asyncio.sleep(0.02)
        await cluster_client.delete(store.token_key(KEY))  # lost (a failover)
        joiner = TokenManager(fetch=fetch, store=joiner_store, key=KEY, clock=clock)
        assert (await joiner.get()).access_token == "access-1"
        assert grants.calls == [None]
        await limiter.acquire()
    finally:
        await store.aclose()
        await joiner_store.aclose()
        await limiter.aclose()


async def _shard_subscribers(client: RedisCluster, channel: str) -> int:
    node = client.get_node_from_key(channel)
    async with aioredis.Redis(host=node.host, port=node.port) as direct:
        _, count = await direct.execute_command("PUBSUB", "SHARDNUMSUB", channel)
    return int(count)


async def test_a_quota_on_a_cluster_notices_lost_state(cluster_client: RedisCluster) -> None:
    async with Fleet(cluster_client, key="project", call_quota=10) as fleet:
        quota = fleet.call_quota
        assert quota is not None
        assert await quota.take()
        await cluster_client.delete(quota.key, quota.epoch_key)  # lost (a failover)
        with pytest.raises(QuotaStateLostError):
            await quota.take()


async def test_a_fleet_on_sentinel_grants_once(
    sandbox: Sandbox, make_client: ClientFactory, sentinels: SentinelServers
) -> None:
    sentinel = Sentinel(sentinels.sentinel_addresses)
    master = sentinel.master_for(SENTINEL_MASTER)
    fleets = [Fleet(master, key=sandbox.client_id, rate=500, call_quota=100) for _ in "ab"]
    try:
        for fleet in fleets:
            client = await fleet_client(make_client, sandbox, fleet)
            await client.maintenance.list_tasks(sandbox.project_id, page_size=1)
    finally:
        for fleet in fleets:
            await fleet.aclose()
        await master.aclose()
    assert sandbox.state.grants == 1
