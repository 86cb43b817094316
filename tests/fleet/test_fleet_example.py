"""examples/fleet_taskiq.py end to end: two taskiq worker processes, the producer, real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuyaio.sandbox import Sandbox, SandboxConfig

from ..redis_server import SENTINEL_MASTER, SentinelServers

pytestmark = pytest.mark.slow  # starts taskiq worker processes: run by `pytest -m slow`

pytest.importorskip(
    "taskiq_redis", reason="the fleet example needs taskiq: pip install taskiq taskiq-redis"
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DETAIL_ROUTE = "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}"
ACCEPT_ROUTE = "POST /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}/acceptance"
WORKER_PROCESSES = 2


@pytest.fixture
async def worker_group() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Holds the taskiq worker manager; its whole process group is stopped at the end."""
    managers: list[asyncio.subprocess.Process] = []
    yield managers
    for manager in managers:
        if manager.returncode is None:
            os.killpg(manager.pid, signal.SIGINT)  # a graceful stop closes the workers' clients
            try:
                await asyncio.wait_for(manager.wait(), 10)
            except TimeoutError:
                os.killpg(manager.pid, signal.SIGKILL)
                await asyncio.wait_for(manager.wait(), 10)


async def _wait_for_listeners(manager: asyncio.subprocess.Process, count: int) -> None:
    assert manager.stderr is not None
    listening, seen = 0, []
    async with asyncio.timeout(30):
        while listening < count:
            line = await manager.stderr.readline()
            if not line:
                raise AssertionError(f"taskiq worker exited: {b''.join(seen).decode()[-2000:]}")
            seen.append(line)
            listening += b"Listening started." in line


def _redis_env(setup: str, request: pytest.FixtureRequest) -> dict[str, str]:
    if setup == "sentinel":
        servers: SentinelServers = request.getfixturevalue("sentinels")
        addresses = ",".join(f"{host}:{port}" for host, port in servers.sentinel_addresses)
        return {"REDIS_SENTINELS": addresses, "REDIS_SENTINEL_MASTER": SENTINEL_MASTER}
    return {"REDIS_URL": request.getfixturevalue("redis_url")}


@pytest.mark.parametrize("setup", ["one-server", "sentinel"])
async def test_every_job_runs_once_on_two_worker_processes(
    setup: str,
    request: pytest.FixtureRequest,
    worker_group: list[asyncio.subprocess.Process],
) -> None:
    async with Sandbox(SandboxConfig(tasks=120)) as sandbox:
        env = {
            **os.environ,
            "TUYA_BASE_URL": sandbox.base_url,
            "TUYA_CLIENT_ID": sandbox.client_id,
            "TUYA_CLIENT_SECRET": sandbox.secret,
            "TUYA_FLEET_RATE": "500",
            **_redis_env(setup, request),
        }
        tasks = list(sandbox.state.tasks(sandbox.project_id))
        pending = {t["task_id"] for t in tasks if t["status"] == "PENDING_ACCEPTANCE"}
        manager = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "taskiq", "worker", "fleet_taskiq:broker"),
            *("--workers", str(WORKER_PROCESSES), "--app-dir", str(EXAMPLES)),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        worker_group.append(manager)
        await _wait_for_listeners(manager, WORKER_PROCESSES)
        producer = await asyncio.create_subprocess_exec(
            *(sys.executable, str(EXAMPLES / "fleet_taskiq.py"), sandbox.project_id, "--json"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        stdout, stderr = await asyncio.wait_for(producer.communicate(), 60)
        assert producer.returncode == 0, stderr.decode()[-2000:]
        state = sandbox.state
        still_pending = {
            t["task_id"]
            for t in state.tasks(sandbox.project_id)
            if t["status"] == "PENDING_ACCEPTANCE"
        }

    results = json.loads(stdout)
    ran = [result["task_id"] for result in results]
    print(
        f"\n{len(results)} jobs on {len({r['worker'] for r in results})} worker processes; "
        f"{len(pending)} accepted; {state.grants} grant for producer and workers"
    )
    assert sorted(ran) == sorted(t["task_id"] for t in tasks)  # every task, each once
    assert {r["task_id"] for r in results if r["outcome"] == "accepted"} == pending
    assert {r["outcome"] for r in results} <= {"accepted", "skipped"}
    assert len({result["worker"] for result in results}) == WORKER_PROCESSES
    # The server saw each job exactly once: one detail read per task, one acceptance per pending.
    assert state.by_route[DETAIL_ROUTE] == len(tasks)
    assert state.by_route[ACCEPT_ROUTE] == len(pending)
    assert still_pending == set()
    assert state.grants == 1
