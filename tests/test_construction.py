"""Construction management end to end against the sandbox: records, rooms, filters, inputs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tuyaio import (
    AsyncPager,
    AuthorizationStatus,
    ConstructionRecordDetail,
    DeviceType,
    InvalidParameterError,
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


LIGHTING = "1333361826326470001"
BEFORE_1970 = datetime(1969, 12, 31, 23, 59, tzinfo=UTC)


def _record(**changes: Any) -> Callable[[TuyaClient], Awaitable[object]]:
    """create_record (update_record with a ``record_id``) with one change to good arguments."""

    def call(c: TuyaClient) -> Awaitable[object]:
        fields: dict[str, Any] = {
            "user_account": "a",
            "country_code": "86",
            "operator_name": "op",
            "start_time": START,
            "end_time": END,
            **changes,
        }
        if "record_id" in fields:
            return c.construction.update_record(LIGHTING, fields.pop("record_id"), **fields)
        return c.construction.create_record(LIGHTING, **fields)

    return call


async def _walk(pager: AsyncPager[Any]) -> None:
    async for _ in pager:
        pass


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        # create_record and update_record
        (
            _record(start_time=datetime(2026, 12, 1)),
            ValueError,
            "start_time must be timezone-aware",
        ),
        (_record(start_time="2026-12-01"), TypeError, "start_time"),
        (_record(start_time=BEFORE_1970), ValueError, "start_time"),
        (_record(record_id="rec1", start_time=BEFORE_1970), ValueError, "start_time"),
        (_record(end_time=START), ValueError, "end_time must be after start_time"),
        (_record(end_time=START - timedelta(hours=1)), ValueError, "end_time must be after"),
        (_record(device_types=[2**70]), ValueError, "device_types"),
        (_record(device_types=[]), ValueError, "device_types"),
        (_record(device_types=[True]), TypeError, "device_types"),
        (_record(device_types=[1.0]), TypeError, "device_types"),
        (_record(device_types=1.0), TypeError, "device_types"),
        (_record(device_types={1: "gateway"}), TypeError, "device_types"),
        (_record(device_types=["1"]), TypeError, "device_types"),
        (_record(room_ids=[]), ValueError, "room_ids"),
        (_record(room_ids="r1"), TypeError, "room_ids"),
        (_record(room_ids={"r1": 1}), TypeError, "room_ids"),
        (_record(room_ids=["r1", "r2", "r1"]), ValueError, "room_ids"),
        (_record(record_id="rec1", room_ids=["r1", "r1"]), ValueError, "room_ids"),
        (_record(remarks="typo"), TypeError, "remarks"),
        (
            lambda c: c.construction.create_record(
                LIGHTING, country_code="86", operator_name="op", start_time=START, end_time=END
            ),
            TypeError,
            "user_account",
        ),
        # list_rooms
        (lambda c: c.construction.list_rooms(LIGHTING, page_size=10_001), ValueError, "page_size"),
        (lambda c: c.construction.list_rooms(LIGHTING, page_no=0), ValueError, "page_no"),
        *(
            (
                lambda c, v=v: c.construction.list_rooms(LIGHTING, authorization_status=v),
                e,
                "authorization_status",
            )
            for v, e in [
                ([], ValueError),
                ([2**64], ValueError),
                (1.0, TypeError),
                ({0: "x"}, TypeError),
            ]
        ),
        (
            lambda c: c.construction.list_rooms(LIGHTING, task_status=[1, -(2**64)]),
            ValueError,
            "task_status",
        ),
        (lambda c: c.construction.list_rooms(LIGHTING, task_status=2.0), TypeError, "task_status"),
        (lambda c: c.construction.iter_rooms(LIGHTING, room_nme="x"), TypeError, "room_nme"),
        # list_records
        (
            lambda c: c.construction.list_records(LIGHTING, start_time=BEFORE_1970),
            ValueError,
            "start_time",
        ),
        (
            lambda c: c.construction.list_records(LIGHTING, end_time=BEFORE_1970),
            ValueError,
            "end_time",
        ),
        # iter_rooms and iter_records
        (lambda c: _walk(c.construction.iter_rooms(LIGHTING, prefetch=-1)), ValueError, "prefetch"),
        (
            lambda c: _walk(c.construction.iter_records(LIGHTING, prefetch=True)),
            TypeError,
            "prefetch",
        ),
    ],
)
async def test_bad_construction_arguments_are_refused_by_name_before_io(
    sandbox: Sandbox,
    client: TuyaClient,
    call: Callable[[TuyaClient], Awaitable[object]],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await call(client)
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


async def test_a_value_tuya_adds_later_can_be_sent_before_tuyaio_knows_it(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    rooms = await client.construction.list_rooms(
        sandbox.lighting_project_id, authorization_status=[1, 7]
    )
    assert rooms.total == sum(
        1 for r in sandbox.state.rooms(sandbox.lighting_project_id) if r["authorizationStatus"] == 1
    )
    with pytest.raises(InvalidParameterError) as refused:  # the sandbox knows no device type 9
        await client.construction.create_record(
            sandbox.lighting_project_id,
            user_account="a",
            country_code="86",
            operator_name="op",
            start_time=START,
            end_time=END,
            device_types=[DeviceType.LIGHT, 9],
        )
    assert refused.value.code == 1109
