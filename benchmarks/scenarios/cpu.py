"""Scenario 4: client CPU per call at 0 ms latency, tuyaio vs the raw baseline, with a profile.

CPU is ``time.process_time()`` of this process (the sandbox runs in another one), over a fixed
number of task-detail GETs at a fixed concurrency, repetitions interleaved. At 0 ms the sandbox is
often the bottleneck, so requests/s says little about the client; CPU per call does. The
profile (cProfile, top functions by own and by cumulative time) is written to
``results/profile.txt`` from separate, untimed runs.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .. import peer
from ..context import PEER, RAW, TUYAIO, Bench, log
from ..measure import Sample, Series, drive_async, drive_threads
from ..raw import RawClient
from .details import task_ids

__all__ = ["SCENARIO", "run"]

SCENARIO = "cpu"
LATENCY_MS = 0.0
EXTRA_REPETITIONS = 2
"""CPU figures are noisier than wall times on a shared machine: two more repetitions."""
_PROFILE_LINES = 30


async def run(bench: Bench) -> None:
    """Measure CPU per 1,000 calls for each contender, then profile tuyaio and the baseline."""
    plan, info = bench.plan, bench.sandboxes[LATENCY_MS]
    ids = await task_ids(bench, LATENCY_MS)
    project = info.project_id
    paths = [f"/v1.0/osaas/projects/{project}/maintenance/tasks/{tid}" for tid in ids]
    n, concurrency = plan.cpu_calls, plan.cpu_concurrency
    api: Any = (
        await asyncio.to_thread(peer.make_api, info, pool_size=concurrency) if bench.peer else None
    )
    async with (
        bench.client(LATENCY_MS) as client,
        RawClient(info.base_url, info.client_id, info.secret) as raw,
    ):

        async def tuyaio_call(index: int) -> object:
            return await client.maintenance.get_task(project, ids[index % len(ids)])

        async def raw_call(index: int) -> object:
            return await raw.get(paths[index % len(paths)])

        def peer_call(index: int) -> object:
            return peer.checked(api.get(paths[index % len(paths)]), "get task")

        runners: dict[str, Callable[[int], Awaitable[Sample]]] = {
            TUYAIO: lambda k: drive_async(tuyaio_call, k, concurrency),
            RAW: lambda k: drive_async(raw_call, k, concurrency),
        }
        if api is not None:
            runners[PEER] = lambda k: asyncio.to_thread(drive_threads, peer_call, k, concurrency)
        params = {"latency_ms": LATENCY_MS, "concurrency": concurrency, "calls": n}
        series = {name: bench.add(Series(SCENARIO, name, dict(params))) for name in runners}
        for runner in runners.values():
            await runner(max(200, n // 10))
        for repetition in range(plan.repetitions + EXTRA_REPETITIONS):
            for name, runner in runners.items():
                sample = await runner(n)
                series[name].samples.append(sample)
                log(
                    f"cpu {name} #{repetition + 1}: {sample.cpu_ms_per_1000:.0f} ms CPU per "
                    f"1,000 calls ({sample.rate:,.0f} req/s)"
                )
        profiles = {name: await _profile(runners[name], n) for name in (TUYAIO, RAW)}
    if api is not None:
        api.session.close()
    report = [_difference(profiles[TUYAIO], profiles[RAW], n)]
    report += [_top(name, profile, n) for name, profile in profiles.items()]
    path = bench.results_dir / "profile.txt"
    path.write_text("\n\n".join(report))
    bench.notes["profile"] = _relative(path)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


async def _profile(runner: Callable[[int], Awaitable[Sample]], n: int) -> cProfile.Profile:
    profile = cProfile.Profile()
    profile.enable()
    try:
        await runner(n)
    finally:
        profile.disable()
    return profile


def _top(name: str, profile: cProfile.Profile, n: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs()
    out.write(f"=== {name}: {n} task-detail GETs at 0 ms latency, cProfile ===\n")
    stats.sort_stats("tottime").print_stats(_PROFILE_LINES)
    stats.sort_stats("cumulative").print_stats(_PROFILE_LINES)
    return out.getvalue()


def _own_time_by_function(profile: cProfile.Profile) -> dict[str, float]:
    """Own (``tottime``) seconds per ``module path:function``, paths cut after site-packages."""
    totals: dict[str, float] = {}
    raw_stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, own, *_rest) in raw_stats.items():
        where = re.split(r"site-packages/|/src/|/lib/python3\.\d+/", filename)[-1]
        key = f"{where}:{function}"
        totals[key] = totals.get(key, 0.0) + own
    return totals


def _difference(ours: cProfile.Profile, base: cProfile.Profile, n: int) -> str:
    """What tuyaio spends per call beyond the baseline, function by function."""
    mine, theirs = _own_time_by_function(ours), _own_time_by_function(base)
    diffs = sorted(
        ((mine.get(key, 0.0) - theirs.get(key, 0.0)) * 1e6 / n, key)
        for key in mine.keys() | theirs.keys()
    )
    total = (sum(mine.values()) - sum(theirs.values())) * 1e6 / n
    lines = [
        f"=== tuyaio minus raw aiohttp: own time per call under cProfile, {n} calls each ===",
        f"total: {sum(mine.values()) * 1e6 / n:.0f} µs vs {sum(theirs.values()) * 1e6 / n:.0f} µs"
        f" per call ({total:+.0f} µs; cProfile inflates call-heavy code, so read the ranking, "
        "not the sum)",
        "",
        "most added:",
        *(f"  {diff:+7.2f} µs  {key}" for diff, key in reversed(diffs[-_PROFILE_LINES:])),
        "",
        "most saved:",
        *(f"  {diff:+7.2f} µs  {key}" for diff, key in diffs[:8]),
    ]
    return "\n".join(lines) + "\n"
