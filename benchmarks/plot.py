"""The figure: requests/s against concurrency per contender, one panel per latency."""

from __future__ import annotations

from pathlib import Path

from .context import PEER, RAW, TUYAIO, Bench
from .scenarios import details

__all__ = ["plot_throughput"]

_STYLE = {TUYAIO: ("tab:blue", "o"), RAW: ("tab:gray", "s"), PEER: ("tab:orange", "^")}


def plot_throughput(bench: Bench, path: Path, subtitle: str) -> bool:
    """Draw scenario 1 to ``path`` (PNG); False when matplotlib is missing or nothing ran."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if bench.find(details.SCENARIO, TUYAIO) is None:
        return False
    latencies = list(bench.sandboxes)
    figure, axes = plt.subplots(1, len(latencies), figsize=(5.5 * len(latencies), 4.2))
    for axis, latency in zip(list(axes), latencies, strict=True):
        for contender, (color, marker) in _STYLE.items():
            points = [
                (concurrency, series.median("rate"))
                for concurrency in bench.plan.concurrencies
                if (
                    series := bench.find(
                        details.SCENARIO, contender, latency_ms=latency, concurrency=concurrency
                    )
                )
                is not None
                and series.samples
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, marker=marker, color=color, label=contender)
        axis.set_xscale("log", base=2)
        axis.set_xticks(bench.plan.concurrencies, [str(c) for c in bench.plan.concurrencies])
        axis.set_xlabel("concurrency (async tasks or threads)")
        axis.set_ylabel("requests/s (median)")
        axis.set_title(f"task-detail GETs, sandbox latency {latency:g} ms")
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.suptitle(subtitle, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
