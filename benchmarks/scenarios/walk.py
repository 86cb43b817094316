"""Scenario 2: walk every maintenance task (10,000 at page_size 99) at several prefetch depths.

Depth 0 is tuyaio's strictly sequential walk; the raw baseline walks with the same plan (first
page, then up to ``depth`` pages ahead) over plain dicts. tuya-connector-python has no pager:
it walks page after page with a plain loop (sequential only).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from .. import peer
from ..context import PEER, RAW, TUYAIO, Bench, log
from ..measure import Sample, Series, timed
from ..raw import RawClient

__all__ = ["SCENARIO", "run"]

SCENARIO = "walk"


async def run(bench: Bench) -> None:
    """Walk at every depth and latency, repetitions interleaved across contenders."""
    for latency_ms in bench.sandboxes:
        await _at_latency(bench, latency_ms)


async def _at_latency(bench: Bench, latency_ms: float) -> None:
    plan, info = bench.plan, bench.sandboxes[latency_ms]
    project = info.project_id
    path = f"/v1.0/osaas/projects/{project}/maintenance/tasks"
    use_peer = bench.peer and plan.walk_peer
    api: Any = await asyncio.to_thread(peer.make_api, info, pool_size=1) if use_peer else None

    def peer_walk() -> int:
        count, page_no = 0, 1
        while True:
            query = {"page_no": page_no, "page_size": plan.walk_page_size}
            result = peer.checked(api.get(path, query), "list tasks")
            count += len(result["tasks"])
            if not result["tasks"] or page_no * plan.walk_page_size >= result["total"]:
                return _checked(count, plan.walk_tasks)
            page_no += 1

    latencies: list[float] = []

    async with (
        bench.client(latency_ms) as client,
        RawClient(info.base_url, info.client_id, info.secret) as raw,
    ):

        async def tuyaio_walk(depth: int) -> int:
            pager = client.maintenance.iter_tasks(
                project, page_size=plan.walk_page_size, prefetch=depth
            )
            count = 0
            async for _task in pager:
                count += 1
            return _checked(count, plan.walk_tasks)

        async def raw_walk(depth: int) -> int:
            count = 0
            latencies.clear()
            pages = raw.iter_pages(
                path,
                {},
                page_param="page_no",
                size_param="page_size",
                items_key="tasks",
                page_size=plan.walk_page_size,
                prefetch=depth,
                latencies_ms=latencies,
            )
            async for items in pages:
                count += len(items)
            return _checked(count, plan.walk_tasks)

        runners: dict[tuple[str, int], Callable[[], Awaitable[Sample]]] = {}
        for depth in plan.walk_depths:
            runners[TUYAIO, depth] = partial(_timed, tuyaio_walk, depth)
            runners[RAW, depth] = partial(_timed, raw_walk, depth)
        if api is not None:
            runners[PEER, 0] = lambda: timed(asyncio.to_thread(peer_walk))
        params = {
            "latency_ms": latency_ms,
            "tasks": plan.walk_tasks,
            "page_size": plan.walk_page_size,
        }
        series = {
            key: bench.add(Series(SCENARIO, key[0], {**params, "prefetch": key[1]}))
            for key in runners
        }
        await tuyaio_walk(8)
        await raw_walk(8)
        for repetition in range(plan.repetitions):
            for key, runner in runners.items():
                sample = await runner()
                if key[0] == RAW:
                    sample.extra["page_latency_ms"] = statistics.median(latencies)
                series[key].samples.append(sample)
                log(
                    f"walk {latency_ms:g} ms {key[0]} prefetch={key[1]} #{repetition + 1}: "
                    f"{sample.wall_s:.3f} s"
                )
    if api is not None:
        api.session.close()


async def _timed(walk: Callable[[int], Awaitable[int]], depth: int) -> Sample:
    return await timed(walk(depth))


def _checked(count: int, expected: int) -> int:
    if count != expected:
        raise RuntimeError(f"walked {count} tasks, expected {expected}")
    return count
