"""The run: capture the sandbox's answers, start the page server, run the client workers, report.

``python -m benchmarks.client_cpu [--quick] [--only PARTS] [--out DIR]``; see
``benchmarks/README.md``, "Client CPU".
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..context import log
from ..machine import describe, load_average, summary
from ..sandbox_proc import stop_process
from .capture import capture
from .pinning import Cores, cores, pin
from .plan import TARGET_CONCURRENCY, Plan
from .plot import plot
from .report import evaluate, markdown, profile_text, summarise
from .worker import NO_ORJSON_ENV

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parents[1] / "results" / "client_cpu"
PARTS = ("details", "stream", "rss", "profile")
ORJSON, NO_ORJSON = "orjson", "no_orjson"
"""The two variants: tuyaio with orjson (as installed here), and with orjson hidden."""
CLIENT_ID, SECRET = "bench-client-id", "bench-secret"
_REPO = Path(__file__).resolve().parents[2]
_STARTUP_S = 30.0


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.client_cpu",
        description="Client CPU per call and per streamed room: tuyaio vs the raw aiohttp "
        "baseline, against a client-bound page server on another core.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds (under 3 minutes); results in quick/"
    )
    parser.add_argument("--only", metavar="PARTS", help=f"comma-separated: {', '.join(PARTS)}")
    parser.add_argument("--out", type=Path, help=f"results directory (default: {RESULTS})")
    args = parser.parse_args(argv)
    args.parts = args.only.split(",") if args.only else list(PARTS)
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    return args


class PageServer:
    """The page server process, pinned to the server core; stopped on exit (and by itself)."""

    def __init__(self, cache: Path, core: int | None, max_seconds: float) -> None:
        argv = [sys.executable, "-m", "benchmarks.client_cpu.page_server", "--cache", str(cache)]
        argv += ["--max-seconds", f"{max_seconds:g}"]
        if core is not None:
            argv += ["--cpu", str(core)]
        self._process = subprocess.Popen(
            argv, cwd=_REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            ready = selector.select(_STARTUP_S)
        line = self._process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError("the page server did not start")
        announced = json.loads(line)
        self.base_url: str = announced["base_url"]
        self.pid: int = announced["pid"]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s: this process only."""
        stop_process(self._process)


