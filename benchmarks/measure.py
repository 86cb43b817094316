"""Timing primitives: fixed-count drivers for async and threaded callers, and repeated samples.

Every loop here runs a fixed number of calls; nothing runs "for N seconds". Wall time is
``time.perf_counter``; CPU time is ``time.process_time`` (this whole process, every thread).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Sample", "Series", "drive_async", "drive_threads", "timed"]


@dataclass(frozen=True)
class Sample:
    """One repetition: ``count`` calls (or items) in ``wall_s`` seconds using ``cpu_s`` of CPU."""

    wall_s: float
    cpu_s: float
    count: int
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Calls (or items) per second."""
        return self.count / self.wall_s

    @property
    def cpu_ms_per_1000(self) -> float:
        """Client CPU milliseconds spent per 1,000 calls (= CPU µs per call)."""
        return self.cpu_s * 1e6 / self.count


@dataclass
class Series:
    """The repetitions of one measurement: a scenario, a contender and its parameters."""

    scenario: str
    contender: str
    params: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        """The median of a :class:`Sample` property or an ``extra`` figure over the repetitions."""
        values = [
            sample.extra[attribute] if attribute in sample.extra else getattr(sample, attribute)
            for sample in self.samples
        ]
        return float(statistics.median(values))

    def as_json(self) -> dict[str, Any]:
        """The series with its medians, for ``latest.json``."""
        return {
            "scenario": self.scenario,
            "contender": self.contender,
            "params": self.params,
            "repetitions": len(self.samples),
            "median": {
                "wall_s": self.median("wall_s"),
                "rate_per_s": self.median("rate"),
                "cpu_ms_per_1000": self.median("cpu_ms_per_1000"),
                **{key: self.median(key) for key in self.samples[0].extra},
            },
            "samples": [
                {"wall_s": s.wall_s, "cpu_s": s.cpu_s, "count": s.count, **s.extra}
                for s in self.samples
            ],
        }


async def timed(coro: Awaitable[int]) -> Sample:
    """Time one awaitable that returns how many calls or items it handled."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    count = await coro
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Sample(wall_s=wall, cpu_s=cpu, count=count)


async def drive_async(call: Callable[[int], Awaitable[object]], n: int, concurrency: int) -> Sample:
    """Make ``n`` calls ``call(0)`` … ``call(n - 1)`` from ``concurrency`` workers.

    The workers share one iterator of indexes, so exactly ``n`` calls are made and at most
    ``concurrency`` are in flight; no task per call is created.
    """
    indexes = iter(range(n))

    async def worker() -> None:
        for index in indexes:
            await call(index)

    async def everything() -> int:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
        return n

    return await timed(everything())


def drive_threads(call: Callable[[int], object], n: int, threads: int) -> Sample:
    """Make ``n`` blocking calls: in this thread when ``threads`` is 1, else from a thread pool.

    The pool's ``threads`` workers share one iterator of indexes (its ``next`` is atomic in
    CPython), so at most ``threads`` calls are in flight.
    """
    indexes = iter(range(n))

    def worker() -> None:
        for index in indexes:
            call(index)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    if threads == 1:
        worker()
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(worker) for _ in range(threads)]:
                future.result()
    return Sample(wall_s=time.perf_counter() - wall0, cpu_s=time.process_time() - cpu0, count=n)
