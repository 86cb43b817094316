"""The results as Markdown tables (stdout, ``latest.md``) and as ``latest.json``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .context import PEER, RAW, TUYAIO, Bench
from .measure import Series
from .scenarios import batch, cpu, details, stream, walk
from .targets import Target

__all__ = ["markdown", "markdown_table", "number", "write_json"]


def markdown_table(header: Sequence[str], rows: list[list[str]]) -> str:
    """A Markdown table of ``rows`` under ``header``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def number(value: float | None, digits: int = 0) -> str:
    """A figure with thousands separators, ``–`` when missing."""
    return "–" if value is None else f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or not b else f"{a / b:.2f}"


def _fig(series: Series | None, attribute: str) -> float | None:
    return None if series is None or not series.samples else series.median(attribute)


def _details(bench: Bench) -> str:
    rows = []
    for latency in bench.sandboxes:
        for concurrency in bench.plan.concurrencies:
            key = {"latency_ms": latency, "concurrency": concurrency}
            ours, raw, peer = (
                _fig(bench.find(details.SCENARIO, name, **key), "rate")
                for name in (TUYAIO, RAW, PEER)
            )
            n = bench.plan.detail_count(concurrency, latency)
            rows.append(
                [
                    f"{latency:g} ms",
                    f"{concurrency}",
                    f"{n:,}",
                    number(ours),
                    number(raw),
                    number(peer),
                    _ratio(ours, raw),
                    _ratio(ours, peer),
                ]
            )
    header = ["latency", "C", "requests", "tuyaio", "raw aiohttp", "tuya-connector"]
    header += ["tuyaio / raw", "tuyaio / connector"]
    return "### 1. Task-detail GETs, requests/s\n\n" + markdown_table(header, rows)


def _walk(bench: Bench) -> str:
    rows = []
    for latency in bench.sandboxes:
        sequential = _fig(
            bench.find(walk.SCENARIO, TUYAIO, latency_ms=latency, prefetch=0), "wall_s"
        )
        for depth in bench.plan.walk_depths:
            key = {"latency_ms": latency, "prefetch": depth}
            ours = _fig(bench.find(walk.SCENARIO, TUYAIO, **key), "wall_s")
            raw_series = bench.find(walk.SCENARIO, RAW, **key)
            raw = _fig(raw_series, "wall_s")
            round_trip = _fig(raw_series, "page_latency_ms")
            peer = _fig(bench.find(walk.SCENARIO, PEER, **key), "wall_s")
            rows.append(
                [
                    f"{latency:g} ms",
                    "0 (sequential)" if depth == 0 else str(depth),
                    number(ours, 3),
                    number(raw, 3),
                    number(peer, 3),
                    _ratio(raw, ours),
                    _ratio(sequential, ours),
                    number(round_trip, 1),
                ]
            )
    header = ["latency", "prefetch", "tuyaio s", "raw s", "tuya-connector s"]
    header += ["tuyaio speed / raw", "tuyaio sequential / this", "page round trip ms (raw)"]
    plan = bench.plan
    title = f"### 2. Walk {plan.walk_tasks:,} tasks at page_size {plan.walk_page_size}, seconds"
    return title + "\n\n" + markdown_table(header, rows)


def _stream(bench: Bench) -> str:
    raw_rate = _fig(bench.find(stream.SCENARIO, RAW), "rate")
    rows = []
    for series in (s for s in bench.series if s.scenario == stream.SCENARIO):
        worst = max(sample.extra["rss_growth_mb"] for sample in series.samples)
        rows.append(
            [
                series.contender,
                number(series.median("rate")),
                number(series.median("rss_growth_mb"), 1),
                number(worst, 1),
                _ratio(series.median("rate"), raw_rate),
            ]
        )
    plan = bench.plan
    title = (
        f"### 3. Stream {plan.stream_rooms:,} rooms (page size {plan.stream_page_size:,}, "
        f"prefetch {plan.stream_prefetch}, 0 ms), {plan.stream_repetitions} run(s) each"
    )
    header = ["contender", "rooms/s", "RSS growth MB (median)", "(largest)", "speed / raw"]
    return title + "\n\n" + markdown_table(header, rows)


def _cpu(bench: Bench) -> str:
    raw_cpu = _fig(bench.find(cpu.SCENARIO, RAW), "cpu_ms_per_1000")
    rows = []
    for series in (s for s in bench.series if s.scenario == cpu.SCENARIO):
        per_1000 = series.median("cpu_ms_per_1000")
        rows.append(
            [
                series.contender,
                number(per_1000),
                number(series.median("rate")),
                _ratio(per_1000, raw_cpu),
            ]
        )
    plan = bench.plan
    title = (
        f"### 4. Client CPU per call ({plan.cpu_calls:,} task-detail GETs, "
        f"C={plan.cpu_concurrency}, 0 ms)"
    )
    header = ["contender", "CPU ms per 1,000 calls (= µs per call)", "req/s", "× raw"]
    table = markdown_table(header, rows)
    if "profile" in bench.notes:
        table += f"\n\nProfile of the top functions: `{bench.notes['profile']}`."
    return title + "\n\n" + table


def _batch(bench: Bench) -> str:
    rows = []
    for latency in bench.sandboxes:
        ours = _fig(bench.find(batch.SCENARIO, batch.BATCH, latency_ms=latency), "rate")
        base = _fig(bench.find(batch.SCENARIO, batch.GATHER, latency_ms=latency), "rate")
        rows.append([f"{latency:g} ms", number(ours), number(base), _ratio(ours, base)])
    plan = bench.plan
    title = (
        f"### 5. Batch: {plan.batch_calls:,} task-detail calls at concurrency "
        f"{plan.batch_concurrency}, calls/s"
    )
    header = ["latency", "tuyaio.batch.run", "gather + semaphore", "batch / gather"]
    return title + "\n\n" + markdown_table(header, rows)


def _targets(targets: list[Target]) -> str:
    rows = [
        [
            target.name,
            "–" if target.value is None else f"{target.value:.2f} {target.unit}",
            f"{'≥' if target.higher_is_better else '≤'} {target.bound:g} {target.unit}",
            f"**{target.verdict}**",
        ]
        for target in targets
    ]
    return "### Targets\n\n" + markdown_table(["target", "measured", "bound", "verdict"], rows)


_SECTIONS: dict[str, Callable[[Bench], str]] = {
    details.SCENARIO: _details,
    walk.SCENARIO: _walk,
    stream.SCENARIO: _stream,
    cpu.SCENARIO: _cpu,
    batch.SCENARIO: _batch,
}


def markdown(bench: Bench, targets: list[Target], preamble: str) -> str:
    """Every table of the scenarios that ran, then the targets."""
    ran = {series.scenario for series in bench.series}
    parts = [preamble] + [render(bench) for name, render in _SECTIONS.items() if name in ran]
    parts.append(_targets(targets))
    return "\n\n".join(parts) + "\n"


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``latest.json`` (indented, keys in insertion order)."""
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
