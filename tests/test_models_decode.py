"""Every published example response decodes, and the converter's wire decisions hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tuyaio import (
    AuthorizationStatus,
    ConstructionRecord,
    ConstructionRecordDetail,
    CreatedRecord,
    DecodeError,
    DeviceType,
    MaintenanceStatus,
    MaintenanceTask,
    MaintenanceTaskDetail,
    Room,
    RoomType,
)
from tuyaio._converter import decode, encode, from_ms, to_ms
from tuyaio.envelope import parse_envelope
from tuyaio.models.construction import CancelResult, RecordRequest
from tuyaio.resources._base import (
    CONSTRUCTION_PAGING,
    MAINTENANCE_PAGING,
    MAX_TOTAL,
    Listing,
    Paging,
)
from tuyaio.routes import Route

FIXTURES = Path(__file__).parent / "fixtures"


def result_of(name: str) -> Any:
    body = (FIXTURES / name).read_bytes()
    return parse_envelope(status=200, body=body, method="GET", route="/fixture").result


def decode_page(
    result: Any, paging: Paging, item_type: Any, *, page_no: int, page_size: int
) -> Any:
    listing = Listing(Route("GET", "/fixture"), item_type, paging)
    return listing.decode(result, listing.route.build(), page_no, page_size)


def structure(data: Any, type_: Any) -> Any:
    return decode(data, type_, method="GET", route="/fixture")


def test_every_fixture_file_is_covered() -> None:
    covered = {
        "construction_cancel_authorization.json",
        "construction_create_record.json",
        "construction_get_record.json",
        "construction_list_records.json",
        "construction_list_rooms.json",
        "error_500.json",
        "maintenance_bool_result.json",
        "maintenance_create_task.json",
        "maintenance_get_task.json",
        "maintenance_list_tasks.json",
    }
    assert {path.name for path in FIXTURES.glob("*.json")} == covered


def test_maintenance_list_uses_maintenance_status() -> None:
    page = decode_page(
        result_of("maintenance_list_tasks.json"),
        MAINTENANCE_PAGING,
        MaintenanceTask,
        page_no=1,
        page_size=20,
    )
    assert (page.total, page.has_more, len(page)) == (1, False, 1)
    task = page.items[0]
    assert task.task_id == "1306411812723******"
    assert task.status is MaintenanceStatus.PENDING_ACCEPTANCE
    assert task.worker_username == "test@tuya.com"
    assert task.worker_nickname == "Tom"
    assert task.created_at == datetime(2020, 9, 22, 9, 22, 26, 913000, tzinfo=UTC)


def test_maintenance_detail_uses_construction_status_and_relations() -> None:
    task = structure(result_of("maintenance_get_task.json"), MaintenanceTaskDetail)
    assert task.status is MaintenanceStatus.PENDING_ACCEPTANCE
    assert [(room.room_id, room.device_ids) for room in task.rooms] == [
        ("145267896505******", ("00122433******",))
    ]


def test_maintenance_scalar_results() -> None:
    assert structure(result_of("maintenance_create_task.json"), str) == "11123823965053******"
    assert structure(result_of("maintenance_bool_result.json"), bool) is True


def test_construction_fixtures_decode() -> None:
    rooms = decode_page(
        result_of("construction_list_rooms.json"),
        CONSTRUCTION_PAGING,
        Room,
        page_no=1,
        page_size=3,
    )
    assert (rooms.total, len(rooms), rooms.has_more) == (8, 3, True)
    assert rooms.items[2] == Room(
        room_id="135865913932409****",
        room_name="Room 1",
        authorization_status=AuthorizationStatus.NOT_AUTHORIZED,
        device_count_online=0,
    )
    records = decode_page(
        result_of("construction_list_records.json"),
        CONSTRUCTION_PAGING,
        ConstructionRecord,
        page_no=1,
        page_size=50,
    )
    record = records.items[0]
    assert record.record_id == "1367313487243620352"
    assert record.room_names == ("Room 2",)
    assert record.start_time == from_ms(1614827914626)
    assert record.authorization_status is AuthorizationStatus.AUTHORIZED
    detail = structure(result_of("construction_get_record.json"), ConstructionRecordDetail)
    assert detail.remark == ""
    assert detail.country_code == "86"
    assert detail.device_types == ()
    assert detail.rooms[0].room_name == "Room 2"
    assert detail.rooms[0].device_count_finish == 0
    created = structure(result_of("construction_create_record.json"), CreatedRecord)
    assert created == CreatedRecord(record_id="120684995791562****", success=True)
    cancelled = structure(result_of("construction_cancel_authorization.json"), CancelResult)
    assert cancelled.success is True


def test_error_fixture_is_a_server_error() -> None:
    from tuyaio import ServerError

    with pytest.raises(ServerError) as caught:
        result_of("error_500.json")
    assert caught.value.code == 500
    assert "system error" in caught.value.msg


def test_unknown_values_keys_and_numeric_ids_decode() -> None:
    room = structure(
        {"roomId": 1333361826326470001, "roomType": 9, "taskStatus": 77, "newKey": [1], "x": {}},
        Room,
    )
    assert room.room_id == "1333361826326470001"
    assert room.room_type == 9
    assert not room.room_type.is_known
    assert room.room_type is not RoomType.FLOOR
    assert room.task_status == 77
    task = structure({"task_id": "1", "maintenance_status": "ARCHIVED"}, MaintenanceTask)
    assert task.status == "ARCHIVED"
    assert task.status.name == "UNKNOWN"
    assert not task.status.is_known
    assert MaintenanceStatus.IN_MAINTENANCE.is_known


def test_maintenance_status_key_is_preferred_over_construction_status() -> None:
    data = {"task_id": "1", "maintenance_status": "IN_MAINTENANCE", "construction_status": "X"}
    assert structure(data, MaintenanceTask).status is MaintenanceStatus.IN_MAINTENANCE


def test_a_null_maintenance_status_falls_back_to_construction_status() -> None:
    data = {"task_id": "1", "maintenance_status": None, "construction_status": "IN_MAINTENANCE"}
    assert structure(data, MaintenanceTask).status is MaintenanceStatus.IN_MAINTENANCE


def test_missing_lists_and_null_lists_are_empty_tuples() -> None:
    detail = structure({"recordId": "1", "rooms": None}, ConstructionRecordDetail)
    assert detail.rooms == ()
    assert detail.device_types == ()


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"task_id": {"nested": 1}}, "result.task_id"),
        ({"task_id": "1", "gmt_create": "yesterday"}, "result.created_at"),
        ({"task_id": "1", "room_device_relations": [{"room_id": "r"}, {"device_ids": []}]}, "[1]"),
        ("a string", "result"),
    ],
)
def test_bad_shapes_raise_decode_error_with_paths(data: Any, path: str) -> None:
    with pytest.raises(DecodeError) as caught:
        structure(data, MaintenanceTaskDetail)
    assert any(path in message for message in caught.value.errors), caught.value.errors
    assert "/fixture" in str(caught.value)


def test_timestamps_round_trip_exactly() -> None:
    for ms in (0, 1, 1614827914626, 1615564799999, 4102444800000):
        assert to_ms(from_ms(ms)) == ms
    assert from_ms(1614827914626).tzinfo is UTC


def test_record_request_is_camel_case_and_leaves_unset_fields_out() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    body = encode(
        RecordRequest(
            request_type=1,
            project_id="1",
            user_account="a",
            country_code="86",
            operator_name="op",
            start_time=start,
            end_time=datetime(2026, 1, 2, tzinfo=UTC),
            device_types=(DeviceType.LIGHT, DeviceType.SENSOR),
        )
    )
    assert body == {
        "requestType": 1,
        "projectId": "1",
        "userAccount": "a",
        "countryCode": "86",
        "operatorName": "op",
        "startTime": 1767225600000,
        "endTime": 1767312000000,
        "deviceTypes": [0, 4],
    }
    assert json.dumps(body)


@pytest.mark.parametrize(
    ("result", "page_no", "ok"),
    [
        ({"total": 3, "tasks": []}, 1, True),
        ({"total": 0}, 1, True),
        ({"total": 20, "tasks": None}, 2, True),  # a page past the end
        ({"tasks": [{"task_id": "1"}]}, 1, False),  # no total: the walk cannot be planned
        ({"total": "3", "tasks": []}, 1, False),
        ({"total": True, "tasks": []}, 1, False),
        ({"total": -1, "tasks": []}, 1, False),
        ({"total": 3, "list": [{"task_id": "1"}]}, 1, False),  # the other family's items key
        ({"total": MAX_TOTAL + 1, "tasks": []}, 1, False),  # a walk that would never end
        ({"total": 10**400, "tasks": []}, 1, False),
        ([], 1, False),
    ],
)
def test_a_listing_needs_its_total_and_its_items(result: object, page_no: int, ok: bool) -> None:
    def page() -> object:
        return decode_page(
            result,
            MAINTENANCE_PAGING,
            MaintenanceTask,
            page_no=page_no,
            page_size=20,
        )

    if ok:
        page()
    else:
        with pytest.raises(DecodeError, match="total"):
            page()


def test_a_page_never_holds_more_items_than_asked_for() -> None:
    tasks = [{"task_id": str(n)} for n in range(21)]
    with pytest.raises(DecodeError, match="a page of 20 held 21 items"):
        decode_page(
            {"total": 100, "tasks": tasks},
            MAINTENANCE_PAGING,
            MaintenanceTask,
            page_no=1,
            page_size=20,
        )


def test_task_num_is_text_and_room_extend_id_a_decimal_string() -> None:
    listed = structure({"recordId": "1", "taskNum": "T-0003"}, ConstructionRecord)
    assert listed.task_num == "T-0003"
    detail = structure({"recordId": "1", "taskNum": 3}, ConstructionRecordDetail)
    assert detail.task_num == "3"
    room = structure({"roomId": "1", "roomExtendId": 1358619971592130001}, Room)
    assert room.room_extend_id == "1358619971592130001"
