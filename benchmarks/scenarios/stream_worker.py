"""One streaming measurement in a fresh process, so its peak RSS is its own.

``python -m benchmarks.scenarios.stream_worker CONTENDER`` reads the sandbox from the environment
(``BENCH_BASE_URL``, ``BENCH_CLIENT_ID``, ``BENCH_SECRET``, ``BENCH_PROJECT``) and the sizes from
``BENCH_ROOMS``, ``BENCH_PAGE_SIZE``, ``BENCH_PREFETCH``, and prints one JSON line.

RSS growth is the process's peak RSS during the walk minus its RSS just before it (after imports,
the token and one warm-up page). The kernel's peak (``VmHWM``) is reset just before the walk by
writing ``5`` to ``/proc/self/clear_refs``, so a peak from the imports does not count; a thread
also samples the RSS every 2 ms as a cross-check (and as the figure where the reset is refused).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import sys
import threading
import time
from typing import Any

import tuyaio

from ..raw import RawClient

__all__ = ["main"]

CONTENDERS = ("tuyaio", "tuyaio-list", "raw")
_ROUTE = "/v2.0/illumination/construction/task/rooms"


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _kernel_peak_mb() -> float | None:
    with open("/proc/self/status") as status:
        found = re.search(r"VmHWM:\s+(\d+) kB", status.read())
    return None if found is None else int(found.group(1)) / 1024


def _reset_kernel_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


class _Sampler(threading.Thread):
    """The largest RSS seen, sampled every 2 ms until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = _current_rss_mb()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.002):
            self.peak_mb = max(self.peak_mb, _current_rss_mb())

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return max(self.peak_mb, _current_rss_mb())


async def _walk(contender: str, env: dict[str, str]) -> dict[str, Any]:
    base_url, client_id, secret = env["BENCH_BASE_URL"], env["BENCH_CLIENT_ID"], env["BENCH_SECRET"]
    project, rooms = env["BENCH_PROJECT"], int(env["BENCH_ROOMS"])
    page_size, prefetch = int(env["BENCH_PAGE_SIZE"]), int(env["BENCH_PREFETCH"])
    count = 0
    if contender == "raw":
        async with RawClient(base_url, client_id, secret) as raw:
            await raw.get(_ROUTE, body={"page": 1, "pageSize": 1, "projectId": project})
            before = _Start()
            pages = raw.iter_pages(
                _ROUTE,
                {"projectId": project},
                page_param="page",
                size_param="pageSize",
                items_key="list",
                page_size=page_size,
                prefetch=prefetch,
                in_body=True,
            )
            async for items in pages:
                for item in items:
                    count += bool(item["roomId"])
            after = _End(before)
    else:
        async with tuyaio.TuyaClient(client_id, secret, base_url=base_url) as client:
            await client.construction.list_rooms(project, page_size=1)
            pager = client.construction.iter_rooms(project, page_size=page_size, prefetch=prefetch)
            before = _Start()
            if contender == "tuyaio-list":
                count = sum(bool(room.room_id) for room in await pager.to_list())
            else:
                async for room in pager:
                    count += bool(room.room_id)
            after = _End(before)
    if count != rooms:
        raise RuntimeError(f"streamed {count} rooms, expected {rooms}")
    peak = after.kernel_peak_mb if after.kernel_peak_mb is not None else after.sampled_peak_mb
    return {
        "count": count,
        "wall_s": after.wall - before.wall,
        "cpu_s": after.cpu - before.cpu,
        "rss_before_mb": before.rss_mb,
        "peak_rss_mb": peak,
        "sampled_peak_rss_mb": after.sampled_peak_mb,
        "rss_growth_mb": peak - before.rss_mb,
    }


class _Start:
    """Just before the walk: collect garbage, note the RSS, reset the peaks, start the clocks."""

    def __init__(self) -> None:
        gc.collect()
        self.rss_mb = _current_rss_mb()
        self.kernel_reset = _reset_kernel_peak()
        self.sampler = _Sampler()
        self.sampler.start()
        self.wall, self.cpu = time.perf_counter(), time.process_time()


class _End:
    """Just after the walk: the clocks and both peaks."""

    def __init__(self, start: _Start) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.kernel_peak_mb = _kernel_peak_mb() if start.kernel_reset else None
        self.sampled_peak_mb = start.sampler.stop()


def main() -> None:
    """Run one contender and print its figures as JSON."""
    contender = sys.argv[1]
    if contender not in CONTENDERS:
        raise SystemExit(f"contender must be one of {', '.join(CONTENDERS)}")
    print(json.dumps(asyncio.run(_walk(contender, dict(os.environ)))))


if __name__ == "__main__":
    main()
