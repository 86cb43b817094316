"""Scenario 5: 10,000 task-detail calls through ``tuyaio.batch.run`` at concurrency 64, against
a plain ``asyncio.gather`` over a semaphore (the baseline), both calling ``get_task``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import tuyaio

from ..context import Bench, log
from ..measure import Sample, Series, timed
from .details import task_ids

__all__ = ["BATCH", "GATHER", "SCENARIO", "run"]

SCENARIO = "batch"
BATCH = "tuyaio.batch.run"
GATHER = "gather + semaphore"


async def run(bench: Bench) -> None:
    """Both ways at each latency, repetitions interleaved."""
    for latency_ms in bench.sandboxes:
        await _at_latency(bench, latency_ms)


async def _at_latency(bench: Bench, latency_ms: float) -> None:
    plan, project = bench.plan, bench.sandboxes[latency_ms].project_id
    n, concurrency = plan.batch_calls, plan.batch_concurrency
    ids = await task_ids(bench, latency_ms)
    inputs = [ids[index % len(ids)] for index in range(n)]
    async with bench.client(latency_ms) as client:

        async def get(task_id: str) -> object:
            return await client.maintenance.get_task(project, task_id)

        async def with_batch(items: list[str]) -> int:
            outcomes = await tuyaio.batch.run(get, items, concurrency=concurrency)
            failed = [outcome.error for outcome in outcomes if not outcome.ok]
            if failed:
                raise RuntimeError(f"{len(failed)} calls failed, first: {failed[0]!r}")
            return len(outcomes)

        async def with_gather(items: list[str]) -> int:
            slots = asyncio.Semaphore(concurrency)

            async def one(task_id: str) -> object:
                async with slots:
                    return await get(task_id)

            return len(await asyncio.gather(*(one(task_id) for task_id in items)))

        runners: dict[str, Callable[[list[str]], Awaitable[Sample]]] = {
            BATCH: lambda items: timed(with_batch(items)),
            GATHER: lambda items: timed(with_gather(items)),
        }
        params = {"latency_ms": latency_ms, "concurrency": concurrency, "calls": n}
        series = {name: bench.add(Series(SCENARIO, name, dict(params))) for name in runners}
        for runner in runners.values():
            await runner(inputs[: concurrency * 4])
        for repetition in range(plan.repetitions):
            for name, runner in runners.items():
                sample = await runner(inputs)
                series[name].samples.append(sample)
                log(f"batch {latency_ms:g} ms {name} #{repetition + 1}: {sample.rate:,.0f} calls/s")
