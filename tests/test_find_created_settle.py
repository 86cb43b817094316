"""``find_created`` never answers "not created" while the server may still be processing (issue 25,
row 6): the race of a client that times out while the server completes the create a second later,
in virtual time (exact, in milliseconds), and against the sandbox's ``slow`` fault."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs
import pytest

from tuyaio import OutcomeUnknownError, RetryPolicy, Timeout, TuyaClient
from tuyaio.resources._base import SETTLE_S
from tuyaio.sandbox import FAULT_ENVELOPE_500, FAULT_SLOW, FaultConfig

from . import virtual
from .conftest import ClientFactory, SandboxFactory, task_args

PROJECT = "p1"
CREATE_TASK = "POST /v1.0/osaas/projects/{project_id}/maintenance/task"


@attrs.define
class Tasks:
    """A maintenance server on virtual time: a create is done ``process_s`` after it arrives
    (whether or not the client still waits), or never (``process_s`` None)."""

    process_s: float | None
    tasks: list[dict[str, Any]] = attrs.field(factory=list)
    searches: list[float] = attrs.field(factory=list)

    def _create(self, body: dict[str, Any]) -> None:
        task_id = f"t{len(self.tasks) + 1}"
        ms = int((virtual.EPOCH_S + virtual.now()) * 1000)
        self.tasks.insert(0, {"task_id": task_id, "gmt_create": ms, **body})

    async def __call__(self, request: virtual.Request) -> Any:
        path = request.path
        if request.method == "POST":
            body = json.loads(request.body)
            if self.process_s is None:
                await asyncio.sleep(3600)  # never processed, never answered
            if self.process_s == 0:
                self._create(body)
            elif self.process_s is not None:
                asyncio.get_running_loop().call_later(self.process_s, self._create, body)
                await asyncio.sleep(self.process_s)
            return virtual.envelope(self.tasks[0]["task_id"] if self.tasks else None)
        if path.endswith("/tasks"):
            self.searches.append(virtual.now())
            size = int(request.url.query["page_size"])
            page = int(request.url.query["page_no"])
            shown = self.tasks[(page - 1) * size : page * size]
            return virtual.envelope(
                {
                    "total": len(self.tasks),
                    "tasks": [
                        {"task_id": t["task_id"], "gmt_create": t["gmt_create"]} for t in shown
                    ],
                }
            )
        task = next(t for t in self.tasks if path.endswith("/" + t["task_id"]))
        return virtual.envelope(task)


def race(process_s: float | None, trials: int, **find: Any) -> tuple[Tasks, list[float]]:
    """``trials`` times: create (the client gives up after 0.2 s), then the documented recovery:
    ``find_created`` and, only on ``None``, create again. The virtual times find_created took."""
    tasks = Tasks(process_s)
    took: list[float] = []

    async def main() -> None:
        server = virtual.FakeServer(tasks)
        async with virtual.client_for(
            server, timeout=Timeout(total=0.2), retry=RetryPolicy(max_retries=0)
        ) as client:
            for n in range(trials):
                rooms = {f"r{n}": [f"d{n}"]}
                try:
                    await client.maintenance.create_task(PROJECT, worker_id="w", rooms=rooms)
                    continue
                except OutcomeUnknownError as error:
                    started = virtual.now()
                    found = await client.maintenance.find_created(error, **find)
                    took.append(virtual.now() - started)
                if found is None:
                    tasks.process_s = 0.0  # the network is back: the second create is answered
                    await client.maintenance.create_task(PROJECT, worker_id="w", rooms=rooms)
                    tasks.process_s = process_s
            await asyncio.sleep(3600)  # whatever the server still processes ends

    virtual.run(main)
    return tasks, took


def duplicates(tasks: Tasks) -> int:
    rooms = [json.dumps(t["room_device_relations"]) for t in tasks.tasks]
    return len(rooms) - len(set(rooms))


@pytest.mark.parametrize(
    ("process_s", "find", "created", "longest_s"),
    [
        (1.0, {}, 10, 2.0),  # done a second after the client gave up: found at the 2nd search
        (30.0, {}, 10, 30.0),  # done long after: found once it is
        (None, {}, 10, SETTLE_S),  # never done: None only after SETTLE_S, then created once
        (None, {"settle": 5.0, "interval": 0.5}, 10, 5.0),
        (None, {"settle": 0}, 10, 0.0),  # settle=0: one search, answered at once
    ],
)
def test_the_race_creates_no_duplicate_following_the_documented_recovery(
    process_s: float | None, find: dict[str, Any], created: int, longest_s: float
) -> None:
    tasks, took = race(process_s, 10, **find)
    assert duplicates(tasks) == 0
    assert len(tasks.tasks) == created
    assert len(took) == 10
    assert max(took) == pytest.approx(longest_s, abs=0.25)


def test_settle_zero_answers_none_while_the_server_still_processes() -> None:
    """What ``settle`` protects from: with 0, the race duplicates (so the default is not 0)."""
    tasks, _ = race(1.0, 3, settle=0)
    assert duplicates(tasks) == 3


def test_none_comes_from_a_search_that_began_settle_seconds_after_the_last_send() -> None:
    tasks, _ = race(None, 1, settle=5.0, interval=2.0)
    # the client gave up at 0.2 s (the error's last_sent_ms), so the last search begins at 5.2 s
    assert tasks.searches == pytest.approx([0.2, 2.2, 4.2, 5.2], abs=0.002)  # ms rounding


@pytest.mark.parametrize(
    ("settle", "interval", "error"),
    [(-1, 1.0, ValueError), (1.0, 0, ValueError), ("1", 1.0, TypeError)],
)
async def test_bad_settle_or_interval_is_refused(
    make_sandbox: SandboxFactory,
    make_client: ClientFactory,
    settle: Any,
    interval: Any,
    error: type[Exception],
) -> None:
    sandbox = await make_sandbox()
    client: TuyaClient = await make_client(sandbox)
    unknown = OutcomeUnknownError(
        route="/v1.0/osaas/projects/{project_id}/maintenance/task",
        identifiers={"project_id": sandbox.project_id, "rooms": "{}"},
        first_sent_ms=1,
        last_sent_ms=2,
    )
    with pytest.raises(error):
        await client.maintenance.find_created(unknown, settle=settle, interval=interval)


async def test_against_the_sandbox_ten_races_create_no_duplicate(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    faults = FaultConfig(rate=1.0, kinds={FAULT_SLOW}, slow_s=1.0, routes={CREATE_TASK})
    sandbox = await make_sandbox(tasks=0, faults=faults)
    client = await make_client(sandbox, timeout=0.2)

    async def trial(n: int) -> None:
        args = task_args(sandbox, n)
        try:
            await client.maintenance.create_task(sandbox.project_id, **args)
            return
        except OutcomeUnknownError as error:
            found = await client.maintenance.find_created(error, interval=0.25)
        if found is None:
            await client.maintenance.create_task(sandbox.project_id, **args)

    await asyncio.gather(*(trial(n) for n in range(10)))
    rooms = [
        t["room_device_relations"][0]["room_id"] for t in sandbox.state.tasks(sandbox.project_id)
    ]
    assert len(rooms) == len(set(rooms)) == 10


async def test_against_the_sandbox_none_means_not_created(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    faults = FaultConfig(rate=1.0, kinds={FAULT_ENVELOPE_500}, routes={CREATE_TASK})
    sandbox = await make_sandbox(tasks=0, faults=faults)
    client = await make_client(sandbox)
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.maintenance.create_task(sandbox.project_id, **task_args(sandbox))
    assert await client.maintenance.find_created(caught.value, settle=0.3, interval=0.1) is None
    assert sandbox.state.tasks(sandbox.project_id) == []
    assert sandbox.state.by_route["GET /v1.0/osaas/projects/{project_id}/maintenance/tasks"] >= 2
