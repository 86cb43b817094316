"""Maintenance tasks end to end against the sandbox: lifecycle, listings, state machine, inputs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from tuyaio import (
    ApiError,
    AsyncPager,
    InvalidParameterError,
    MaintenanceStatus,
    MaintenanceTaskDetail,
    NotFoundError,
    RoomDevices,
    TuyaClient,
)
from tuyaio.sandbox import Sandbox

from .conftest import ClientFactory, SandboxFactory

LIST_ROUTE = "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks"


def client_side_tasks() -> list[asyncio.Task[object]]:
    """Tasks still pending, leaving out the in-process sandbox's connection handlers."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current and "RequestHandler" not in repr(task.get_coro())
    ]


async def test_full_lifecycle(sandbox: Sandbox, client: TuyaClient) -> None:
    project = sandbox.project_id
    task_id = await client.maintenance.create_task(
        project,
        worker_id="1306411812723001",
        rooms={"145267896505001": ["00122433001", "00122433003"]},
    )
    assert isinstance(task_id, str)
    assert task_id.isdigit()

    detail = await client.maintenance.get_task(project, task_id)
    assert isinstance(detail, MaintenanceTaskDetail)
    assert detail.task_id == task_id
    assert detail.status is MaintenanceStatus.PENDING_MAINTENANCE
    assert detail.rooms == (
        RoomDevices(room_id="145267896505001", device_ids=("00122433001", "00122433003")),
    )
    assert isinstance(detail.created_at, datetime)
    assert detail.created_at.tzinfo is not None

    first = await client.maintenance.list_tasks(project, page_size=5)
    assert first.items[0].task_id == task_id  # newest first
    assert first.items[0].status is MaintenanceStatus.PENDING_MAINTENANCE

    with pytest.raises(ApiError) as refused:
        await client.maintenance.accept_task(project, task_id)
    assert refused.value.code == 1109
    assert refused.value.tid

    sandbox.state.set_task_status(project, task_id, "PENDING_ACCEPTANCE")
    assert await client.maintenance.accept_task(project, task_id) is True
    accepted = await client.maintenance.get_task(project, task_id)
    assert accepted.status is MaintenanceStatus.ACCEPTANCE_COMPLETE

    assert await client.maintenance.reopen_task(project, task_id) is True
    reopened = await client.maintenance.get_task(project, task_id)
    assert reopened.status is MaintenanceStatus.PENDING_MAINTENANCE

    assert await client.maintenance.delete_task(project, task_id) is True
    with pytest.raises(NotFoundError):
        await client.maintenance.get_task(project, task_id)


