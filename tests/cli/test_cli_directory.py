"""``tuyaio directory …``: find the IDs a task needs from the command line, then create it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from .conftest import (
    API,
    USAGE,
    Result,
    Served,
    assert_one_error_line,
    run_cli,
    run_many,
    sandbox_in_thread,
)


@pytest.fixture(scope="module")
def own() -> Iterator[Served]:
    """A sandbox of this module's own: the workflow creates a task, which the session's sandbox
    must not see (other tests count its tasks)."""
    with sandbox_in_thread(tasks=10, rooms=10, records=0) as served:
        yield served


@pytest.fixture
def own_cli(own: Served) -> Callable[..., Result]:
    def run(*args: str, env: Mapping[str, str] | None = None) -> Result:
        return run_cli(*args, env={**own.env, **(env or {})}, secret=own.secret)

    return run


def test_find_the_ids_then_create_a_task(own_cli: Any, own: Served) -> None:
    cli, served = own_cli, own
    projects, workers, lighting = run_many(
        cli,
        [
            (["directory", "projects", "--jsonl"], None),
            (["directory", "workers", "--jsonl", "--limit", "1"], None),
            (["directory", "lighting-projects", "--json", "--keyword", "Tower"], None),
        ],
    )
    project = projects.lines()[0]["project_id"]
    assert project == served.project_id
    worker = workers.lines()[0]["worker_id"]
    assert [p["project_id"] for p in lighting.json()["items"]] == [served.lighting_project_id]

    rooms, one_project = run_many(
        cli,
        [
            (["directory", "rooms", project, "--jsonl", "--page-size", "7", "--limit", "9"], None),
            (["directory", "project", project, "--json"], None),
        ],
    )
    room = rooms.lines()[8]
    assert len(rooms.lines()) == 9
    assert one_project.json()["authorization_status"] == "AUTHORIZED"
    devices, detail, all_devices = run_many(
        cli,
        [
            (["directory", "room-devices", room["room_id"], "--jsonl"], None),
            (["directory", "room", room["room_id"], "--json"], None),
            (["directory", "devices", project, "--json", "--page-size", "11"], None),
        ],
    )
    device_ids = [d["device_id"] for d in devices.lines()]
    assert detail.json()["project_id"] == project
    assert all_devices.json()["total"] == len(all_devices.json()["items"]) == 120
    assert set(device_ids) <= {d["device_id"] for d in all_devices.json()["items"]}

    spec = f"{room['room_id']}={','.join(device_ids)}"
    created = cli("maintenance", "create", project, "--worker-id", worker, "--room", spec, "--json")
    assert created.code == 0, created.err
    task = cli("maintenance", "get", project, created.json()["task_id"], "--json").json()
    assert {r["room_id"]: r["device_ids"] for r in task["rooms"]} == {room["room_id"]: device_ids}


def test_unknown_ids_are_api_errors_and_unsafe_ones_usage_errors(cli: Any, served: Served) -> None:
    unknown_room, unknown_project, unsafe, too_big = run_many(
        cli,
        [
            (["directory", "room", "999"], None),
            (["directory", "rooms", "999999"], None),
            (["directory", "room-devices", "../x"], None),
            (["directory", "workers", "--page-size", "100"], None),
        ],
    )
    assert_one_error_line(unknown_room, API, "code 1000", "request id")
    assert_one_error_line(unknown_project, API, "code 1106")
    assert unsafe.code == USAGE
    assert too_big.code == USAGE
