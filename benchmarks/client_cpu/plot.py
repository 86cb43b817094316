"""The figure: client CPU per call against concurrency, and per room against page size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot"]

_STYLE = {
    ("raw", "orjson"): ("tab:gray", "s", "-", "raw aiohttp (json.loads)"),
    ("tuyaio", "orjson"): ("tab:blue", "o", "-", "tuyaio (orjson)"),
    ("tuyaio", "no_orjson"): ("tab:blue", "o", "--", "tuyaio (orjson hidden)"),
}


def _panel(axis: Any, rows: dict[str, list[dict[str, Any]]], key: str) -> None:
    for (contender, variant), (color, marker, line, label) in _STYLE.items():
        found = sorted(rows.get(variant, []), key=lambda row: row[key])
        if not found:
            continue
        xs = [row[key] for row in found]
        spread = [row[f"{contender}_us"] for row in found]
        ys = [s["median"] for s in spread]
        errors = [
            [y - s["min"] for y, s in zip(ys, spread, strict=True)],
            [s["max"] - y for y, s in zip(ys, spread, strict=True)],
        ]
        axis.errorbar(
            xs, ys, yerr=errors, marker=marker, color=color, linestyle=line, label=label, capsize=3
        )
        if contender == "tuyaio" and variant == "orjson":
            for x, y, row in zip(xs, ys, found, strict=True):
                axis.annotate(
                    f"{row['ratio']['median']:.2f}",
                    (x, y),
                    textcoords="offset points",
                    xytext=(0, 9),
                    ha="center",
                    fontsize=8,
                    color=color,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                )
    axis.set_xscale("log")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8)


def plot(summaries: dict[str, Any], path: Path, subtitle: str) -> bool:
    """Draw to ``path`` (PNG); False when matplotlib is missing or nothing was measured."""
    if "details" not in summaries and "stream" not in summaries:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False
    figure, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.4))
    if "details" in summaries:
        _panel(left, summaries["details"], "concurrency")
        ticks = sorted(
            {row["concurrency"] for rows in summaries["details"].values() for row in rows}
        )
        left.set_xticks(ticks, [str(tick) for tick in ticks])
        left.set_ylim(bottom=0)
    left.set_xlabel("concurrency C")
    left.set_ylabel("client CPU µs per call (median, min–max)")
    left.set_title("task-detail GET, 0 ms server (labels: raw ÷ tuyaio)", fontsize=10)
    if "stream" in summaries:
        _panel(right, summaries["stream"], "page_size")
        ticks = sorted({row["page_size"] for rows in summaries["stream"].values() for row in rows})
        right.set_xticks(ticks, [f"{tick:,}" for tick in ticks])
        right.set_yscale("log")
        right.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
        right.yaxis.set_minor_formatter(FuncFormatter(lambda value, _pos: ""))
        right.set_yticks([1, 2, 3, 5, 10, 20, 30, 50])
    right.set_xlabel("page size")
    right.set_ylabel("client CPU µs per room (median, min–max)")
    right.set_title("streaming construction rooms, prefetch 8 (labels: raw ÷ tuyaio)", fontsize=10)
    figure.suptitle(subtitle, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
