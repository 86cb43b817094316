"""A batch spread over a fleet of worker processes: taskiq jobs, one Tuya token, one rate limit.

The producer walks a project's maintenance tasks and enqueues one job per task ID; any number of
worker processes, on any number of hosts, run the jobs. Every process shares the fleet's token
(:class:`~tuyaio.fleet.RedisTokenStore`) and its request rate
(:class:`~tuyaio.fleet.RedisRateLimiter`), and the jobs travel through a Redis stream
(taskiq-redis), all on the same Redis. The job reviews one task: it reads the detail and
accepts the task if it is waiting for acceptance.

Start the workers (here 4 processes; run the same command on more hosts for more)::

    taskiq worker fleet_taskiq:broker --workers 4 --app-dir examples

then the producer, which waits for every job and prints what happened::

    python examples/fleet_taskiq.py PROJECT_ID

Settings come from the environment: ``TUYA_CLIENT_ID``, ``TUYA_CLIENT_SECRET``, ``TUYA_REGION``
(or ``TUYA_BASE_URL``), ``REDIS_URL`` (default ``redis://localhost:6379/0``) and
``TUYA_FLEET_RATE``, the project's requests per second for the whole fleet (default 10).

Needs ``pip install 'tuyaio[redis]' taskiq taskiq-redis``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
from typing import Any

from taskiq import Context, TaskiqDepends, TaskiqEvents, TaskiqState
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from tuyaio import MaintenanceStatus, TuyaClient, TuyaError
from tuyaio.fleet import RedisRateLimiter, RedisTokenStore

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
FLEET_RATE = float(os.environ.get("TUYA_FLEET_RATE", "10"))
RESULT_WAIT_S = 3600.0

broker = RedisStreamBroker(REDIS_URL, queue_name="tuyaio:fleet-example").with_result_backend(
    RedisAsyncResultBackend(REDIS_URL, result_ex_time=24 * 3600)
)


def fleet_client() -> tuple[TuyaClient, RedisTokenStore, RedisRateLimiter]:
    """A client whose token and rate limit are shared with the whole fleet through Redis."""
    store = RedisTokenStore(REDIS_URL)
    limiter = RedisRateLimiter(REDIS_URL, FLEET_RATE, key=os.environ["TUYA_CLIENT_ID"])
    return TuyaClient.from_env(token_store=store, rate_limit=limiter), store, limiter


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def open_client(state: TaskiqState) -> None:
    """Each worker process makes one client, shared by all the jobs it runs at once."""
    state.client, state.store, state.limiter = fleet_client()


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def close_client(state: TaskiqState) -> None:
    """Close the worker's client and its Redis connections."""
    await state.client.close()
    await state.store.aclose()
    await state.limiter.aclose()


@broker.task(task_name="tuyaio_fleet.review_task")
async def review_task(
    project_id: str,
    task_id: str,
    context: Context = TaskiqDepends(),  # noqa: B008 - taskiq's way to inject the worker state
) -> dict[str, Any]:
    """Accept the task if it waits for acceptance; report the outcome, errors included."""
    client: TuyaClient = context.state.client
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
    client, store, limiter = fleet_client()
    try:
        async with client:
            jobs = [
                await review_task.kiq(project_id, task.task_id)
                async for task in client.maintenance.iter_tasks(project_id, page_size=99)
            ]
        results = []
        for job in jobs:  # they finish roughly in order, so one waiter at a time suffices
            result = await job.wait_result(check_interval=0.05, timeout=RESULT_WAIT_S)
            results.append(result.raise_for_error().return_value)
        return results
    finally:
        await store.aclose()
        await limiter.aclose()
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