class Runner:
    """Starts client workers on the client core, one at a time, each under a deadline."""

    def __init__(self, plan: Plan, server: dict[str, Any], pinning: Cores) -> None:
        self.plan = plan
        self.server = server
        self.pinning = pinning
        self.seen: dict[str, Any] = {}

    def worker(self, spec: dict[str, Any], *, no_orjson: bool = False) -> dict[str, Any]:
        spec = {
            "cpu": self.pinning.client,
            "max_seconds": self.plan.worker_max_seconds,
            "server": self.server,
            **spec,
        }
        env = {**os.environ, NO_ORJSON_ENV: "1" if no_orjson else "0"}
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.client_cpu.worker", json.dumps(spec)],
            cwd=_REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.plan.worker_max_seconds + 30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"worker {spec['mode']} failed:\n{done.stderr[-4000:]}")
        answer: dict[str, Any] = json.loads(done.stdout)
        expected_orjson = not no_orjson
        if answer["orjson"] != expected_orjson:
            log("orjson is not installed: the 'with orjson' rows are without it")
        self.seen.setdefault("tuyaio_file", answer["tuyaio_file"])
        self.seen.setdefault("worker_affinity", answer["affinity"])
        self.seen.setdefault("orjson_in_workers", {})[str(expected_orjson)] = answer["orjson"]
        return answer["figures"]

    def pooled(self, mode: str, variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """``plan.processes`` workers of ``plan.rounds`` rounds each per variant (``orjson``,
        ``no_orjson``), the variants' processes interleaved; each variant's rounds pooled."""
        pooled: dict[str, dict[str, Any]] = {variant: {} for variant in variants}
        for index in range(self.plan.processes):
            for variant, spec in variants.items():
                figures = self.worker(
                    {"mode": mode, "rounds": self.plan.rounds, **spec},
                    no_orjson=variant == NO_ORJSON,
                )
                for key, value in figures.items():
                    if key in pooled[variant]:
                        pooled[variant][key]["rounds"] += value["rounds"]
                    else:
                        pooled[variant][key] = value
                log(f"{mode} ({variant}): process {index + 1} of {self.plan.processes} done")
        return pooled


def _details(runner: Runner) -> dict[str, Any]:
    plan = runner.plan

    def spec(concurrencies: Sequence[int]) -> dict[str, Any]:
        return {
            "concurrencies": list(concurrencies),
            "calls": {str(c): plan.calls(c) for c in concurrencies},
        }

    variants = {ORJSON: spec(plan.concurrencies), NO_ORJSON: spec((TARGET_CONCURRENCY,))}
    return runner.pooled("details", variants)


def _stream(runner: Runner) -> dict[str, Any]:
    plan = runner.plan

    def spec(page_sizes: Sequence[int]) -> dict[str, Any]:
        return {
            "page_sizes": list(page_sizes),
            "rooms": {str(size): plan.stream_rooms[size] for size in page_sizes},
            "prefetch": plan.prefetch,
        }

    variants = {ORJSON: spec(plan.page_sizes), NO_ORJSON: spec(plan.no_orjson_page_sizes)}
    return runner.pooled("stream", variants)


def _rss(runner: Runner) -> list[dict[str, Any]]:
    plan, runs = runner.plan, []
    for run in range(plan.rss_runs):
        for rooms in plan.rss_rooms:
            for contender in ("raw", "tuyaio", "tuyaio to_list()"):
                spec = {
                    "mode": "rss",
                    "contender": contender,
                    "rooms": rooms,
                    "page_size": 1000,
                    "prefetch": plan.prefetch,
                }
                figures = runner.worker(spec)
                runs.append({"contender": contender, "rooms": rooms, "run": run + 1, **figures})
                log(f"rss {contender} {rooms:,} rooms: +{figures['rss_growth_mb']:.1f} MB")
    return runs


def _measure(runner: Runner, parts: Sequence[str]) -> dict[str, Any]:
    plan, measured, seconds = runner.plan, {}, {}
    for part in parts:
        log(f"{part} …")
        started = time.perf_counter()
        if part == "details":
            measured["details"] = _details(runner)
        elif part == "stream":
            measured["stream"] = _stream(runner)
        elif part == "rss":
            measured["rss"] = _rss(runner)
        elif part == "profile":
            spec = {
                "mode": "profile",
                "detail_calls": plan.profile_calls,
                "concurrency": TARGET_CONCURRENCY,
                "rooms": plan.profile_rooms,
                "page_size": 1000,
                "prefetch": plan.prefetch,
            }
            measured["profile"] = runner.worker(spec)
        seconds[part] = round(time.perf_counter() - started, 1)
        log(f"{part} took {seconds[part]:.1f} s")
    measured["part_seconds"] = seconds
    return measured


def _source(tuyaio_file: str | None) -> dict[str, Any]:
    """Where the workers' tuyaio came from: its directory, and the commit of the git work tree
    holding it (with whether its ``src`` differs from that commit)."""
    if not tuyaio_file:
        return {}
    package = Path(tuyaio_file).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=package, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    return {
        "path": str(package),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", str(package))),
    }


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the parts asked for; print the tables; write JSON, Markdown, the plot, the profile."""
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that the page server is stopped
    plan = Plan.quick() if args.quick else Plan.full()
    out: Path = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.client_cpu" + (" " + shlex.join(argv or sys.argv[1:])).rstrip()
    pinning = cores()
    pin(pinning.server)  # this process (mostly waiting) stays off the client's core
    started_at, started = datetime.now(UTC), time.perf_counter()
    load_before, machine = load_average(), describe()
    log(f"{plan.name} run; cores: {pinning.as_json()}; capturing the sandbox's answers …")
    with tempfile.TemporaryDirectory(prefix="tuyaio-bench-") as tmp:
        cache = Path(tmp) / "capture.json"
        captured = capture(cache)
        server = PageServer(cache, pinning.server, plan.server_max_seconds)
    try:
        runner = Runner(
            plan,
            {
                "base_url": server.base_url,
                "pid": server.pid,
                "client_id": CLIENT_ID,
                "secret": SECRET,
                "project_id": captured["project_id"],
                "task_ids": list(captured["details"]),
            },
            pinning,
        )
        measured = _measure(runner, args.parts)
    finally:
        server.stop()
    elapsed = time.perf_counter() - started
    load_after = load_average()
    source = runner.seen["tuyaio_source"] = _source(runner.seen.get("tuyaio_file"))
    commit = (source.get("git_commit") or "?")[:7] + (
        " (modified)" if source.get("git_dirty") else ""
    )
    summaries = summarise(measured)
    targets = evaluate(summaries)
    preamble = (
        f"Run: `{command}` ({plan.name}, {elapsed:.0f} s, {started_at:%Y-%m-%d %H:%M} UTC), "
        f"tuyaio from `{source.get('path', '?')}` at commit {commit}, benchmarks at "
        f"{(machine['git_commit'] or '?')[:7]}, on {summary(machine)}; "
        f"load average before/after: {load_before} / {load_after}. "
        + (
            f"Page server on core {pinning.server}, client workers on core {pinning.client}. "
            if pinning.pinned
            else "Fewer than 2 cores: nothing pinned. "
        )
        + (
            ""
            if runner.seen.get("orjson_in_workers", {}).get("True", True)
            else "**orjson is not installed: the 'with orjson' rows ran without it.** "
        )
        + "Client CPU is process_time() inside the client process around the measured loop; "
        "ratios are raw ÷ tuyaio per round, rounds alternating raw, tuyaio."
    )
    text = markdown(summaries, targets, plan, preamble)
    print(text)
    (out / "latest.md").write_text(text)
    if "profile" in measured:
        (out / "profile.txt").write_text(profile_text(measured["profile"], plan))
    plotted = plot(
        summaries,
        out / "client_cpu.png",
        f"tuyaio at {commit}, {machine['cpu']}, client and server pinned to separate cores"
        if pinning.pinned
        else f"tuyaio at {commit}, {machine['cpu']}, not pinned",
    )
    document = {
        "command": command,
        "plan": plan.as_json(),
        "started_at": started_at.isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed, 1),
        "machine": machine,
        "load_average": {"before": load_before, "after": load_after},
        "cores": pinning.as_json(),
        "workers": runner.seen,
        "targets": targets,
        "summaries": summaries,
        "measured": measured,
        "plot": "client_cpu.png" if plotted else None,
    }
    (out / "latest.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    log(f"done in {elapsed:.0f} s; results in {out}")
    return 0
