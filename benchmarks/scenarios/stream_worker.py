"""One streaming measurement in a fresh process, so its peak RSS is its own.

``python -m benchmarks.scenarios.stream_worker CONTENDER`` reads the sandbox from the environment
(``BENCH_BASE_URL``, ``BENCH_CLIENT_ID``, ``BENCH_SECRET``, ``BENCH_PROJECT``) and the sizes from
``BENCH_ROOMS``, ``BENCH_PAGE_SIZE``, ``BENCH_PREFETCH``, and prints one JSON line.

RSS growth is the process's peak RSS during the walk minus its RSS just before it (after imports,
the token and one warm-up page), measured by :mod:`benchmarks.rss`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import tuyaio

from ..raw import ROOMS_PATH, RawClient
from ..rss import WalkEnd, WalkStart, figures

__all__ = ["main"]

CONTENDERS = ("tuyaio", "tuyaio-list", "raw")


async def _walk(contender: str, env: dict[str, str]) -> dict[str, Any]:
    base_url, client_id, secret = env["BENCH_BASE_URL"], env["BENCH_CLIENT_ID"], env["BENCH_SECRET"]
    project, rooms = env["BENCH_PROJECT"], int(env["BENCH_ROOMS"])
    page_size, prefetch = int(env["BENCH_PAGE_SIZE"]), int(env["BENCH_PREFETCH"])
    count = 0
    if contender == "raw":
        async with RawClient(base_url, client_id, secret) as raw:
            await raw.get(ROOMS_PATH, body={"page": 1, "pageSize": 1, "projectId": project})
            before = WalkStart()
            count = await raw.count_rooms(project, page_size=page_size, prefetch=prefetch)
            after = WalkEnd(before)
    else:
        async with tuyaio.TuyaClient(client_id, secret, base_url=base_url) as client:
            await client.construction.list_rooms(project, page_size=1)
            pager = client.construction.iter_rooms(project, page_size=page_size, prefetch=prefetch)
            before = WalkStart()
            if contender == "tuyaio-list":
                count = sum(bool(room.room_id) for room in await pager.to_list())
            else:
                async for room in pager:
                    count += bool(room.room_id)
            after = WalkEnd(before)
    if count != rooms:
        raise RuntimeError(f"streamed {count} rooms, expected {rooms}")
    result = figures(before, after, count)
    del result["peak_source"]
    return result


def main() -> None:
    """Run one contender and print its figures as JSON."""
    contender = sys.argv[1]
    if contender not in CONTENDERS:
        raise SystemExit(f"contender must be one of {', '.join(CONTENDERS)}")
    print(json.dumps(asyncio.run(_walk(contender, dict(os.environ)))))


if __name__ == "__main__":
    main()
