"""Construction management end to end against the sandbox: records, rooms, filters, inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tuyaio import (
    AuthorizationStatus,
    ConstructionRecordDetail,
    DeviceType,
    NotFoundError,
    PermissionDeniedError,
    TuyaClient,
)
from tuyaio.sandbox import Sandbox

from .conftest import ClientFactory, SandboxFactory

ROOMS_ROUTE = "GET /v2.0/illumination/construction/task/rooms"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
END = START + timedelta(days=10)


def free_rooms(sandbox: Sandbox, count: int) -> list[str]:
    rooms = sandbox.state.rooms(sandbox.lighting_project_id)
    return [room["roomId"] for room in rooms if room["authorizationStatus"] == 0][:count]


async def test_record_lifecycle_create_detail_list_cancel_releases_rooms(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    project = sandbox.lighting_project_id
    room_ids = free_rooms(sandbox, 3)
    created = await client.construction.create_record(
        project_id=project,
        user_account="18655280000",
        country_code="86",
        operator_name="Operator Zed",
        start_time=START,
        end_time=END,
        device_types=[DeviceType.LIGHT, 1],
        room_ids=room_ids,
    )
    assert created.success
    assert created.record_id.isdigit()

    detail = await client.construction.get_record(created.record_id)
    assert isinstance(detail, ConstructionRecordDetail)
    assert (detail.start_time, detail.end_time) == (START, END)
    assert detail.authorization_status is AuthorizationStatus.AUTHORIZED
    assert [(d.id, d.name) for d in detail.device_types] == [
        (DeviceType.LIGHT, "smart light"),
        (DeviceType.GATEWAY, "gateway"),
    ]
    assert sorted(room.room_id for room in detail.rooms) == sorted(room_ids)
    assert detail.task_num == "3"

    mine = [
        record.record_id
        async for record in client.construction.iter_records(
            project,
            operator_name="Operator Zed",
            authorization_status=[AuthorizationStatus.AUTHORIZED],
        )
    ]
    assert mine == [created.record_id]

    authorised = {
        room.room_id: room
        async for room in client.construction.iter_rooms(project, authorization_status=[1])
    }
    assert set(room_ids) <= set(authorised)
    assert authorised[room_ids[0]].record_id == created.record_id

    assert await client.construction.cancel_authorization(created.record_id) is True
    released = {
        room.room_id: room
        async for room in client.construction.iter_rooms(project, authorization_status=0)
    }
    assert set(room_ids) <= set(released)
    assert released[room_ids[0]].record_id is None
    cancelled = await client.construction.get_record(created.record_id)
    assert cancelled.authorization_status is AuthorizationStatus.CANCELLED


async def test_update_record_changes_the_window(sandbox: Sandbox, client: TuyaClient) -> None:
    common = {
        "project_id": sandbox.lighting_project_id,
        "user_account": "a@example.com",
        "country_code": "1",
        "operator_name": "Ann",
    }
    created = await client.construction.create_record(start_time=START, end_time=END, **common)
    later = END + timedelta(days=5)
    updated = await client.construction.update_record(
        record_id=created.record_id, start_time=START, end_time=later, remark="extended", **common
    )
    assert updated.record_id == created.record_id
    detail = await client.construction.get_record(created.record_id)
    assert detail.end_time == later
    assert detail.remark == "extended"


@pytest.mark.parametrize(("page_size", "rooms"), [(1, 400), (333, 5000), (10000, 5000)])
async def test_iter_rooms_yields_each_room_once_in_order(
    make_sandbox: SandboxFactory, make_client: ClientFactory, page_size: int, rooms: int
) -> None:
    sandbox = await make_sandbox(rooms=rooms)
    client = await make_client(sandbox)
    expected = [room["roomId"] for room in sandbox.state.rooms(sandbox.lighting_project_id)]
    got = [
        room.room_id
        async for room in client.construction.iter_rooms(
            sandbox.lighting_project_id, page_size=page_size
        )
    ]
    assert len(expected) == rooms
    assert got == expected
    assert sandbox.state.by_route[ROOMS_ROUTE] == -(-rooms // page_size)


async def test_filters_match_the_sandboxs_own_filtering(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    project = sandbox.lighting_project_id
    rooms = sandbox.state.rooms(project)
    wanted = [r["roomId"] for r in rooms if r["authorizationStatus"] in (1, 2)]
    got = [
        room.room_id
        async for room in client.construction.iter_rooms(
            project, authorization_status=[AuthorizationStatus.AUTHORIZED, 2], page_size=97
        )
    ]
    assert got == wanted
    assert got

    name = rooms[5]["roomName"]
    named = [r["roomId"] for r in rooms if name in r["roomName"]]
    assert [
        r.room_id async for r in client.construction.iter_rooms(project, room_name=name)
    ] == named

    records = sandbox.state.records(project)
    operator = records[0]["operatorName"]
    by_operator = [r["recordId"] for r in records if r["operatorName"] == operator]
    got_records = [
        r.record_id async for r in client.construction.iter_records(project, operator_name=operator)
    ]
    assert got_records == by_operator

    window_start = datetime.fromtimestamp(records[3]["startTime"] / 1000, UTC)
    window_end = window_start + timedelta(days=1)
    in_window = [
        r["recordId"]
        for r in records
        if r["startTime"] <= window_end.timestamp() * 1000
        and r["endTime"] >= window_start.timestamp() * 1000
    ]
    got_window = [
        r.record_id
        async for r in client.construction.iter_records(
            project, start_time=window_start, end_time=window_end
        )
    ]
    assert got_window == in_window
    assert got_window


@pytest.mark.parametrize("text", ["Floor 1", "a+b", "R&D / 2", "100%", "Büro 3", "x=y,z"])
async def test_filter_text_reaches_the_server_as_written(
    sandbox: Sandbox, client: TuyaClient, text: str
) -> None:
    # A strict server decodes the query by RFC 3986 only: "+" is a plus, a space travels as %20.
    project = sandbox.lighting_project_id
    expected = [r["roomId"] for r in sandbox.state.rooms(project) if text in r["roomName"]]
    page = await client.construction.list_rooms(project, room_name=text, page_size=1000)
    assert [room.room_id for room in page.items] == expected
    records = await client.construction.list_records(project, operator_name=text)
    assert records.total == 0


async def test_permission_and_not_found_errors(sandbox: Sandbox, client: TuyaClient) -> None:
    with pytest.raises(PermissionDeniedError) as denied:
        await client.construction.list_rooms("1111111111111111111")
    assert denied.value.code == 1106
    with pytest.raises(NotFoundError):
        await client.construction.get_record("1234567890123456789")
    with pytest.raises(NotFoundError):
        await client.construction.cancel_authorization("1234567890123456789")


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"start_time": datetime(2026, 12, 1)}, ValueError, "start_time must be timezone-aware"),
        ({"end_time": START}, ValueError, "end_time must be after start_time"),
        ({"end_time": START - timedelta(hours=1)}, ValueError, "end_time must be after"),
        ({"device_types": [2]}, ValueError, "device_types"),
        ({"device_types": []}, ValueError, "device_types"),
        ({"device_types": [True]}, TypeError, "device_types"),
        ({"room_ids": []}, ValueError, "room_ids"),
        ({"room_ids": "r1"}, TypeError, "room_ids"),
        ({"start_time": "2026-12-01"}, TypeError, "start_time"),
    ],
)
async def test_bad_record_inputs_are_refused_before_io(
    sandbox: Sandbox, client: TuyaClient, changes: dict[str, object], error: type, match: str
) -> None:
    args: dict[str, object] = {
        "user_account": "a",
        "country_code": "86",
        "operator_name": "op",
        "start_time": START,
        "end_time": END,
        **changes,
    }
    with pytest.raises(error, match=match):
        await client.construction.create_record(sandbox.lighting_project_id, **args)  # type: ignore[arg-type]
    assert sandbox.state.requests == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"page_size": 10_001}, "page_size"),
        ({"page_no": 0}, "page_no"),
        ({"authorization_status": []}, "authorization_status"),
        ({"authorization_status": [7]}, "authorization_status"),
        ({"task_status": [1, 9]}, "task_status"),
    ],
)
async def test_bad_room_filters_are_refused_before_io(
    sandbox: Sandbox, client: TuyaClient, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        await client.construction.list_rooms(sandbox.lighting_project_id, **kwargs)  # type: ignore[arg-type]
    assert sandbox.state.requests == 0


async def test_aware_datetimes_in_any_zone_are_sent_as_the_same_instant(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    tokyo = timezone(timedelta(hours=9))
    created = await client.construction.create_record(
        project_id=sandbox.lighting_project_id,
        user_account="a",
        country_code="81",
        operator_name="Kenji",
        start_time=START.astimezone(tokyo),
        end_time=END.astimezone(tokyo),
    )
    detail = await client.construction.get_record(created.record_id)
    assert detail.start_time == START
    assert detail.start_time.tzinfo is UTC
