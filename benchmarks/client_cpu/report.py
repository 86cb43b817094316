"""Summaries (medians, ratios per round), the targets, the Markdown tables and the profile text."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from ..report import markdown_table, number
from .plan import RAW, TARGET_CONCURRENCY, TARGET_PAGE_SIZE, TUYAIO, Plan

__all__ = ["evaluate", "markdown", "profile_text", "summarise"]

FLAT_FROM = 16
FLAT_BOUND = 0.15
RSS_ROOMS = 100_000
VARIANTS = {"orjson": "with orjson", "no_orjson": "orjson hidden"}


def _per_unit_us(measure: dict[str, Any]) -> float:
    return float(measure["cpu_s"] * 1e6 / measure["count"])


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "min": min(values),
        "median": float(statistics.median(values)),
        "max": max(values),
    }


def _rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One measurement's rounds: per-unit CPU of each contender and raw ÷ tuyaio per round."""
    raw = [_per_unit_us(pair[RAW]) for pair in rounds]
    ours = [_per_unit_us(pair[TUYAIO]) for pair in rounds]

    def median_of(name: str, figure: Any) -> float | None:
        values = [figure(pair[name]) for pair in rounds]
        values = [value for value in values if value is not None]
        return float(statistics.median(values)) if values else None

    return {
        "rounds": len(rounds),
        "raw_us": _spread(raw),
        "tuyaio_us": _spread(ours),
        "ratio": _spread([r / o for r, o in zip(raw, ours, strict=True)]),
        "tuyaio_sys_share": median_of(TUYAIO, lambda m: m["sys_s"] / m["cpu_s"]),
        "raw_core_use": median_of(RAW, lambda m: m["cpu_s"] / m["wall_s"]),
        "tuyaio_core_use": median_of(TUYAIO, lambda m: m["cpu_s"] / m["wall_s"]),
        "server_us_tuyaio": median_of(
            TUYAIO,
            lambda m: None if m["server_cpu_s"] is None else m["server_cpu_s"] * 1e6 / m["count"],
        ),
    }


def _rss(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["contender"], run["rooms"]), []).append(run)
    return [
        {
            "contender": contender,
            "rooms": rooms,
            "runs": len(group),
            "growth_mb": _spread([run["rss_growth_mb"] for run in group]),
            "rss_before_mb": statistics.median(run["rss_before_mb"] for run in group),
            "cpu_us_per_room": statistics.median(
                run["cpu_s"] * 1e6 / run["count"] for run in group
            ),
            "peak_source": sorted({run["peak_source"] for run in group}),
        }
        for (contender, rooms), group in groups.items()
    ]


def summarise(measured: dict[str, Any]) -> dict[str, Any]:
    """Per variant (orjson or not) and per concurrency or page size: medians and ratios."""
    out: dict[str, Any] = {}
    for part, key in (("details", "concurrency"), ("stream", "page_size")):
        for variant, by_param in measured.get(part, {}).items():
            out.setdefault(part, {})[variant] = [
                {
                    key: int(param),
                    **{k: v for k, v in found.items() if k != "rounds"},
                    **_rounds(found["rounds"]),
                }
                for param, found in by_param.items()
            ]
    if "rss" in measured:
        out["rss"] = _rss(measured["rss"])
    return out


def _row(summaries: dict[str, Any], part: str, variant: str, key: str, value: int) -> Any:
    for row in summaries.get(part, {}).get(variant, []):
        if row[key] == value:
            return row
    return None


def _target(
    name: str, value: float | None, bound: float, *, higher: bool, unit: str, how: str, **extra: Any
) -> dict[str, Any]:
    met = None if value is None else (value >= bound if higher else value <= bound)
    return {
        "name": name,
        "value": value,
        "bound": bound,
        "higher_is_better": higher,
        "unit": unit,
        "met": met,
        "how": how,
        **extra,
    }


def _flatness(summaries: dict[str, Any]) -> tuple[float | None, dict[int, float]]:
    rows = [
        row
        for row in summaries.get("details", {}).get("orjson", [])
        if row["concurrency"] >= FLAT_FROM
    ]
    if len(rows) < 2:
        return None, {}
    medians = {row["concurrency"]: row["tuyaio_us"]["median"] for row in rows}
    mean = statistics.fmean(medians.values())
    return max(abs(value / mean - 1) for value in medians.values()), medians


