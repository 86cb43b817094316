"""What one run measures: the fixed counts of every loop, for a full and a ``--quick`` run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LATENCIES_MS", "Plan"]

LATENCIES_MS = (0.0, 20.0)
"""Injected sandbox latency of the two servers every run starts."""


@dataclass(frozen=True)
class Plan:
    """Counts and variants; :meth:`full` is what issue 9 asks for, :meth:`quick` a smaller run
    with the same shape that finishes in well under 3 minutes on 2 cores."""

    name: str
    repetitions: int
    detail_requests: int
    """Scenario 1: requests per repetition and concurrency..."""
    detail_requests_c1_slow: int
    """... except concurrency 1 at 20 ms (about 21 ms each, one at a time)."""
    concurrencies: tuple[int, ...]
    walk_tasks: int
    walk_page_size: int
    walk_depths: tuple[int, ...]
    walk_peer: bool
    stream_rooms: int
    stream_page_size: int
    stream_prefetch: int
    stream_repetitions: int
    stream_materialised: bool
    cpu_calls: int
    cpu_concurrency: int
    batch_calls: int
    batch_concurrency: int
    sandbox_max_seconds: float

    @classmethod
    def full(cls) -> Plan:
        """Issue 9's counts: 5,000 detail GETs, 10,000 tasks, 200,000 rooms, 10,000 batch calls."""
        return cls(
            name="full",
            repetitions=3,
            detail_requests=5_000,
            detail_requests_c1_slow=5_000,
            concurrencies=(1, 16, 64),
            walk_tasks=10_000,
            walk_page_size=99,
            walk_depths=(0, 1, 2, 4, 8, 16, 32),
            walk_peer=True,
            stream_rooms=200_000,
            stream_page_size=1_000,
            stream_prefetch=8,
            stream_repetitions=3,
            stream_materialised=True,
            cpu_calls=5_000,
            cpu_concurrency=16,
            batch_calls=10_000,
            batch_concurrency=64,
            sandbox_max_seconds=5_400,
        )

    @classmethod
    def quick(cls) -> Plan:
        """Fewer calls and walk depths; the 10,000-task walk and 200,000-room stream stay whole
        (their targets are about exactly those sizes)."""
        return cls(
            name="quick",
            repetitions=3,
            detail_requests=800,
            detail_requests_c1_slow=60,
            concurrencies=(1, 16, 64),
            walk_tasks=10_000,
            walk_page_size=99,
            walk_depths=(0, 8, 32),
            walk_peer=False,
            stream_rooms=200_000,
            stream_page_size=1_000,
            stream_prefetch=8,
            stream_repetitions=1,
            stream_materialised=False,
            cpu_calls=1_500,
            cpu_concurrency=16,
            batch_calls=2_000,
            batch_concurrency=64,
            sandbox_max_seconds=600,
        )

    def detail_count(self, concurrency: int, latency_ms: float) -> int:
        """Scenario 1's request count for one concurrency and latency."""
        if concurrency == 1 and latency_ms > 0:
            return self.detail_requests_c1_slow
        return self.detail_requests

    def as_json(self) -> dict[str, Any]:
        """The plan, for ``latest.json``."""
        return asdict(self)
