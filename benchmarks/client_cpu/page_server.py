"""A client-bound server: every answer comes from bytes built once, so the figures are the client's.

``python -m benchmarks.client_cpu.page_server --cache FILE [--cpu N] [--max-seconds S]`` listens on
a free port of 127.0.0.1 and prints one JSON line, ``{"base_url": …, "pid": …}``. ``FILE`` holds
what :mod:`benchmarks.client_cpu.capture` took from the real sandbox: task details and 20,000
rooms, as the sandbox sends them.

It answers three routes and nothing else, and checks no signature:

- ``GET /v1.0/token`` (and a refresh): a token, with the current ``t``;
- ``GET …/maintenance/tasks/{task_id}``: that task's detail (the first one for an unknown ID);
- ``GET /v2.0/illumination/construction/task/rooms`` with a JSON body: page ``page`` of size
  ``pageSize`` of a listing of ``total`` rooms, where ``projectId`` is ``rooms-{total}``. Pages
  alternate between two different runs of rooms (page 1 the first ``pageSize`` rooms, page 2 the
  next ``pageSize``, page 3 the first again …), each room ID ending in the page number, so no room
  comes twice (tuyaio's pager raises on one that does) while the server keeps only two bodies per
  page size and writes the page number into a copy.

The bodies are serialised once (the first time a page size is asked for, in the warm-up) and kept,
so a request costs the server little more than aiohttp's parsing and one write. It stops by itself
after ``--max-seconds``, and on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from ..raw import ROOMS_PATH
from .pinning import pin

__all__ = ["ROOMS_PATH", "PageCache", "main", "rooms_project"]

TOKEN_PATH = "/v1.0/token"
_TASKS = "/maintenance/tasks/"
_CACHE_LIMIT = 64
_PAGE_MARK = "PPPPPPPP"
"""Stands for the page number (8 digits) in a cached page body."""
_JSON = "application/json"


def rooms_project(total: int) -> str:
    """The ``projectId`` under which this server lists ``total`` rooms."""
    return f"rooms-{total}"


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _envelope(result: Any) -> bytes:
    return _dumps(
        {
            "success": True,
            "result": result,
            "t": int(time.time() * 1000),
            "tid": os.urandom(16).hex(),
        }
    )


class PageCache:
    """Every answer body, as bytes: task details at once, room pages on first use."""

    def __init__(self, captured: dict[str, Any]) -> None:
        self.details = {
            task_id: _envelope(result) for task_id, result in captured["details"].items()
        }
        self.first_detail = next(iter(self.details.values()))
        self.rooms: list[dict[str, Any]] = captured["rooms"]
        self.max_page_size = len(self.rooms) // 2
        self._pages: dict[tuple[int, int, int, int], bytes] = {}

    def detail(self, task_id: str) -> bytes:
        """The detail of ``task_id`` (of the first task if unknown)."""
        return self.details.get(task_id, self.first_detail)

    def page(self, total: int, size: int, page: int) -> bytes:
        """Page ``page`` of size ``size`` of a listing of ``total`` rooms."""
        count = max(0, min(size, total - (page - 1) * size))
        variant = (page - 1) % 2 if count else 0
        key = (total, size, variant, count)
        body = self._pages.get(key)
        if body is None:
            if len(self._pages) >= _CACHE_LIMIT:
                self._pages.clear()
            start = variant * size
            items = [
                {**room, "roomId": f"{room['roomId']}-{_PAGE_MARK}"}
                for room in self.rooms[start : start + count]
            ]
            body = self._pages[key] = _envelope({"total": total, "list": items})
        return body.replace(_PAGE_MARK.encode(), b"%08d" % page)

    @staticmethod
    def token() -> bytes:
        """A fresh token answer (once per client: not worth caching, and ``t`` must be now)."""
        return _envelope(
            {
                "access_token": os.urandom(16).hex(),
                "refresh_token": os.urandom(16).hex(),
                "expire_time": 7200,
                "uid": "bench",
            }
        )


def _error(code: int, msg: str, status: int = 200) -> web.Response:
    body = _dumps({"success": False, "code": code, "msg": msg, "t": int(time.time() * 1000)})
    return web.Response(body=body, status=status, content_type=_JSON)


def make_handler(cache: PageCache) -> Any:
    """The low-level aiohttp handler (no router, no middleware, no access log)."""

    async def handle(request: web.BaseRequest) -> web.Response:
        path = request.path
        if path == ROOMS_PATH:
            try:
                params = json.loads(await request.read())
                total = int(params["projectId"].removeprefix("rooms-"))
                size, page = int(params["pageSize"]), int(params["page"])
            except (ValueError, KeyError, TypeError, AttributeError):
                return _error(1109, "param is illegal")
            if not (1 <= size <= cache.max_page_size and page >= 1 and total >= 0):
                return _error(1109, "param is illegal")
            return web.Response(body=cache.page(total, size, page), content_type=_JSON)
        tasks = path.find(_TASKS)
        if tasks >= 0:
            body = cache.detail(path[tasks + len(_TASKS) :])
            return web.Response(body=body, content_type=_JSON)
        if path.startswith(TOKEN_PATH):
            return web.Response(body=cache.token(), content_type=_JSON)
        return _error(1108, "uri path invalid", status=404)

    return handle


async def _serve(cache: PageCache, max_seconds: float) -> None:
    server = web.Server(make_handler(cache), access_log=None)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(json.dumps({"base_url": f"http://{host}:{port}", "pid": os.getpid()}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max_seconds)
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Load the cache, pin to ``--cpu``, serve until stopped or ``--max-seconds`` pass."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.client_cpu.page_server")
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    args = parser.parse_args(argv)
    pin(args.cpu)
    cache = PageCache(json.loads(args.cache.read_text()))
    asyncio.run(_serve(cache, args.max_seconds))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