def evaluate(summaries: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, judged on the median ratio (min and max alongside)."""

    def ratio(part: str, variant: str, key: str, value: int) -> tuple[float | None, Any]:
        row = _row(summaries, part, variant, key, value)
        return (None, None) if row is None else (row["ratio"]["median"], row["ratio"])

    targets = []
    value, spread = ratio("details", "orjson", "concurrency", TARGET_CONCURRENCY)
    targets.append(
        _target(
            f"task-detail GET, client CPU raw ÷ tuyaio at C={TARGET_CONCURRENCY}",
            value,
            0.85,
            higher=True,
            unit="×",
            how="median of the per-round ratios",
            spread=spread,
        )
    )
    for variant, bound in (("orjson", 0.60), ("no_orjson", 0.45)):
        value, spread = ratio("stream", variant, "page_size", TARGET_PAGE_SIZE)
        targets.append(
            _target(
                f"streaming rooms, client CPU raw ÷ tuyaio at page {TARGET_PAGE_SIZE} "
                f"({VARIANTS[variant]})",
                value,
                bound,
                higher=True,
                unit="×",
                how="median of the per-round ratios",
                spread=spread,
            )
        )
    growth = [
        row["growth_mb"]["max"]
        for row in summaries.get("rss", [])
        if row["contender"] == TUYAIO and row["rooms"] == RSS_ROOMS
    ]
    targets.append(
        _target(
            f"RSS growth of a {RSS_ROOMS:,}-room walk (tuyaio, streaming)",
            growth[0] if growth else None,
            30.0,
            higher=False,
            unit="MB",
            how="largest of the runs; peak RSS (VmHWM after clear_refs) minus RSS before",
        )
    )
    flat, medians = _flatness(summaries)
    targets.append(
        _target(
            f"tuyaio CPU per call flat from C={FLAT_FROM} to C=1024",
            None if flat is None else flat * 100,
            FLAT_BOUND * 100,
            higher=False,
            unit="%",
            how="largest deviation of a concurrency's median from the mean of the medians",
            medians_us=medians,
        )
    )
    return targets


def _ratios(spread: dict[str, float]) -> list[str]:
    return [f"{spread['min']:.2f}", f"**{spread['median']:.2f}**", f"{spread['max']:.2f}"]


def _details(summaries: dict[str, Any], plan: Plan) -> str:
    rows = []
    for variant, found in summaries.get("details", {}).items():
        for row in found:
            rows.append(
                [
                    str(row["concurrency"]),
                    VARIANTS[variant],
                    f"{plan.calls(row['concurrency']):,} × {row['rounds']}",
                    number(row["raw_us"]["median"]),
                    number(row["tuyaio_us"]["median"]),
                    *_ratios(row["ratio"]),
                    number(row["tuyaio_core_use"], 2),
                    number(row["server_us_tuyaio"]),
                ]
            )
    header = ["C", "tuyaio JSON", "calls × rounds", "raw µs/call", "tuyaio µs/call"]
    header += ["raw ÷ tuyaio min", "median", "max", "tuyaio core use", "server µs/call"]
    return (
        "### Task-detail GET (`maintenance.get_task`), client CPU per call, 0 ms server\n\n"
        + markdown_table(header, rows)
    )


def _stream(summaries: dict[str, Any], plan: Plan) -> str:
    rows = []
    for variant, found in summaries.get("stream", {}).items():
        for row in found:
            rows.append(
                [
                    f"{row['page_size']:,}",
                    VARIANTS[variant],
                    f"{row['rooms']:,} × {row['rounds']}",
                    number(row["raw_us"]["median"], 2),
                    number(row["tuyaio_us"]["median"], 2),
                    *_ratios(row["ratio"]),
                    number(row["tuyaio_core_use"], 2),
                    number(row["server_us_tuyaio"], 2),
                ]
            )
    header = ["page size", "tuyaio JSON", "rooms × rounds", "raw µs/room", "tuyaio µs/room"]
    header += ["raw ÷ tuyaio min", "median", "max", "tuyaio core use", "server µs/room"]
    return (
        f"### Streaming construction rooms (`iter_rooms`, prefetch {plan.prefetch}), client CPU "
        "per room\n\n" + markdown_table(header, rows)
    )


def _rss_table(summaries: dict[str, Any], plan: Plan) -> str:
    rows = [
        [
            row["contender"],
            f"{row['rooms']:,}",
            str(row["runs"]),
            number(row["growth_mb"]["median"], 1),
            number(row["growth_mb"]["max"], 1),
            number(row["rss_before_mb"], 1),
            number(row["cpu_us_per_room"], 2),
        ]
        for row in summaries.get("rss", [])
    ]
    header = ["walk", "rooms", "runs", "RSS growth MB (median)", "(largest)", "RSS before MB"]
    header.append("CPU µs/room")
    return (
        f"### RSS growth of a room walk (page size 1,000, prefetch {plan.prefetch}), one fresh "
        "process per walk\n\n" + markdown_table(header, rows)
    )


def _targets(targets: list[dict[str, Any]]) -> str:
    rows = []
    for target in targets:
        value = target["value"]
        measured = "–" if value is None else f"{value:.2f} {target['unit']}"
        if target.get("spread"):
            spread = target["spread"]
            measured += f" (min {spread['min']:.2f}, max {spread['max']:.2f})"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[target["met"]]
        bound = f"{'≥' if target['higher_is_better'] else '≤'} {target['bound']:g} {target['unit']}"
        rows.append([target["name"], measured, bound, f"**{verdict}**"])
    return "### Targets\n\n" + markdown_table(["target", "measured", "bound", "verdict"], rows)


def markdown(
    summaries: dict[str, Any], targets: list[dict[str, Any]], plan: Plan, preamble: str
) -> str:
    """The tables of what ran, then the targets."""
    parts = [preamble]
    if "details" in summaries:
        parts.append(_details(summaries, plan))
    if "stream" in summaries:
        parts.append(_stream(summaries, plan))
    if "rss" in summaries:
        parts.append(_rss_table(summaries, plan))
    parts.append(_targets(targets))
    parts.append(
        "Core use is client CPU ÷ wall time (1.00: the client was the bottleneck); server µs is "
        "the page server's CPU over the tuyaio rounds (10 ms ticks). The raw baseline parses "
        "with `json.loads` in both variants."
    )
    return "\n\n".join(parts) + "\n"


def profile_text(profiles: dict[str, Any], plan: Plan) -> str:
    """Each profile: tuyaio's functions by own time, then every function by own time."""
    out = [
        "cProfile of the client workers (untimed runs, after a warm-up): task-detail GETs at "
        f"C={TARGET_CONCURRENCY} ({plan.profile_calls:,} calls) and a walk of "
        f"{plan.profile_rooms:,} rooms at page size 1,000, prefetch {plan.prefetch}.",
        "µs per call (or per room) under cProfile, which inflates call-heavy code: read the",
        "ranking, not the sums. 'own+builtins' adds the C built-ins (dict.get, isinstance, …)",
        "that the function calls directly, which cProfile books as separate entries.",
        "tuyaio's code: src/tuyaio/, its generated decoders (<tuyaio fast structure …>) and",
        "attrs' generated methods of its models.",
    ]
    for name, found in profiles.items():
        out += [
            "",
            f"=== {name}: {found['own_us_per_unit_total']:.1f} µs own time per unit in all, "
            f"{found['own_us_per_unit_tuyaio']:.1f} in tuyaio's code "
            f"({found['own_and_builtins_us_per_unit_tuyaio']:.1f} with its built-in calls) ===",
            "",
            "tuyaio's functions by own time:",
            f"{'own µs':>8} {'+builtins':>10} {'cumul µs':>9} {'calls':>7}  function",
        ]
        out += [
            f"{row['own_us_per_unit']:8.2f} {row['own_and_builtins_us_per_unit']:10.2f} "
            f"{row['cumulative_us_per_unit']:9.2f} {row['calls_per_unit']:7.2f}  {row['function']}"
            for row in found["top_tuyaio"]
        ]
        out += ["", "every function by own time:"]
        out += [
            f"{row['own_us_per_unit']:8.2f} {'':>10} {row['cumulative_us_per_unit']:9.2f} "
            f"{row['calls_per_unit']:7.2f}  {row['function']}"
            for row in found["top"]
        ]
    return "\n".join(out) + "\n"
