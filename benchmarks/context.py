"""What every scenario gets: the plan, the running sandboxes, and where results go."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tuyaio

from .measure import Series
from .plan import Plan
from .sandbox_proc import SandboxInfo

__all__ = ["Bench", "log"]

TUYAIO = "tuyaio"
RAW = "raw aiohttp"
PEER = "tuya-connector"


def log(message: str) -> None:
    """Progress on stderr (stdout carries the results table)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class Bench:
    """One benchmark run."""

    plan: Plan
    sandboxes: dict[float, SandboxInfo]
    results_dir: Path
    peer: bool
    series: list[Series] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def add(self, series: Series) -> Series:
        """Keep a series for the report and return it."""
        self.series.append(series)
        return series

    def find(self, scenario: str, contender: str, **params: Any) -> Series | None:
        """The series of a scenario and contender whose parameters include ``params``."""
        for series in self.series:
            if (
                series.scenario == scenario
                and series.contender == contender
                and all(series.params.get(key) == value for key, value in params.items())
            ):
                return series
        return None

    @asynccontextmanager
    async def client(self, latency_ms: float) -> AsyncIterator[tuyaio.TuyaClient]:
        """A tuyaio client for the sandbox with this latency, with its token already fetched."""
        info = self.sandboxes[latency_ms]
        async with tuyaio.TuyaClient(info.client_id, info.secret, base_url=info.base_url) as client:
            await client.maintenance.list_tasks(info.project_id, page_size=1)
            yield client
