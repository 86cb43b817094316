"""A batch spread over a fleet of worker processes: taskiq jobs, one Tuya token, one rate limit.

The producer walks a project's maintenance tasks and enqueues one job per task ID; any number of
worker processes, on any number of hosts, run the jobs. Every process shares the fleet's token
and its request rate (:class:`~tuyaio.fleet.Fleet`), and the jobs travel through a Redis stream
(taskiq-redis), all on the same Redis: one server, or a master and its replicas watched by
Sentinels. The job reviews one task: it reads the detail and accepts the task if it is waiting
for acceptance.

Start the workers (here 4 processes; run the same command on more hosts for more)::

    taskiq worker fleet_taskiq:broker --workers 4 --app-dir examples

then the producer, which waits for every job and prints what happened::

    python examples/fleet_taskiq.py PROJECT_ID

Settings come from the environment: ``TUYA_CLIENT_ID``, ``TUYA_CLIENT_SECRET``, ``TUYA_REGION``
(or ``TUYA_BASE_URL``); ``TUYA_FLEET_RATE``, the project's requests per second for the whole fleet
(default 10); ``TUYA_FLEET_FALLBACK``, the share of it a worker may use alone while Redis fails
(e.g. ``0.25`` for four workers; unset: calls fail while Redis does). Redis is ``REDIS_URL``
(default ``redis://localhost:6379/0``), or with ``REDIS_SENTINELS`` (``host:port,host:port,…``)
the master that the Sentinels know as ``REDIS_SENTINEL_MASTER`` (default ``mymaster``).

Needs ``pip install 'tuyaio[redis]' taskiq taskiq-redis``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from taskiq import AsyncBroker, Context, TaskiqDepends, TaskiqEvents, TaskiqState
from taskiq_redis import (
    RedisAsyncResultBackend,
    RedisAsyncSentinelResultBackend,
    RedisStreamBroker,
    RedisStreamSentinelBroker,
)

from tuyaio import MaintenanceStatus, TuyaClient, TuyaError
from tuyaio.fleet import Fleet

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
SENTINELS = [
    (host, int(port))
    for host, port in (
        address.rsplit(":", 1)
        for address in os.environ.get("REDIS_SENTINELS", "").split(",")
        if address
    )
]
SENTINEL_MASTER = os.environ.get("REDIS_SENTINEL_MASTER", "mymaster")
FLEET_RATE = float(os.environ.get("TUYA_FLEET_RATE", "10"))
FLEET_FALLBACK = (
    float(os.environ["TUYA_FLEET_FALLBACK"]) if os.environ.get("TUYA_FLEET_FALLBACK") else None
)
RESULT_WAIT_S = 3600.0
QUEUE = "tuyaio:fleet-example"
RESULT_TTL_S = 24 * 3600


def make_broker() -> AsyncBroker:
    """The job stream and the results, on the fleet's Redis (through the Sentinels if set)."""
    if SENTINELS:
        stream: AsyncBroker = RedisStreamSentinelBroker(
            SENTINELS, SENTINEL_MASTER, queue_name=QUEUE
        )
        return stream.with_result_backend(
            RedisAsyncSentinelResultBackend(SENTINELS, SENTINEL_MASTER, result_ex_time=RESULT_TTL_S)
        )
    stream = RedisStreamBroker(REDIS_URL, queue_name=QUEUE)
    return stream.with_result_backend(
        RedisAsyncResultBackend(REDIS_URL, result_ex_time=RESULT_TTL_S)
    )


broker = make_broker()


def fleet_redis() -> str | aioredis.Redis:
    """The fleet's Redis: a URL, or the Sentinels' current master (followed through failovers)."""
    if not SENTINELS:
        return REDIS_URL
    sentinel = Sentinel(SENTINELS, socket_timeout=0.5, socket_connect_timeout=0.5)
    # The fleet bounds each command and retries Redis itself: one quick retry here at most.
    master: aioredis.Redis = sentinel.master_for(
        SENTINEL_MASTER, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 1)
    )
    return master


class FleetClient:
    """A client whose token and rate limit are shared with the whole fleet through Redis."""

    def __init__(self) -> None:
        self.redis = fleet_redis()
        self.fleet = Fleet(
            self.redis,
            key=os.environ["TUYA_CLIENT_ID"],
            rate=FLEET_RATE,
            local_fallback=FLEET_FALLBACK,
        )
        self.client = TuyaClient.from_env(
            token_store=self.fleet.token_store, rate_limit=self.fleet.rate_limiter
        )

    async def close(self) -> None:
        """Close the client, then the fleet's Redis connections."""
        await self.client.close()
        await self.fleet.aclose()  # closes a client it made from a URL
        if not isinstance(self.redis, str):
            await self.redis.aclose()


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def open_client(state: TaskiqState) -> None:
    """Each worker process makes one client, shared by all the jobs it runs at once."""
    state.tuya = FleetClient()


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def close_client(state: TaskiqState) -> None:
    """Close the worker's client and its Redis connections."""
    await state.tuya.close()


@broker.task(task_name="tuyaio_fleet.review_task")
async def review_task(
    project_id: str,
    task_id: str,
    context: Context = TaskiqDepends(),  # noqa: B008 - taskiq's way to inject the worker state
) -> dict[str, Any]:
    """Accept the task if it waits for acceptance; report the outcome, errors included."""
    client: TuyaClient = context.state.tuya.client
    outcome = "skipped"
    try:
        detail = await client.maintenance.get_task(project_id, task_id)
        if detail.status is MaintenanceStatus.PENDING_ACCEPTANCE:
            await client.maintenance.accept_task(project_id, task_id)
            outcome = "accepted"
    except TuyaError as error:
        outcome = f"failed: {error}"
    return {"task_id": task_id, "outcome": outcome, "worker": os.getpid()}


async def produce(project_id: str) -> list[dict[str, Any]]:
    """Enqueue one job per task as the listing streams in, then collect every job's result."""
    await broker.startup()
    tuya = FleetClient()
    try:
        jobs = [
            await review_task.kiq(project_id, task.task_id)
            async for task in tuya.client.maintenance.iter_tasks(project_id, page_size=99)
        ]
        results = []
        for job in jobs:  # they finish roughly in order, so one waiter at a time suffices
            result = await job.wait_result(check_interval=0.05, timeout=RESULT_WAIT_S)
            results.append(result.raise_for_error().return_value)
        return results
    finally:
        await tuya.close()
        await broker.shutdown()


def main() -> None:
    """``python fleet_taskiq.py PROJECT_ID [--json]``"""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project_id")
    parser.add_argument("--json", action="store_true", help="print every job's result as JSON")
    args = parser.parse_args()
    results = asyncio.run(produce(args.project_id))
    if args.json:
        print(json.dumps(results))
        return
    outcomes = collections.Counter(result["outcome"].split(":")[0] for result in results)
    workers = collections.Counter(result["worker"] for result in results)
    print(f"{len(results)} jobs: {dict(outcomes)}, by worker process: {dict(workers)}")


if __name__ == "__main__":
    main()
