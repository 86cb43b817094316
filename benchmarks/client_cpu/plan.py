"""The fixed counts of one run, full or ``--quick``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["PAGE_SIZES", "RAW", "TUYAIO", "Plan"]

RAW, TUYAIO = "raw", "tuyaio"
"""The two contenders, as the workers and the results name them."""

CONCURRENCIES = (1, 16, 64, 256, 1024)
PAGE_SIZES = (10, 99, 1000, 10_000)
TARGET_CONCURRENCY = 64
TARGET_PAGE_SIZE = 1000
PREFETCH = 8


@dataclass(frozen=True)
class Plan:
    """Counts per round, rounds per worker process, worker processes per measurement."""

    name: str
    processes: int
    """Worker processes per measurement (their rounds are pooled): a process's own luck (memory
    layout, hash seeds) then weighs less."""
    rounds: int
    """Alternating rounds (raw, tuyaio) per worker process."""
    detail_calls: int
    """Task-detail GETs per round and contender (at least 4 × C)."""
    stream_rooms: dict[int, int]
    """Rooms per walk and round, by page size (whole pages)."""
    no_orjson_page_sizes: tuple[int, ...]
    """Page sizes also measured with orjson hidden (task details: at C=64)."""
    rss_rooms: tuple[int, ...]
    rss_runs: int
    profile_calls: int
    profile_rooms: int
    worker_max_seconds: float
    server_max_seconds: float
    concurrencies: tuple[int, ...] = CONCURRENCIES
    page_sizes: tuple[int, ...] = PAGE_SIZES
    prefetch: int = PREFETCH

    @classmethod
    def full(cls) -> Plan:
        """About 6 minutes on 2 idle cores."""
        return cls(
            name="full",
            processes=3,
            rounds=7,
            detail_calls=3_000,
            stream_rooms={10: 20_000, 99: 99_000, 1000: 300_000, 10_000: 300_000},
            no_orjson_page_sizes=PAGE_SIZES,
            rss_rooms=(100_000, 1_000_000),
            rss_runs=3,
            profile_calls=5_000,
            profile_rooms=200_000,
            worker_max_seconds=600,
            server_max_seconds=1800,
        )

    @classmethod
    def quick(cls) -> Plan:
        """About 1.5 minutes on 2 idle cores: fewer rounds and calls, one process, one RSS run."""
        return cls(
            name="quick",
            processes=1,
            rounds=5,
            detail_calls=1_000,
            stream_rooms={10: 5_000, 99: 19_800, 1000: 100_000, 10_000: 100_000},
            no_orjson_page_sizes=(TARGET_PAGE_SIZE,),
            rss_rooms=(100_000, 1_000_000),
            rss_runs=1,
            profile_calls=2_000,
            profile_rooms=100_000,
            worker_max_seconds=300,
            server_max_seconds=600,
        )

    def calls(self, concurrency: int) -> int:
        """Calls per round at ``concurrency``: enough that every worker makes several."""
        return max(self.detail_calls, 4 * concurrency)

    def as_json(self) -> dict[str, Any]:
        """For ``latest.json``."""
        return asdict(self)
