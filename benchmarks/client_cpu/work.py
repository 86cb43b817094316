"""The measurements, run inside a client worker process (see :mod:`.worker`).

Client CPU is ``time.process_time()`` of this process (every thread of it) around the measured
loop only, split into user and system time with ``getrusage(RUSAGE_SELF)``; wall time is
``time.perf_counter()``. Garbage is collected before every round, outside the clock, so that no
round pays for the one before it. The page server's CPU over the same round is read from
``/proc/{pid}/stat`` (10 ms ticks): it shows that the server is not the bottleneck.

Rounds alternate: raw, tuyaio, raw, tuyaio, …; each loop makes a fixed number of calls or walks a
fixed number of rooms, and the whole worker runs under a deadline.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import os
import pstats
import re
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

import tuyaio
from tuyaio import _json as tuyaio_json

from ..raw import RawClient
from ..rss import WalkEnd, WalkStart, figures
from .page_server import ROOMS_PATH, rooms_project
from .plan import RAW, TUYAIO

__all__ = ["run"]

_PROFILE_ROWS = 25
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _server_cpu_s(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * _TICK_S


class _Meter:
    """Clocks around one measured loop."""

    def __init__(self, server_pid: int | None) -> None:
        self._server_pid = server_pid
        gc.collect()
        self._server = _server_cpu_s(server_pid)
        self._usage = resource.getrusage(resource.RUSAGE_SELF)
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self, count: int) -> dict[str, Any]:
        wall, cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu
        usage = resource.getrusage(resource.RUSAGE_SELF)
        server = _server_cpu_s(self._server_pid)
        return {
            "count": count,
            "cpu_s": cpu,
            "user_s": usage.ru_utime - self._usage.ru_utime,
            "sys_s": usage.ru_stime - self._usage.ru_stime,
            "wall_s": wall,
            "server_cpu_s": None
            if server is None or self._server is None
            else server - self._server,
        }


async def _drive(call: Callable[[int], Awaitable[object]], n: int, concurrency: int) -> int:
    """``n`` calls from ``concurrency`` workers sharing one iterator of indexes."""
    indexes = iter(range(n))

    async def worker() -> None:
        for index in indexes:
            await call(index)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return n


def _clients(spec: dict[str, Any]) -> tuple[RawClient, tuyaio.TuyaClient]:
    server = spec["server"]
    raw = RawClient(server["base_url"], server["client_id"], server["secret"])
    client = tuyaio.TuyaClient(server["client_id"], server["secret"], base_url=server["base_url"])
    return raw, client


def _detail_calls(
    project: str, ids: list[str], raw: RawClient, client: tuyaio.TuyaClient
) -> tuple[Callable[[int], Awaitable[object]], Callable[[int], Awaitable[object]]]:
    """The same task-detail GET through tuyaio and through the raw baseline, by index."""
    paths = [f"/v1.0/osaas/projects/{project}/maintenance/tasks/{tid}" for tid in ids]

    async def tuyaio_call(index: int) -> object:
        return await client.maintenance.get_task(project, ids[index % len(ids)])

    async def raw_call(index: int) -> object:
        return await raw.get(paths[index % len(paths)])

    return tuyaio_call, raw_call


async def _details(spec: dict[str, Any]) -> dict[str, Any]:
    """Task-detail GETs at each concurrency: rounds of ``calls[C]`` calls, alternating."""
    server, pid = spec["server"], spec["server"]["pid"]
    project, ids = server["project_id"], server["task_ids"]
    raw, client = _clients(spec)
    out: dict[str, Any] = {}
    async with raw, client:
        tuyaio_call, raw_call = _detail_calls(project, ids, raw, client)

        first = await tuyaio_call(1)
        if first.task_id != ids[1] or (await raw_call(1))["task_id"] != ids[1]:
            raise RuntimeError("the page server answered another task")
        calls = {RAW: raw_call, TUYAIO: tuyaio_call}
        for concurrency in spec["concurrencies"]:
            n = spec["calls"][str(concurrency)]
            for call in calls.values():
                await _drive(call, max(concurrency, n // 5), concurrency)
            rounds = []
            for _ in range(spec["rounds"]):
                pair = {}
                for name, call in calls.items():
                    meter = _Meter(pid)
                    pair[name] = meter.stop(await _drive(call, n, concurrency))
                rounds.append(pair)
            out[str(concurrency)] = {"calls": n, "rounds": rounds}
    return out


def _raw_walk(raw: RawClient, total: int, size: int, prefetch: int) -> Callable[[], Awaitable[int]]:
    async def walk() -> int:
        return await raw.count_rooms(rooms_project(total), page_size=size, prefetch=prefetch)

    return walk


def _tuyaio_walk(
    client: tuyaio.TuyaClient, total: int, size: int, prefetch: int
) -> Callable[[], Awaitable[int]]:
    async def walk() -> int:
        count = 0
        pager = client.construction.iter_rooms(
            rooms_project(total), page_size=size, prefetch=prefetch
        )
        async for room in pager:
            count += bool(room.room_id)
        return count

    return walk


async def _stream(spec: dict[str, Any]) -> dict[str, Any]:
    """Room walks at each page size: rounds of ``rooms[size]`` rooms, alternating."""
    pid, prefetch = spec["server"]["pid"], spec["prefetch"]
    raw, client = _clients(spec)
    out: dict[str, Any] = {}
    async with raw, client:
        for size in spec["page_sizes"]:
            total = spec["rooms"][str(size)]
            walks = {
                RAW: _raw_walk(raw, total, size, prefetch),
                TUYAIO: _tuyaio_walk(client, total, size, prefetch),
            }
            for name, walk in walks.items():  # warm-up: the server builds its pages here
                if (count := await walk()) != total:
                    raise RuntimeError(f"{name} walked {count} rooms, expected {total}")
            rounds = []
            for _ in range(spec["rounds"]):
                pair = {}
                for name, walk in walks.items():
                    meter = _Meter(pid)
                    pair[name] = meter.stop(await walk())
                rounds.append(pair)
            out[str(size)] = {"rooms": total, "pages": -(-total // size), "rounds": rounds}
    return out


async def _rss(spec: dict[str, Any]) -> dict[str, Any]:
    """One walk of ``rooms`` rooms in this fresh process; its peak RSS growth."""
    contender, total = spec["contender"], spec["rooms"]
    size, prefetch = spec["page_size"], spec["prefetch"]
    raw, client = _clients(spec)
    async with raw, client:
        await raw.get(ROOMS_PATH, body={"page": 1, "pageSize": 1, "projectId": rooms_project(1)})
        await client.construction.list_rooms(rooms_project(1), page_size=1)
        if contender == RAW:
            walk = _raw_walk(raw, total, size, prefetch)
        elif contender == TUYAIO:
            walk = _tuyaio_walk(client, total, size, prefetch)
        else:

            async def walk() -> int:
                pager = client.construction.iter_rooms(
                    rooms_project(total), page_size=size, prefetch=prefetch
                )
                return sum(bool(room.room_id) for room in await pager.to_list())

        before = WalkStart()
        count = await walk()
        after = WalkEnd(before)
    if count != total:
        raise RuntimeError(f"walked {count} rooms, expected {total}")
    return figures(before, after, count)


def _where(filename: str) -> str:
    return re.split(r"site-packages/|/src/|/lib/python3\.\d+/", filename)[-1]


def _is_tuyaio(filename: str) -> bool:
    """tuyaio's own code: its modules, its generated decoders, attrs' methods of its models."""
    return (
        "/tuyaio/" in filename
        or filename.startswith("<tuyaio")
        or (filename.startswith("<attrs generated") and " tuyaio." in filename)
    )


def _summary(profile: cProfile.Profile, per: int) -> dict[str, Any]:
    """Functions by own time per unit (call or room); tuyaio's also with the built-ins (C
    functions such as ``dict.get``, which cProfile books apart) that they call directly."""
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    builtins: dict[tuple[str, int, str], float] = {}
    for (filename, _line, _function), (*_counts, callers) in stats.items():
        if filename == "~":
            for caller, (_cc, _nc, own, _cumulative) in callers.items():
                builtins[caller] = builtins.get(caller, 0.0) + own
    rows = []
    for key, (_cc, ncalls, own, cumulative, _callers) in stats.items():
        filename, line, function = key
        rows.append(
            {
                "function": f"{_where(filename)}:{line}({function})",
                "tuyaio": _is_tuyaio(filename),
                "calls_per_unit": ncalls / per,
                "own_us_per_unit": own * 1e6 / per,
                "own_and_builtins_us_per_unit": (own + builtins.get(key, 0.0)) * 1e6 / per,
                "cumulative_us_per_unit": cumulative * 1e6 / per,
            }
        )
    rows.sort(key=lambda row: -row["own_us_per_unit"])
    ours = [row for row in rows if row["tuyaio"]]
    return {
        "units": per,
        "own_us_per_unit_total": sum(row["own_us_per_unit"] for row in rows),
        "own_us_per_unit_tuyaio": sum(row["own_us_per_unit"] for row in ours),
        "own_and_builtins_us_per_unit_tuyaio": sum(
            row["own_and_builtins_us_per_unit"] for row in ours
        ),
        "top": rows[:_PROFILE_ROWS],
        "top_tuyaio": ours[:_PROFILE_ROWS],
    }


async def _profiled(run: Callable[[], Awaitable[int]]) -> cProfile.Profile:
    profile = cProfile.Profile()
    gc.collect()
    profile.enable()
    try:
        await run()
    finally:
        profile.disable()
    return profile


async def _profile(spec: dict[str, Any]) -> dict[str, Any]:
    """cProfile of a task-detail loop and of a room walk, for each contender (untimed)."""
    server = spec["server"]
    project, ids = server["project_id"], server["task_ids"]
    n, concurrency = spec["detail_calls"], spec["concurrency"]
    total, size, prefetch = spec["rooms"], spec["page_size"], spec["prefetch"]
    raw, client = _clients(spec)
    out: dict[str, Any] = {}
    async with raw, client:
        tuyaio_call, raw_call = _detail_calls(project, ids, raw, client)

        runs: dict[str, tuple[Callable[[], Awaitable[int]], int]] = {
            f"details {RAW}": (lambda: _drive(raw_call, n, concurrency), n),
            f"details {TUYAIO}": (lambda: _drive(tuyaio_call, n, concurrency), n),
            f"stream {RAW}": (_raw_walk(raw, total, size, prefetch), total),
            f"stream {TUYAIO}": (_tuyaio_walk(client, total, size, prefetch), total),
        }
        for run, _units in runs.values():
            await run()
        for name, (run, units) in runs.items():
            out[name] = _summary(await _profiled(run), units)
    return out


_MODES: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "details": _details,
    "stream": _stream,
    "rss": _rss,
    "profile": _profile,
}


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec["mode"]`` under ``spec["max_seconds"]``; its figures and what was measured."""
    async with asyncio.timeout(spec["max_seconds"]):
        figures_ = await _MODES[spec["mode"]](spec)
    return {
        "mode": spec["mode"],
        "figures": figures_,
        "tuyaio_file": tuyaio.__file__,
        "orjson": tuyaio_json._orjson_loads is not None,
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
