"""One worker of a test fleet, run as its own process by the fleet tests.

``python fleet_worker.py MODE`` with its settings in the environment (the secret too, never on the
command line). It builds a TuyaClient on a :class:`~tuyaio.fleet.Fleet` (the token store; with
``FLEET_RATE`` the rate limiter, with ``FLEET_QUOTA`` the call budget; with
``FLEET_LOCAL_FALLBACK`` a share for local fallback) on ``FLEET_REDIS_URL``, on a Redis Cluster
(``FLEET_CLUSTER=host:port``) or on Sentinels (``FLEET_SENTINELS=host:port,…`` and
``FLEET_SENTINEL_MASTER``), prints ``ready``, waits for a line on stdin, then works and prints one
JSON line of results:

- ``load``: ``FLEET_CONCURRENCY`` callers each make calls back to back; after ``FLEET_DURATION`` s
  the calls still under way are cancelled (and not counted). ``failures_at``: when calls failed
  (wall clock).
- ``once``: one call; reports when it succeeded (``ok_at``, wall clock).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
import time
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from tuyaio import RetryPolicy, TuyaClient, TuyaError
from tuyaio.fleet import Fleet

FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.01)


async def _load(client: TuyaClient, project_id: str, result: dict[str, Any]) -> None:
    errors: collections.Counter[str] = collections.Counter()
    calls = failed = 0
    failures_at: list[float] = []

    async def caller() -> None:
        nonlocal calls, failed
        while True:  # until the run is cancelled at its end
            try:
                await client.maintenance.list_tasks(project_id, page_no=1, page_size=1)
            except TuyaError as error:
                failed += 1
                failures_at.append(time.time())
                errors[f"{type(error).__name__}: {error}"] += 1
            calls += 1

    concurrency = int(os.environ["FLEET_CONCURRENCY"])
    callers = [asyncio.create_task(caller()) for _ in range(concurrency)]
    await asyncio.sleep(float(os.environ["FLEET_DURATION"]))
    for task in callers:
        task.cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    result.update(
        calls=calls,
        failed=failed,
        errors=dict(errors.most_common(5)),
        failures_at=failures_at,
    )


async def _once(client: TuyaClient, project_id: str, result: dict[str, Any]) -> None:
    await client.maintenance.list_tasks(project_id, page_no=1, page_size=1)
    result.update(calls=1, failed=0, ok_at=time.time())


async def _watchdog(seconds: float) -> None:
    """Bound the worker's life: past ``seconds``, show what every task waits on, then exit 3."""
    await asyncio.sleep(seconds)
    for task in asyncio.all_tasks():
        print(f"--- {task!r}", file=sys.stderr)
        awaited: Any = task.get_coro()
        for _ in range(40):  # walk the chain of awaits down to what the task waits on
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
            if frame is None:
                print(f"    waits on {awaited!r}", file=sys.stderr)
                break
            print(f"    {frame.f_code.co_filename}:{frame.f_lineno}", file=sys.stderr)
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
    sys.stderr.flush()
    os._exit(3)


def _redis(env: os._Environ[str]) -> str | RedisCluster | Any:
    """A Redis URL, or a Cluster or Sentinel client, from the environment."""
    if env.get("FLEET_CLUSTER"):
        host, port = env["FLEET_CLUSTER"].rsplit(":", 1)
        return RedisCluster(host=host, port=int(port))
    if env.get("FLEET_SENTINELS"):
        addresses = [
            (host, int(port))
            for host, port in (part.rsplit(":", 1) for part in env["FLEET_SENTINELS"].split(","))
        ]
        sentinel = Sentinel(addresses, socket_timeout=0.5, socket_connect_timeout=0.5)
        return sentinel.master_for(
            env["FLEET_SENTINEL_MASTER"],
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 1),  # the fleet's breaker retries: no back-off of redis-py's
        )
    return env["FLEET_REDIS_URL"]


async def main(mode: str) -> None:
    env = os.environ
    watchdog = asyncio.create_task(_watchdog(float(env.get("FLEET_DURATION", "0")) + 40))
    redis = _redis(env)
    fleet = Fleet(
        redis,
        key=env["TUYA_CLIENT_ID"],
        rate=float(env["FLEET_RATE"]) if env.get("FLEET_RATE") else None,
        burst=int(env.get("FLEET_BURST", "1")),
        call_quota=int(env["FLEET_QUOTA"]) if env.get("FLEET_QUOTA") else None,
        local_fallback=float(env["FLEET_LOCAL_FALLBACK"])
        if env.get("FLEET_LOCAL_FALLBACK")
        else None,
        lock_ttl=float(env.get("FLEET_LOCK_TTL", "10")),
        lock_wait=float(env.get("FLEET_LOCK_WAIT", "30")),
    )
    client = TuyaClient.from_env(
        token_store=fleet.token_store,
        rate_limit=fleet.rate_limiter,
        call_quota=fleet.call_quota,
        retry=FAST_RETRY,
        timeout=20.0,
    )
    result: dict[str, Any] = {"pid": os.getpid()}
    try:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        work = {"load": _load, "once": _once}[mode]
        await work(client, env["TUYA_PROJECT_ID"], result)
        stats = client.stats
        result.update(
            grants=stats.token_grants,
            refreshes=stats.token_refreshes,
            rejections=stats.token_rejections,
            rate_limited=stats.rate_limited,
        )
    finally:
        await client.close()
        await fleet.aclose()
        if not isinstance(redis, str):
            await redis.aclose()
    watchdog.cancel()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
