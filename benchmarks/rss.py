"""Peak RSS of one walk in this process: the kernel's peak, reset just before, and a sampler.

RSS growth is the process's peak RSS during the walk minus its RSS just before it. The kernel's
peak (``VmHWM``) is reset just before the walk by writing ``5`` to ``/proc/self/clear_refs``, so a
peak from the imports does not count; a thread also samples the RSS every 2 ms as a cross-check
(and as the figure where the reset is refused). Linux only (``/proc``).
"""

from __future__ import annotations

import gc
import os
import re
import threading
import time
from typing import Any

__all__ = ["WalkEnd", "WalkStart", "current_rss_mb", "figures"]


def current_rss_mb() -> float:
    """This process's resident set now, in MiB."""
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
        self.peak_mb = current_rss_mb()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.002):
            self.peak_mb = max(self.peak_mb, current_rss_mb())

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return max(self.peak_mb, current_rss_mb())


class WalkStart:
    """Just before the walk: collect garbage, note the RSS, reset the peaks, start the clocks."""

    def __init__(self) -> None:
        gc.collect()
        self.rss_mb = current_rss_mb()
        self.kernel_reset = _reset_kernel_peak()
        self.sampler = _Sampler()
        self.sampler.start()
        self.wall, self.cpu = time.perf_counter(), time.process_time()


class WalkEnd:
    """Just after the walk: the clocks and both peaks."""

    def __init__(self, start: WalkStart) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.kernel_peak_mb = _kernel_peak_mb() if start.kernel_reset else None
        self.sampled_peak_mb = start.sampler.stop()


def figures(before: WalkStart, after: WalkEnd, count: int) -> dict[str, Any]:
    """The walk's figures: count, wall and CPU seconds, RSS before, peak (kernel's, else
    sampled), the sampled peak, and the growth."""
    peak = after.kernel_peak_mb if after.kernel_peak_mb is not None else after.sampled_peak_mb
    return {
        "count": count,
        "wall_s": after.wall - before.wall,
        "cpu_s": after.cpu - before.cpu,
        "rss_before_mb": before.rss_mb,
        "peak_rss_mb": peak,
        "sampled_peak_rss_mb": after.sampled_peak_mb,
        "rss_growth_mb": peak - before.rss_mb,
        "peak_source": "VmHWM" if after.kernel_peak_mb is not None else "sampled",
    }
