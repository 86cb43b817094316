"""Issue 9's targets, judged from the series of one run."""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass
from typing import Any

from .context import PEER, RAW, TUYAIO, Bench
from .scenarios import cpu, details, stream, walk

__all__ = ["DEFAULT_PREFETCH", "Target", "evaluate"]

DEFAULT_PREFETCH = 8
SLOW_MS = 20.0


@dataclass(frozen=True)
class Target:
    """One target: the figure measured, the bound, and whether it holds (``None``: not measured)."""

    name: str
    value: float | None
    bound: float
    higher_is_better: bool
    unit: str
    met: bool | None
    how: str

    def as_json(self) -> dict[str, Any]:
        """The target, for ``latest.json``."""
        return asdict(self)

    @property
    def verdict(self) -> str:
        """``met``, ``NOT met`` or ``not measured``."""
        return {True: "met", False: "NOT met", None: "not measured"}[self.met]


def _target(
    name: str, value: float | None, bound: float, *, higher: bool, unit: str, how: str
) -> Target:
    compare = operator.ge if higher else operator.le
    met = None if value is None else bool(compare(value, bound))
    return Target(name, value, bound, higher, unit, met, how)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def evaluate(bench: Bench) -> list[Target]:
    """Every target that this run's scenarios measured (the others as ``not measured``)."""

    def rate(scenario: str, contender: str, **params: Any) -> float | None:
        series = bench.find(scenario, contender, **params)
        return None if series is None or not series.samples else series.median("rate")

    def median(scenario: str, contender: str, attribute: str, **params: Any) -> float | None:
        series = bench.find(scenario, contender, **params)
        return None if series is None or not series.samples else series.median(attribute)

    def worst(scenario: str, contender: str, attribute: str) -> float | None:
        series = bench.find(scenario, contender)
        if series is None or not series.samples:
            return None
        return max(sample.extra[attribute] for sample in series.samples)

    at64 = {"latency_ms": SLOW_MS, "concurrency": 64}
    slow_walk = {"latency_ms": SLOW_MS}
    return [
        _target(
            "tuyaio / raw aiohttp, requests/s at C=64, 20 ms",
            _ratio(rate(details.SCENARIO, TUYAIO, **at64), rate(details.SCENARIO, RAW, **at64)),
            0.90,
            higher=True,
            unit="×",
            how="scenario 1, median requests/s of each",
        ),
        _target(
            "client CPU per call, tuyaio / raw aiohttp (0 ms)",
            _ratio(
                median(cpu.SCENARIO, TUYAIO, "cpu_ms_per_1000"),
                median(cpu.SCENARIO, RAW, "cpu_ms_per_1000"),
            ),
            1.4,
            higher=False,
            unit="×",
            how="scenario 4, median CPU ms per 1,000 calls of each",
        ),
        _target(
            "tuyaio (C=64) / tuya-connector (64 threads), requests/s at 20 ms",
            _ratio(rate(details.SCENARIO, TUYAIO, **at64), rate(details.SCENARIO, PEER, **at64)),
            3.0,
            higher=True,
            unit="×",
            how="scenario 1, median requests/s of each",
        ),
        _target(
            f"sequential / prefetch={DEFAULT_PREFETCH} walk time, 10,000 tasks at 20 ms",
            _ratio(
                median(walk.SCENARIO, TUYAIO, "wall_s", prefetch=0, **slow_walk),
                median(walk.SCENARIO, TUYAIO, "wall_s", prefetch=DEFAULT_PREFETCH, **slow_walk),
            ),
            6.0,
            higher=True,
            unit="×",
            how="scenario 2, median walk seconds of each",
        ),
        _target(
            "RSS growth streaming 200,000 rooms (tuyaio)",
            worst(stream.SCENARIO, TUYAIO, "rss_growth_mb"),
            30.0,
            higher=False,
            unit="MB",
            how="scenario 3, the largest growth of any repetition",
        ),
    ]
