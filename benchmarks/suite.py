"""The whole run: start the sandboxes, run the scenarios, print and save the results."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import peer
from .context import Bench, log
from .machine import describe, load_average, summary
from .plan import LATENCIES_MS, Plan
from .plot import plot_throughput
from .report import markdown, write_json
from .sandbox_proc import SandboxProcess, start_all
from .scenarios import batch, cpu, details, stream, walk
from .targets import evaluate

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    details.SCENARIO: details.run,
    walk.SCENARIO: walk.run,
    stream.SCENARIO: stream.run,
    cpu.SCENARIO: cpu.run,
    batch.SCENARIO: batch.run,
}
PLOT_NAME = "requests_per_s.png"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="tuyaio vs a raw aiohttp baseline vs tuya-connector-python, on the sandbox.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller counts (under 3 minutes on 2 cores); results go to results/quick/",
    )
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help=f"comma-separated scenarios to run (default: all of {', '.join(SCENARIOS)})",
    )
    parser.add_argument("--no-peer", action="store_true", help="leave tuya-connector-python out")
    parser.add_argument("--out", type=Path, help="results directory (default: benchmarks/results)")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.scenarios = names
    return args


async def _run(bench: Bench, names: list[str]) -> None:
    seconds: dict[str, float] = {}
    for name in names:
        log(f"scenario {name} …")
        started = time.perf_counter()
        await SCENARIOS[name](bench)
        seconds[name] = round(time.perf_counter() - started, 1)
        log(f"scenario {name} took {seconds[name]:.1f} s")
    bench.notes["scenario_seconds"] = seconds


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; print the tables; write ``latest.json``, ``latest.md`` and the plot."""
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that the sandboxes are stopped
    plan = Plan.quick() if args.quick else Plan.full()
    out: Path = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    use_peer = not args.no_peer and peer.available()
    if not use_peer and not args.no_peer:
        log("tuya-connector-python is not installed (pip install -e '.[bench]'): left out")
    command = "python -m benchmarks.run" + (" " + shlex.join(argv or sys.argv[1:])).rstrip()
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load_before = load_average()
    machine = describe()
    processes = [
        SandboxProcess(
            latency_ms=latency,
            tasks=plan.walk_tasks,
            rooms=plan.stream_rooms if latency == stream.LATENCY_MS else 100,
            max_seconds=plan.sandbox_max_seconds,
        )
        for latency in LATENCIES_MS
    ]
    log(f"{plan.name} run; starting {len(processes)} sandboxes …")
    infos = start_all(processes)
    try:
        bench = Bench(
            plan=plan,
            sandboxes={info.latency_ms: info for info in infos},
            results_dir=out,
            peer=use_peer,
        )
        if use_peer:
            bench.notes["peer_probe"] = peer.probe(infos[0])
        asyncio.run(_run(bench, args.scenarios))
    finally:
        for process in processes:
            process.stop()
    elapsed = time.perf_counter() - started
    machine_after = describe()
    if (machine_after["git_commit"], machine_after["git_dirty_src"]) != (
        machine["git_commit"],
        machine["git_dirty_src"],
    ):
        bench.notes["src_changed_during_run"] = {
            "git_commit": machine_after["git_commit"],
            "git_dirty_src": machine_after["git_dirty_src"],
        }
    load_after = load_average()
    targets = evaluate(bench)
    preamble = (
        f"Run: `{command}` ({plan.name}, {elapsed:.0f} s, {started_at:%Y-%m-%d %H:%M} UTC) on "
        f"{summary(machine)}; load average before/after: {load_before} / {load_after}. "
        f"Medians of {plan.repetitions} repetitions unless noted; sandbox and client in "
        "separate processes on 127.0.0.1."
    )
    text = markdown(bench, targets, preamble)
    print(text)
    (out / "latest.md").write_text(text)
    plotted = plot_throughput(
        bench,
        out / PLOT_NAME,
        f"tuyaio {machine['versions']['tuyaio']}, {machine['cpu']}, {machine['logical_cpus']} CPUs",
    )
    write_json(
        out / "latest.json",
        {
            "command": command,
            "plan": plan.as_json(),
            "started_at": started_at.isoformat(timespec="seconds"),
            "elapsed_s": round(elapsed, 1),
            "machine": machine,
            "load_average": {"before": load_before, "after": load_after},
            "sandbox": {"latencies_ms": list(LATENCIES_MS), "host": "127.0.0.1"},
            "targets": [target.as_json() for target in targets],
            "series": [series.as_json() for series in bench.series],
            "notes": {**bench.notes, "plot": PLOT_NAME if plotted else None},
        },
    )
    log(f"done in {elapsed:.0f} s; results in {out}")
    return 0
