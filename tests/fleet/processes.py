"""Worker processes for the fleet tests: start, release together, collect, and always stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tuyaio.sandbox import SandboxState

WORKER = Path(__file__).with_name("fleet_worker.py")
START_TIMEOUT_S = 30.0


class Workers:
    """Subprocesses of this test; :meth:`stop` kills any still running (the fixture calls it)."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(
        self, count: int, argv: Sequence[str], env: Mapping[str, str]
    ) -> list[asyncio.subprocess.Process]:
        """Start ``count`` processes running ``argv`` and wait until each has printed ``ready``."""
        started = [
            await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, **env},
            )
            for _ in range(count)
        ]
        self.processes += started
        for process in started:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
            if line != b"ready\n":
                raise AssertionError(f"worker did not start: {line!r} {await _stderr(process)}")
        return started

    async def start_workers(
        self, count: int, mode: str, env: Mapping[str, str]
    ) -> list[asyncio.subprocess.Process]:
        """Start ``count`` copies of fleet_worker.py in ``mode``."""
        return await self.start(count, [sys.executable, str(WORKER), mode], env)

    async def run(
        self, count: int, mode: str, env: Mapping[str, str], *, within: float = 60
    ) -> list[dict[str, Any]]:
        """Start ``count`` workers in ``mode``, release them, and collect their results."""
        started = await self.start_workers(count, mode, env)
        await self.go(started)
        return await self.results(started, within)

    @staticmethod
    async def go(processes: Sequence[asyncio.subprocess.Process]) -> None:
        """Release the processes at once (each waits for a line on stdin)."""
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
        for process in processes:
            assert process.stdin is not None
            await process.stdin.drain()

    @staticmethod
    async def results(
        processes: Sequence[asyncio.subprocess.Process], within: float
    ) -> list[dict[str, Any]]:
        """Each process's JSON result line, once all have exited (within ``within`` s)."""
        outputs = await asyncio.wait_for(
            asyncio.gather(*(process.communicate() for process in processes)), within
        )
        results = []
        for process, (stdout, stderr) in zip(processes, outputs, strict=True):
            if process.returncode != 0:
                raise AssertionError(
                    f"worker exited {process.returncode}: {stderr.decode()[:3000]}"
                )
            results.append(json.loads(stdout.decode().splitlines()[-1]))
        return results

    async def stop(self) -> None:
        """Kill every process still running and reap it."""
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGKILL)
        for process in self.processes:
            await asyncio.wait_for(process.wait(), 10)


async def _stderr(process: asyncio.subprocess.Process) -> str:
    process.kill()
    _, stderr = await asyncio.wait_for(process.communicate(), 10)
    return stderr.decode()[-2000:]


def steady_rate(state: SandboxState) -> tuple[int, float]:
    """The busiest 1-s window and the mean requests per second the sandbox saw, both from one
    second after the first request (the workers' start-up left out)."""
    first, last = state.first_request_at, state.last_request_at
    assert first is not None
    assert last is not None
    busiest = state.busiest_window(1.0, since=first + 1.0, until=last)
    return busiest, state.requests_between(since=first + 1.0) / (last - first - 1.0)