async def test_both_status_keys_decode_to_one_attribute(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    page = await client.maintenance.list_tasks(sandbox.project_id, page_size=20)
    for task in page.items:
        detail = await client.maintenance.get_task(sandbox.project_id, task.task_id)
        assert task.status is not None
        assert task.status.is_known
        assert detail.status is task.status


@pytest.mark.parametrize(("page_size", "tasks"), [(1, 150), (7, 1000), (99, 1000)])
async def test_iter_tasks_yields_exactly_the_seeded_ids_in_order(
    make_sandbox: SandboxFactory, make_client: ClientFactory, page_size: int, tasks: int
) -> None:
    sandbox = await make_sandbox(tasks=tasks)
    client = await make_client(sandbox)
    expected = [task["task_id"] for task in sandbox.state.tasks(sandbox.project_id)]
    got = [
        t.task_id
        async for t in client.maintenance.iter_tasks(sandbox.project_id, page_size=page_size)
    ]
    assert len(expected) == tasks
    assert got == expected
    assert sandbox.state.by_route[LIST_ROUTE] == -(-tasks // page_size)


@pytest.mark.parametrize("prefetch", [0, 8])
async def test_limit_stops_early_without_extra_pages(
    make_sandbox: SandboxFactory, make_client: ClientFactory, prefetch: int
) -> None:
    sandbox = await make_sandbox(tasks=1000)
    client = await make_client(sandbox)
    pager = client.maintenance.iter_tasks(
        sandbox.project_id, page_size=10, limit=25, prefetch=prefetch
    )
    tasks = [task async for task in pager]
    assert len(tasks) == 25
    assert sandbox.state.by_route[LIST_ROUTE] == 3


async def test_breaking_out_early_with_prefetch_fetches_at_most_prefetch_extra_pages(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(tasks=1000, latency_ms=5)
    client = await make_client(sandbox)
    stop_at = sandbox.state.tasks(sandbox.project_id)[12]["task_id"]
    async with client.maintenance.iter_tasks(sandbox.project_id, page_size=10, prefetch=4) as pager:
        async for task in pager:
            if task.task_id == stop_at:
                break
    assert client_side_tasks() == []
    assert sandbox.state.by_route[LIST_ROUTE] <= 2 + 4


async def test_start_page_and_reiteration(sandbox: Sandbox, client: TuyaClient) -> None:
    seeded = [task["task_id"] for task in sandbox.state.tasks(sandbox.project_id)]
    pager = client.maintenance.iter_tasks(sandbox.project_id, page_size=50, start_page=3)
    first = [task.task_id async for task in pager]
    again = [task.task_id async for task in pager]
    assert first == again == seeded[100:]


async def test_unknown_task_is_not_found(sandbox: Sandbox, client: TuyaClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.maintenance.get_task(sandbox.project_id, "404")
    assert caught.value.code == 1000
    assert caught.value.route == "/v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}"


async def _walk(pager: AsyncPager[Any]) -> None:
    async for _ in pager:
        pass


PROJECT = "1233823965050001"
ROOMS = {"r": ["d"]}


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        # get_task: IDs that could leave their path segment
        *(
            (lambda c, p=p, t=t: c.maintenance.get_task(p, t), ValueError, "project_id|task_id")
            for p, t in [("..", "1"), ("a/b", "1"), ("1", "%2F"), ("", "1"), ("1", "a b")]
        ),
        *(
            (lambda c, t=t: c.maintenance.get_task(PROJECT, t), ValueError, "task_id")
            for t in ["x\n", "."]
        ),
        # list_tasks
        (lambda c: c.maintenance.list_tasks(PROJECT, page_size=0), ValueError, "page_size"),
        (lambda c: c.maintenance.list_tasks(PROJECT, page_size=100), ValueError, "page_size"),
        (lambda c: c.maintenance.list_tasks(PROJECT, page_size=2.5), TypeError, "page_size"),
        (lambda c: c.maintenance.list_tasks(PROJECT, page_no=0), ValueError, "page_no"),
        (lambda c: c.maintenance.list_tasks(PROJECT, page_no="1"), TypeError, "page_no"),
        # iter_tasks: refused when called, not when iterated
        (
            lambda c: _pager(c.maintenance.iter_tasks(PROJECT, page_size=100)),
            ValueError,
            "page_size",
        ),
        (lambda c: _walk(c.maintenance.iter_tasks(PROJECT, prefetch=65)), ValueError, "prefetch"),
        (
            lambda c: _walk(c.maintenance.iter_tasks(PROJECT, prefetch=10**9)),
            ValueError,
            "prefetch",
        ),
        # create_task
        (
            lambda c: c.maintenance.create_task(PROJECT, worker_id="w1", rooms={}),
            ValueError,
            "at least one room",
        ),
        (
            lambda c: c.maintenance.create_task(PROJECT, worker_id="w1", rooms={"r1": []}),
            ValueError,
            "must not be empty",
        ),
        (
            lambda c: c.maintenance.create_task(PROJECT, worker_id="w1", rooms={"r1": "dev1"}),
            TypeError,
            "list of str",
        ),
        (
            lambda c: c.maintenance.create_task(PROJECT, worker_id="w1", rooms={"": ["d"]}),
            ValueError,
            "room ID",
        ),
        (
            lambda c: c.maintenance.create_task(PROJECT, worker_id="w1", rooms={"r1": ["d", ""]}),
            ValueError,
            "rooms",
        ),
        (
            lambda c: c.maintenance.create_task(
                PROJECT, worker_id="w1", rooms={"r1": ["d1", "d2", "d1"]}
            ),
            ValueError,
            r"rooms\['r1'\]",
        ),
        (
            lambda c: c.maintenance.create_task(
                PROJECT,
                worker_id="w1",
                rooms=[
                    RoomDevices(room_id="r1", device_ids=("d1",)),
                    RoomDevices(room_id="r1", device_ids=("d2",)),
                ],
            ),
            ValueError,
            "rooms",
        ),
    ],
)
async def test_bad_maintenance_arguments_are_refused_by_name_before_io(
    sandbox: Sandbox,
    client: TuyaClient,
    call: Callable[[TuyaClient], Awaitable[object]],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await call(client)
    assert sandbox.state.requests == 0


async def _pager(pager: AsyncPager[Any]) -> None:
    raise AssertionError(f"{pager!r} was made")


async def test_rooms_as_room_devices_and_server_side_validation(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    task_id = await client.maintenance.create_task(
        sandbox.project_id,
        worker_id="1306411812723002",
        rooms=[RoomDevices(room_id="145267896505002", device_ids=("00122433004",))],
    )
    detail = await client.maintenance.get_task(sandbox.project_id, task_id)
    assert detail.rooms[0].device_ids == ("00122433004",)
    with pytest.raises(InvalidParameterError):
        await client.request(
            "GET",
            f"/v1.0/osaas/projects/{sandbox.project_id}/maintenance/tasks",
            params={"page_size": 500},
        )


async def test_to_list_collects_a_listing_up_to_its_limit(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    seeded = [task["task_id"] for task in sandbox.state.tasks(sandbox.project_id)]
    pager = client.maintenance.iter_tasks(sandbox.project_id, page_size=7, limit=30)
    tasks = await pager.to_list()
    assert [task.task_id for task in tasks] == seeded[:30]
    assert sandbox.state.by_route[LIST_ROUTE] == 5
    everything = await client.maintenance.iter_tasks(sandbox.project_id, page_size=99).to_list()
    assert [task.task_id for task in everything] == seeded
