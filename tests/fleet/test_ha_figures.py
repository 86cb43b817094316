"""The figures of the fleet on highly available Redis, measured with real worker processes (or a
real client) against the sandbox: a Redis Cluster, a Sentinel failover by ``kill -9``, a quick
restart. Measurements: run by ``pytest -m slow -n 0``."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import redis

from tuyaio import TuyaError
from tuyaio.fleet import Fleet
from tuyaio.sandbox import Sandbox, SandboxConfig

from ..conftest import ClientFactory, SandboxFactory
from ..redis_server import (
    SENTINEL_MASTER,
    RedisClusterServers,
    SentinelServers,
    start_redis,
    stop_redis,
)
from .processes import Workers, steady_rate
from .test_fleet_figures import fleet_env

pytestmark = pytest.mark.slow

RATE = 100  # the fleet's requests per second in these runs


def _failed(results: list[dict[str, object]]) -> int:
    return sum(int(result["failed"]) for result in results)  # type: ignore[call-overload]


async def test_four_worker_processes_on_a_cluster_make_one_grant_and_no_failure(
    redis_cluster: RedisClusterServers, workers: Workers
) -> None:
    node = redis_cluster.nodes[0]
    async with Sandbox(SandboxConfig(tasks=20, rate_limit_rps=110, rate_limit_burst=10)) as sandbox:
        env = fleet_env(
            sandbox, "", cluster=f"{node.host}:{node.port}", duration=4, concurrency=50, rate=RATE
        )
        results = await workers.run(4, "load", env)
        state = sandbox.state
    busiest, _ = steady_rate(state)
    calls = sum(int(result["calls"]) for result in results)
    print(
        f"\nCluster, 4 worker processes x 50 callers, {RATE} req/s: {calls} calls, "
        f"{state.grants} grant, {_failed(results)} failed, busiest second {busiest}"
    )
    assert _failed(results) == 0, [r["errors"] for r in results]
    assert state.grants == 1
    assert busiest <= RATE * 1.1 + 1


async def test_kill_9_of_the_sentinel_master_with_the_fallback_switch_fails_no_call(
    sentinels: SentinelServers, workers: Workers
) -> None:
    async with Sandbox(SandboxConfig(tasks=20)) as sandbox:
        env = fleet_env(
            sandbox,
            "",
            sentinels=",".join(f"{host}:{port}" for host, port in sentinels.sentinel_addresses),
            sentinel_master=SENTINEL_MASTER,
            duration=7,
            concurrency=50,
            rate=RATE,
            quota=1_000_000,
            local_fallback=1 / 4,
        )
        fleet = await workers.start_workers(4, "load", env)
        await workers.go(fleet)
        await asyncio.sleep(2.5)
        sentinels.master.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        promoted_after = await asyncio.to_thread(_wait_for_promotion, sentinels, 20.0)
        results = await workers.results(fleet, 60)
        state = sandbox.state
    busiest, _ = steady_rate(state)
    calls = sum(int(result["calls"]) for result in results)
    print(
        f"\nSentinel, kill -9 of the master mid-run, 4 workers, local_fallback=1/4: {calls} calls,"
        f" {_failed(results)} failed, {state.grants} grant, replica promoted after "
        f"{promoted_after:.2f} s, busiest second {busiest} (budget {RATE} x 1.25 + 1)"
    )
    series = [
        state.requests_between(killed_at + t / 4, killed_at + (t + 1) / 4 - 0.001)
        for t in range(-4, 16)
    ]
    print(f"requests per 0.25 s from 1 s before the kill: {series}")
    assert _failed(results) == 0, [r["errors"] for r in results]
    assert busiest <= RATE * 1.25 + 1


def _wait_for_promotion(sentinels: SentinelServers, within: float) -> float:
    """Seconds until a Sentinel names the replica as the master."""
    started = time.monotonic()
    host, port = sentinels.sentinel_addresses[0]
    replica = sentinels.replica_server
    with redis.Redis(host=host, port=port, socket_timeout=1) as client:
        while time.monotonic() - started < within:
            address = client.sentinel_get_master_addr_by_name(SENTINEL_MASTER)
            if address and int(address[1]) == replica.port:
                return time.monotonic() - started
            time.sleep(0.02)
    raise AssertionError("no failover")


async def test_a_short_restart_without_fallback_fails_calls_for_about_its_length(
    tmp_path: Path, make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    process, server = start_redis(tmp_path)
    sandbox = await make_sandbox(tasks=20)
    fleet = Fleet(server.url, key=sandbox.client_id, rate=1000, timeout=0.5)
    failures: list[float] = []
    try:
        client = await make_client(
            sandbox, token_store=fleet.token_store, rate_limit=fleet.rate_limiter
        )
        stop_at = time.monotonic() + 3.0

        async def caller() -> None:
            while time.monotonic() < stop_at:
                try:
                    await client.maintenance.list_tasks(sandbox.project_id, page_size=1)
                except TuyaError:
                    failures.append(time.monotonic())
                    await asyncio.sleep(0.001)

        callers = asyncio.gather(*(caller() for _ in range(20)))
        await asyncio.sleep(1.0)
        process.kill()
        process.wait()
        down_at = time.monotonic()
        await asyncio.sleep(0.3)
        process, _ = await asyncio.to_thread(start_redis, tmp_path, port=server.port)
        up_at = time.monotonic()
        await callers
    finally:
        await fleet.aclose()
        stop_redis(process)
    span = failures[-1] - failures[0] if failures else 0.0
    print(
        f"\nRedis restarted (down {up_at - down_at:.2f} s, 0.3 s + its start), no fallback: "
        f"{len(failures)} failed calls over {span:.3f} s"
    )
    assert failures
    assert span <= 0.7
