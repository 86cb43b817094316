"""Reliability report: hostile answers against a client with default settings, each bound measured.

Each scenario runs in a fresh process (so its peak RSS is its own) against a small aiohttp server
on 127.0.0.1 that answers the token grant normally and business calls as the scenario says. The
report prints a table and writes ``benchmarks/results/reliability.json``:

    python -m benchmarks.reliability          # every scenario; a hung server with a 10 s deadline
    python -m benchmarks.reliability --full   # the hung server with the default 90 s deadline

What it shows: the error each answer ends in (always a ``TuyaError``), the time to fail, the peak
RSS growth (bound: 400 MB against an endless or inflating body), and how many requests were sent.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

import tuyaio

RESULTS = Path(__file__).parent / "results" / "reliability.json"
PROJECT = "p1"
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(document: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(document).encode(), status=status, content_type="application/json"
    )


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b" " * 65536
    try:
        for _ in range(100_000):  # 6.5 GB at most: bounded, far beyond the client's cap
            await response.write(chunk)
    except (ConnectionResetError, RuntimeError):
        pass
    return response


def _bomb() -> bytes:
    """1 GB of JSON, gzip-compressed a megabyte at a time (never held inflated)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packed:
        packed.write(b'{"success":true,"result":"')
        zeros = b"0" * 1_000_000
        for _ in range(1_000):
            packed.write(zeros)
        packed.write(b'"}')
    return out.getvalue()


_BOMB: list[bytes] = []


async def gzip_bomb(request: web.Request) -> web.StreamResponse:
    if not _BOMB:
        _BOMB.append(_bomb())
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    return web.Response(body=_BOMB[0], headers=headers)


async def deep_json(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")


async def huge_total(request: web.Request) -> web.StreamResponse:
    body = b'{"success":true,"result":{"total":1' + b"0" * 400 + b',"tasks":[]}}'
    return web.Response(body=body, content_type="application/json")


async def same_page(request: web.Request) -> web.StreamResponse:
    tasks = [{"task_id": "x"}] * 99
    return _json({"success": True, "result": {"total": 10**18 // 10**9, "tasks": tasks}})


async def echoed_secret(request: web.Request) -> web.StreamResponse:
    token = request.headers.get("access_token", "")
    return _json({"success": False, "code": 1106, "msg": f"bad {token} " + "x" * 5_000_000})


async def hung(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(3600)
    return web.Response()


async def retry_after_storm(request: web.Request) -> web.StreamResponse:
    return web.Response(status=429, text="slow down", headers={"Retry-After": "60"})


SCENARIOS: dict[str, tuple[Answer, str]] = {
    "endless chunked body": (endless, "list"),
    "1 GB gzip bomb": (gzip_bomb, "list"),
    "100k-deep JSON (create)": (deep_json, "create"),
    "total of 10^400": (huge_total, "list"),
    "the same page forever": (same_page, "walk"),
    "secret echoed in a 5 MB msg": (echoed_secret, "list"),
    "Retry-After: 60 on every answer": (retry_after_storm, "list"),
    "hung server": (hung, "list"),
}


async def _serve(answer: Answer) -> tuple[web.AppRunner, str, list[int]]:
    calls = [0]

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        if request.path.startswith("/v1.0/token"):
            result = {"access_token": "acc0123", "refresh_token": "ref0123", "expire_time": 7200}
            return _json({"success": True, "t": int(time.time() * 1000), "result": result})
        calls[0] += 1
        return await answer(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}", calls


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_one(name: str, deadline: float) -> dict[str, Any]:
    answer, kind = SCENARIOS[name]
    runner, base_url, calls = await _serve(answer)
    retry = tuyaio.RetryPolicy(deadline=deadline)
    before = _rss_mb()
    started = time.monotonic()
    outcome = "ok"
    async with tuyaio.TuyaClient("report", "report-secret", base_url=base_url, retry=retry) as c:
        try:
            if kind == "create":
                await c.maintenance.create_task(PROJECT, worker_id="w", rooms={"r": ["d"]})
            elif kind == "walk":
                await c.maintenance.iter_tasks(PROJECT).to_list()
            else:
                await c.maintenance.list_tasks(PROJECT)
        except tuyaio.TuyaError as error:
            outcome = type(error).__name__
            text = f"{error!s} {error!r}"
            if "acc0123" in text or "report-secret" in text:
                outcome += " (SECRET LEAKED)"
            message_chars = len(str(error))
        else:
            message_chars = 0
    elapsed = time.monotonic() - started
    await runner.cleanup()
    return {
        "scenario": name,
        "outcome": outcome,
        "seconds": round(elapsed, 2),
        "rss_growth_mb": round(_rss_mb() - before, 1),
        "requests": calls[0],
        "message_chars": message_chars,
    }


def main() -> None:
    """Run every scenario in its own process; print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the hung server at the default 90 s")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=90.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(run_one(args.one, args.deadline))))
        return
    rows = []
    for name in SCENARIOS:
        deadline = 90.0 if args.full or name != "hung server" else 10.0
        command = [sys.executable, "-m", "benchmarks.reliability", "--one", name]
        done = subprocess.run(
            [*command, "--deadline", str(deadline)],
            capture_output=True,
            text=True,
            timeout=deadline + 60,
            check=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["deadline_s"] = deadline
        rows.append(row)
        print(
            f"{row['scenario']:<34} {row['outcome']:<28} {row['seconds']:>7.2f} s "
            f"{row['rss_growth_mb']:>7.1f} MB {row['requests']:>5} req {row['message_chars']:>5} ch"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"tuyaio": tuyaio.__version__, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
