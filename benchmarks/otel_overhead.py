"""What OpenTelemetry costs a call: CPU per ``get_task`` with ``tuyaio.otel`` imported but not
enabled, against a plain client, and with the hook enabled (no-op providers), for reference.

Each round runs each variant in a fresh process against one sandbox process, in alternating
order; the figure is the client's ``process_time()`` per call. Prints a table and writes
``benchmarks/results/otel_overhead.json``::

    python -m benchmarks.otel_overhead            # 10 rounds of 3,000 calls
    python -m benchmarks.otel_overhead --rounds 4 --calls 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .sandbox_proc import SandboxProcess

RESULTS = Path(__file__).parent / "results" / "otel_overhead.json"
VARIANTS = ("plain", "otel imported, off", "otel hook on")


async def _one(variant: str, info: dict[str, str], calls: int) -> float:
    hooks = []
    if variant != "plain":
        import tuyaio.otel  # imported: what an application that could enable it pays

        if variant == "otel hook on":
            hooks.append(tuyaio.otel.hook())
    from tuyaio import TuyaClient

    async with TuyaClient(
        info["client_id"], info["secret"], base_url=info["base_url"], hooks=hooks
    ) as client:
        project = info["project_id"]
        task_id = (await client.maintenance.list_tasks(project)).items[0].task_id
        for _ in range(200):  # warm-up: token, connections, decoders
            await client.maintenance.get_task(project, task_id)
        started = time.process_time()
        for _ in range(calls):
            await client.maintenance.get_task(project, task_id)
        return (time.process_time() - started) / calls * 1e6


def main() -> None:
    """Alternating rounds of the three variants; print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--info", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(_one(args.one, json.loads(args.info), args.calls))))
        return
    server = SandboxProcess(latency_ms=0, tasks=5, rooms=10, max_seconds=600)
    server.start()
    try:
        ready = server.wait_ready()
        info = {
            "base_url": ready.base_url,
            "client_id": ready.client_id,
            "secret": ready.secret,
            "project_id": ready.project_id,
        }
        cpu: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        for round_no in range(args.rounds):
            order = VARIANTS if round_no % 2 == 0 else tuple(reversed(VARIANTS))
            for variant in order:
                command = [sys.executable, "-m", "benchmarks.otel_overhead", "--one", variant]
                command += ["--info", json.dumps(info), "--calls", str(args.calls)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                cpu[variant].append(float(done.stdout.strip().splitlines()[-1]))
    finally:
        server.stop()
    plain = cpu["plain"]
    rows = []
    for variant in VARIANTS:
        ratios = [p / v for p, v in zip(plain, cpu[variant], strict=True)]
        spread = [min(ratios), statistics.median(ratios), max(ratios)]
        rows.append(
            {
                "variant": variant,
                "cpu_us_median": round(statistics.median(cpu[variant]), 1),
                "plain_over_variant": [round(value, 3) for value in spread],
            }
        )
        low, median, high = rows[-1]["plain_over_variant"]
        print(
            f"{variant:<20} {rows[-1]['cpu_us_median']:>7.1f} µs/call  "
            f"plain ÷ this {median:.3f} ({low:.3f}–{high:.3f})"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"rounds": args.rounds, "calls": args.calls, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
