"""Creates in a batch: every create that was started is reported, however the batch ends (issue 25,
row 5), against the sandbox: zero created-but-unreported over repeated runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tuyaio import TuyaClient, batch
from tuyaio.sandbox import Sandbox

from .conftest import ClientFactory, SandboxFactory, task_args

RUNS = 5


def creator(client: TuyaClient, sandbox: Sandbox, fail_at: int | None = None) -> Any:
    async def create(n: int) -> str:
        if n == fail_at:
            raise ValueError("a bad input fails at once")
        return await client.maintenance.create_task(sandbox.project_id, **task_args(sandbox, n))

    return create


def reported_ids(outcomes: list[batch.Outcome[int, str]]) -> set[str]:
    return {o.unwrap() for o in outcomes if o.ok}


def task_ids(sandbox: Sandbox) -> set[str]:
    return {t["task_id"] for t in sandbox.state.tasks(sandbox.project_id)}


@pytest.mark.parametrize("via", ["run", "stream in completion order"])
async def test_stop_on_error_reports_every_create_it_started(
    make_sandbox: SandboxFactory, make_client: ClientFactory, via: str
) -> None:
    sandbox = await make_sandbox(tasks=0, latency_ms=5, latency_jitter_ms=10)
    client = await make_client(sandbox)
    for run in range(RUNS):
        before = task_ids(sandbox)
        create = creator(client, sandbox, fail_at=3 + run)
        if via == "run":
            outcomes = await batch.run(create, range(40), concurrency=4, stop_on_error=True)
        else:
            stream = batch.stream(
                create, range(40), concurrency=4, ordered=False, stop_on_error=True
            )
            outcomes = [outcome async for outcome in stream]
        created = task_ids(sandbox) - before
        assert created == reported_ids(outcomes)
        assert [o.input for o in outcomes if not o.ok] == [3 + run]
        assert len(created) >= 3 + run


@pytest.mark.parametrize("timeout_s", [0.02, 0.05, 0.1])
async def test_a_batch_cancelled_by_wait_for_reports_every_create_it_started(
    make_sandbox: SandboxFactory, make_client: ClientFactory, timeout_s: float
) -> None:
    sandbox = await make_sandbox(tasks=0, latency_ms=10, latency_jitter_ms=20)
    client = await make_client(sandbox)
    seen: list[batch.Outcome[int, str]] = []

    def progress(p: batch.Progress) -> None:
        assert p.outcome is not None
        seen.append(p.outcome)

    for _ in range(RUNS):
        before = task_ids(sandbox)
        seen.clear()
        create = creator(client, sandbox)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                batch.run(create, range(500), concurrency=8, progress=progress), timeout_s
            )
        created = task_ids(sandbox) - before
        assert created == reported_ids(seen)
        assert all(o.ok for o in seen)
