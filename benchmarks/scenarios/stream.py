"""Scenario 3: stream 200,000 construction rooms; peak RSS growth and items/s.

Each measurement runs in its own process (:mod:`benchmarks.scenarios.stream_worker`) so that
its peak RSS belongs to that walk alone. Contenders: tuyaio's ``iter_rooms`` (default page size
1,000 and prefetch 8), the raw baseline walking the same pages as dicts, and, for contrast,
tuyaio's ``to_list()`` holding every room at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from ..context import RAW, TUYAIO, Bench, log
from ..measure import Sample, Series

__all__ = ["SCENARIO", "run"]

SCENARIO = "stream"
LATENCY_MS = 0.0
_REPO = Path(__file__).resolve().parents[2]
_WORKER_TIMEOUT_S = 300
_FIGURES = ("rss_before_mb", "peak_rss_mb", "sampled_peak_rss_mb", "rss_growth_mb")
_CONTENDERS = {TUYAIO: "tuyaio", RAW: "raw", "tuyaio to_list()": "tuyaio-list"}


async def _one(bench: Bench, worker_name: str) -> Sample:
    info, plan = bench.sandboxes[LATENCY_MS], bench.plan
    env = {
        **os.environ,
        "BENCH_BASE_URL": info.base_url,
        "BENCH_CLIENT_ID": info.client_id,
        "BENCH_SECRET": info.secret,
        "BENCH_PROJECT": info.lighting_project_id,
        "BENCH_ROOMS": str(plan.stream_rooms),
        "BENCH_PAGE_SIZE": str(plan.stream_page_size),
        "BENCH_PREFETCH": str(plan.stream_prefetch),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.scenarios.stream_worker",
        worker_name,
        cwd=_REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), _WORKER_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"stream worker {worker_name} exited with {process.returncode}")
    figures = json.loads(stdout)
    return Sample(
        wall_s=figures["wall_s"],
        cpu_s=figures["cpu_s"],
        count=figures["count"],
        extra={key: figures[key] for key in _FIGURES},
    )


async def run(bench: Bench) -> None:
    """One worker process per contender and repetition, interleaved."""
    plan = bench.plan
    contenders = dict(_CONTENDERS)
    if not plan.stream_materialised:
        del contenders["tuyaio to_list()"]
    params = {
        "latency_ms": LATENCY_MS,
        "rooms": plan.stream_rooms,
        "page_size": plan.stream_page_size,
        "prefetch": plan.stream_prefetch,
    }
    series = {name: bench.add(Series(SCENARIO, name, dict(params))) for name in contenders}
    for repetition in range(plan.stream_repetitions):
        for name, worker_name in contenders.items():
            sample = await _one(bench, worker_name)
            series[name].samples.append(sample)
            log(
                f"stream {name} #{repetition + 1}: {sample.rate:,.0f} rooms/s, "
                f"RSS +{sample.extra['rss_growth_mb']:.1f} MB"
            )
