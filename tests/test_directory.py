"""``client.directory``: where a workflow's IDs come from, against the sandbox and on the wire."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tuyaio import (
    ConstructionStatus,
    Device,
    InvalidParameterError,
    LightingProject,
    MaintenanceStatus,
    NotFoundError,
    PermissionDeniedError,
    Project,
    ProjectAuthorization,
    ProjectRoom,
    ProjectRoomDetail,
    TuyaClient,
    Worker,
)
from tuyaio.sandbox import Sandbox

from .conftest import ClientFactory, Recorder, SandboxFactory

MAINTENANCE_PROJECTS = tuple(str(1_233_823_965_050_001 + n) for n in range(5))
LIGHTING_PROJECTS = tuple(str(1_333_361_826_326_470_001 + n) for n in range(4))


@pytest.fixture
async def big(make_sandbox: SandboxFactory) -> Sandbox:
    """A sandbox whose every directory listing spans several odd-sized pages."""
    return await make_sandbox(
        maintenance_projects=MAINTENANCE_PROJECTS,
        lighting_projects=LIGHTING_PROJECTS,
        workers=23,
        maintenance_rooms=31,
        devices_per_room=4,
        tasks=5,
        rooms=3,
        records=0,
    )


async def test_a_workflow_that_knows_only_its_credentials(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = await make_client(sandbox)
    directory = client.directory

    projects = await directory.list_projects()
    project = projects.items[0]
    assert isinstance(project, Project)
    assert project.authorization_status is ProjectAuthorization.AUTHORIZED
    worker = (await directory.list_workers(page_size=1)).items[0]
    room = [r async for r in directory.iter_rooms(project.project_id, limit=2)][-1]
    devices = [d.device_id async for d in directory.iter_room_devices(room.room_id)]
    assert devices

    task_id = await client.maintenance.create_task(
        project.project_id, worker_id=worker.worker_id, rooms={room.room_id: devices}
    )
    task = await client.maintenance.get_task(project.project_id, task_id)
    assert task.status is MaintenanceStatus.PENDING_MAINTENANCE
    assert (task.worker_username, task.worker_nickname) == (worker.username, worker.nickname)
    assert [(r.room_id, r.device_ids) for r in task.rooms] == [(room.room_id, tuple(devices))]

    detail = await directory.get_room(room.room_id)
    assert isinstance(detail, ProjectRoomDetail)
    assert (detail.project_id, detail.room_name) == (project.project_id, room.room_name)
    assert (await directory.get_project(project.project_id)) == project

    site = (await directory.list_lighting_projects()).items[0]
    assert isinstance(site, LightingProject)
    assert (await client.construction.list_rooms(site.project_id)).total == len(
        sandbox.state.rooms(site.project_id)
    )


Walk = Callable[[TuyaClient, int], Any]
Expected = Callable[[Sandbox], list[str]]
PROJECT = MAINTENANCE_PROJECTS[2]
ROOM = str(145_267_896_505_001 + 2 * 100_000 + 17)  # the 18th room of PROJECT
WALKS: dict[str, tuple[Walk, Expected, str, type]] = {
    "projects": (
        lambda c, size: c.directory.iter_projects(page_size=size),
        lambda s: [p["project_id"] for p in s.state.projects.items],
        "project_id",
        Project,
    ),
    "workers": (
        lambda c, size: c.directory.iter_workers(page_size=size, prefetch=3),
        lambda s: [w["worker_id"] for w in s.state.workers.items],
        "worker_id",
        Worker,
    ),
    "rooms": (
        lambda c, size: c.directory.iter_rooms(PROJECT, page_size=size, prefetch=0),
        lambda s: [r["room_id"] for r in s.state.project_rooms(PROJECT)],
        "room_id",
        ProjectRoom,
    ),
    "devices": (
        lambda c, size: c.directory.iter_devices(PROJECT, page_size=size),
        lambda s: [d["device_id"] for d in s.state.project_devices(PROJECT)],
        "device_id",
        Device,
    ),
    "room devices": (
        lambda c, size: c.directory.iter_room_devices(ROOM, page_size=size),
        lambda s: [d["device_id"] for d in s.state.room_devices(ROOM)],
        "device_id",
        Device,
    ),
    "lighting projects": (
        lambda c, size: c.directory.iter_lighting_projects(page_size=size),
        lambda s: [p["projectId"] for p in s.state.lighting.items],
        "project_id",
        LightingProject,
    ),
}


@pytest.mark.parametrize("size", [1, 3, 7, 99])
@pytest.mark.parametrize("name", list(WALKS))
async def test_every_listing_walked_at_an_odd_page_size_yields_what_the_server_holds(
    big: Sandbox, make_client: ClientFactory, name: str, size: int
) -> None:
    walk, expected, key, model = WALKS[name]
    client = await make_client(big)
    items = [item async for item in walk(client, size)]
    held = expected(big)
    assert len(held) > 1
    assert all(isinstance(item, model) for item in items)
    assert [getattr(item, key) for item in items] == held
    pages = -(-len(held) // size)
    assert big.state.requests == pages + 1  # the grant, then each page once


async def test_one_page_of_each_listing(big: Sandbox, make_client: ClientFactory) -> None:
    client = await make_client(big)
    directory = client.directory
    rooms = await directory.list_rooms(PROJECT, page_no=2, page_size=7)
    assert (rooms.total, rooms.page_no, rooms.page_size, len(rooms)) == (31, 2, 7, 7)
    assert rooms.has_more
    assert rooms.items[0].room_name == "Room 108"
    assert rooms.items[0].construction_status is ConstructionStatus.UNAUTHORIZED
    last = await directory.list_devices(PROJECT, page_no=13, page_size=10)
    assert (last.total, len(last), last.has_more) == (124, 4, False)
    past = await directory.list_workers(page_no=9, page_size=5)
    assert (past.total, past.items) == (23, ())
    towers = await directory.list_lighting_projects(keyword="Tower 3")
    assert [p.project_id for p in towers] == [LIGHTING_PROJECTS[2]]
    everything = [p async for p in directory.iter_lighting_projects(keyword="Tower", page_size=3)]
    assert len(everything) == len(LIGHTING_PROJECTS)


async def test_unknown_ids_are_typed_errors(sandbox: Sandbox, client: TuyaClient) -> None:
    directory = client.directory
    with pytest.raises(PermissionDeniedError):
        await directory.get_project("1233823965059999")
    with pytest.raises(PermissionDeniedError):
        await directory.list_rooms("1233823965059999")
    with pytest.raises(PermissionDeniedError):
        await directory.list_devices("1233823965059999")
    with pytest.raises(NotFoundError):
        await directory.get_room("999")
    with pytest.raises(NotFoundError):
        async for _ in directory.iter_room_devices("999"):
            pass


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.get_project("../1"),
        lambda d: d.get_room("a/b"),
        lambda d: d.list_rooms(""),
        lambda d: d.list_devices("1 2"),
        lambda d: d.list_room_devices("%2e%2e"),
        lambda d: d.list_workers(page_size=100),
        lambda d: d.list_projects(page_no=0),
        lambda d: d.list_lighting_projects(page_size=10_001),
        lambda d: d.list_lighting_projects(keyword="  "),
        lambda d: d.list_lighting_projects(keyword=3),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    sandbox: Sandbox, client: TuyaClient, call: Callable[[Any], Any]
) -> None:
    with pytest.raises((ValueError, TypeError)):
        await call(client.directory)
    for walk in (
        lambda: client.directory.iter_rooms("../x"),
        lambda: client.directory.iter_room_devices("a/b"),
        lambda: client.directory.iter_workers(page_size=0),
    ):
        with pytest.raises(ValueError, match="must be"):
            walk()  # at once: the pager is never made
    assert sandbox.state.requests == 0


async def test_create_task_takes_exactly_what_the_directory_lists(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    project = sandbox.project_id
    worker = (await client.directory.list_workers()).items[0].worker_id
    first, second = (await client.directory.list_rooms(project, page_size=2)).items
    devices = [d.device_id async for d in client.directory.iter_room_devices(first.room_id)]
    elsewhere = (await client.directory.list_room_devices(second.room_id)).items[0].device_id
    for wrong in (
        {"worker_id": "1306411812729999", "rooms": {first.room_id: devices}},
        {"worker_id": worker, "rooms": {"145267896509999": devices}},
        {"worker_id": worker, "rooms": {first.room_id: [*devices, elsewhere]}},
    ):
        with pytest.raises(InvalidParameterError):
            await client.maintenance.create_task(project, **wrong)
    assert await client.maintenance.create_task(
        project, worker_id=worker, rooms={first.room_id: devices[:1], second.room_id: [elsewhere]}
    )


async def test_the_sandbox_pages_like_the_maintenance_listings(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    for path in (
        "/v1.0/osaas/construction/workers",
        f"/v1.0/osaas/projects/{sandbox.project_id}/rooms",
    ):
        for params in ({"page_size": 100}, {"page_size": 0}, {"page_no": 0}, {"page_no": "x"}):
            with pytest.raises(InvalidParameterError) as caught:
                await client.request("GET", path, params=params)
            assert caught.value.code == 1101
        echoed = await client.request("GET", path, params={"page_no": 2, "page_size": 5})
        assert (echoed["page_no"], echoed["page_size"], len(echoed[path.rsplit("/")[-1]])) == (
            2,
            5,
            5,
        )
    with pytest.raises(InvalidParameterError):
        await client.request(
            "GET", "/v1.0/illumination/construction/projects", params={"pageSize": 10_001}
        )


# --- the wire, against a server that records what it is sent -------------------------------


async def test_each_call_sends_the_documented_request(
    recorded: tuple[Recorder, TuyaClient],
) -> None:
    recorder, client = recorded
    directory = client.directory
    await directory.list_projects(page_no=2, page_size=7)
    await directory.list_workers()
    await directory.list_rooms("p1", page_size=99)
    await directory.list_devices("p1")
    await directory.list_room_devices("r1")
    await directory.list_lighting_projects(page_size=50, keyword="Tower & Hall")
    await directory.list_lighting_projects()
    recorder.result = {"project_id": "p1"}
    await directory.get_project("p1")
    recorder.result = {"room_id": "r1"}
    await directory.get_room("r1")
    osaas = {"page_no": "1", "page_size": "20"}
    assert recorder.requests == [
        ("GET", "/v1.0/osaas/projects", {"page_no": "2", "page_size": "7"}, b""),
        ("GET", "/v1.0/osaas/construction/workers", osaas, b""),
        ("GET", "/v1.0/osaas/projects/p1/rooms", {"page_no": "1", "page_size": "99"}, b""),
        ("GET", "/v1.0/osaas/projects/p1/devices", osaas, b""),
        ("GET", "/v1.0/osaas/rooms/r1/devices", osaas, b""),
        (
            "GET",
            "/v1.0/illumination/construction/projects",
            {"page": "1", "pageSize": "50", "keyword": "Tower & Hall"},
            b"",
        ),
        ("GET", "/v1.0/illumination/construction/projects", {"page": "1", "pageSize": "20"}, b""),
        ("GET", "/v1.0/osaas/projects/p1", {}, b""),
        ("GET", "/v1.0/osaas/rooms/r1", {}, b""),
    ]


@pytest.mark.parametrize(
    ("call", "result", "ids"),
    [
        (  # one English field table names the workers' list "tasks"
            lambda d: d.list_workers(),
            {"total": 1, "tasks": [{"worker_id": 7, "username": "u"}]},
            ["7"],
        ),
        (  # Tuya's lighting SDK pages carry "list" or "records"
            lambda d: d.list_lighting_projects(),
            {"total": 2, "records": [{"projectId": 1}, {"projectId": "2", "extra": {}}]},
            ["1", "2"],
        ),
        (
            lambda d: d.list_lighting_projects(),
            {"total": 1, "list": [{"projectId": "L"}], "records": None},
            ["L"],
        ),
    ],
)
async def test_items_under_either_documented_key(
    recorded: tuple[Recorder, TuyaClient],
    call: Callable[[Any], Any],
    result: dict[str, Any],
    ids: list[str],
) -> None:
    recorder, client = recorded
    recorder.result = result
    page = await call(client.directory)
    key = "worker_id" if "tasks" in result else "project_id"
    assert [getattr(item, key) for item in page] == ids


async def test_undocumented_values_and_missing_fields_decode(
    recorded: tuple[Recorder, TuyaClient],
) -> None:
    recorder, client = recorded
    recorder.result = {
        "room_id": 1452678965050010000,
        "construction_status": "DEMOLISHED",
        "gmt_create": "1700000000000",
        "telephone": None,
    }
    room = await client.directory.get_room("r1")
    assert room.room_id == "1452678965050010000"
    assert room.construction_status is not None
    assert not room.construction_status.is_known
    assert room.construction_status.value == "DEMOLISHED"
    assert room.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert (room.telephone, room.project_id) == (None, None)
    assert json.loads(json.dumps(room.construction_status)) == "DEMOLISHED"


@pytest.mark.parametrize("name", list(WALKS))
async def test_a_walk_is_exact_when_the_server_caps_its_pages(
    big: Sandbox, make_client: ClientFactory, name: str
) -> None:
    walk, expected, key, _ = WALKS[name]
    big.configure(page_size_cap=2)
    client = await make_client(big)
    assert [getattr(item, key) async for item in walk(client, 7)] == expected(big)
