"""Scenario 1: task-detail GETs at concurrency 1, 16 and 64, at 0 ms and 20 ms latency.

All three contenders make the same requests (``GET …/maintenance/tasks/{task_id}`` over 1,000
task IDs, round robin) from the same number of callers: async workers for tuyaio and the raw
baseline, threads (or one thread at concurrency 1) for tuya-connector-python.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from .. import peer
from ..context import PEER, RAW, TUYAIO, Bench, log
from ..measure import Sample, Series, drive_async, drive_threads
from ..raw import RawClient

__all__ = ["SCENARIO", "run", "task_ids"]

SCENARIO = "details"
DISTINCT_TASKS = 1_000


async def task_ids(bench: Bench, latency_ms: float, count: int = DISTINCT_TASKS) -> list[str]:
    """The first ``count`` task IDs of the sandbox's maintenance project."""
    info = bench.sandboxes[latency_ms]
    async with bench.client(latency_ms) as client:
        pager = client.maintenance.iter_tasks(info.project_id, limit=count)
        return [task.task_id async for task in pager]


async def run(bench: Bench) -> None:
    """Measure every latency × concurrency × contender, repetitions interleaved."""
    for latency_ms in bench.sandboxes:
        await _at_latency(bench, latency_ms)


async def _at_latency(bench: Bench, latency_ms: float) -> None:
    info = bench.sandboxes[latency_ms]
    ids = await task_ids(bench, latency_ms)
    project = info.project_id
    paths = [f"/v1.0/osaas/projects/{project}/maintenance/tasks/{tid}" for tid in ids]
    widest = max(bench.plan.concurrencies)
    api: Any = (
        await asyncio.to_thread(peer.make_api, info, pool_size=widest) if bench.peer else None
    )

    def peer_call(index: int) -> object:
        return peer.checked(api.get(paths[index % len(paths)]), "get task")

    async with (
        bench.client(latency_ms) as client,
        RawClient(info.base_url, info.client_id, info.secret) as raw,
    ):

        async def tuyaio_call(index: int) -> object:
            return await client.maintenance.get_task(project, ids[index % len(ids)])

        async def raw_call(index: int) -> object:
            return await raw.get(paths[index % len(paths)])

        for concurrency in bench.plan.concurrencies:
            n = bench.plan.detail_count(concurrency, latency_ms)
            params = {"latency_ms": latency_ms, "concurrency": concurrency, "requests": n}
            runners: dict[str, Callable[[int], Awaitable[Sample]]] = {
                TUYAIO: partial(drive_async, tuyaio_call, concurrency=concurrency),
                RAW: partial(drive_async, raw_call, concurrency=concurrency),
            }
            if api is not None:
                runners[PEER] = partial(_in_thread, peer_call, concurrency)
            await _measure(bench, runners, params, n, warmup=max(concurrency, 32))
    if api is not None:
        api.session.close()


async def _in_thread(call: Callable[[int], object], threads: int, n: int) -> Sample:
    return await asyncio.to_thread(drive_threads, call, n, threads)


async def _measure(
    bench: Bench,
    runners: dict[str, Callable[[int], Awaitable[Sample]]],
    params: dict[str, Any],
    n: int,
    *,
    warmup: int,
) -> None:
    series = {name: bench.add(Series(SCENARIO, name, dict(params))) for name in runners}
    for runner in runners.values():
        await runner(warmup)
    for repetition in range(bench.plan.repetitions):
        for name, runner in runners.items():
            sample = await runner(n)
            series[name].samples.append(sample)
            log(
                f"details {params['latency_ms']:g} ms C={params['concurrency']} {name} "
                f"#{repetition + 1}: {sample.rate:,.0f} req/s"
            )
