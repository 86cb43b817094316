"""``tuyaio construction …`` against a served sandbox: output parsed, exit codes checked."""

from __future__ import annotations

from typing import Any

from .conftest import API, USAGE, Served, assert_one_error_line


def test_rooms_filtered_by_authorization_status(cli: Any, served: Served) -> None:
    result = cli(
        "construction",
        "rooms",
        served.lighting_project_id,
        "--authorization-status",
        "not-authorized",
        "--page-size",
        "200",
        "--jsonl",
    )
    assert result.code == 0, result.err
    rooms = result.lines()
    assert rooms
    assert {room["authorization_status"] for room in rooms} == {0}
    assert all(room["record_id"] is None for room in rooms)

    document = cli(
        "construction", "rooms", served.lighting_project_id, "--json", "--limit", "10"
    ).json()
    assert document["total"] == 3000
    assert len(document["items"]) == 10


def test_record_create_get_list_cancel(cli: Any, served: Served) -> None:
    lighting = served.lighting_project_id
    free = cli(
        "construction",
        "rooms",
        lighting,
        "--authorization-status",
        "0",
        "--jsonl",
        "--limit",
        "50",
    ).lines()
    room_ids = [room["room_id"] for room in free if room["room_type"] == 4][:2]
    assert len(room_ids) == 2
    created = cli(
        "construction",
        "create",
        "--project-id",
        lighting,
        "--user-account",
        "team@example.com",
        "--country-code",
        "86",
        "--operator-name",
        "Cli Tester",
        "--start",
        "2030-01-01T08:00:00Z",
        "--end",
        "2030-01-01T18:00:00+02:00",
        "--device-types",
        "light,gateway",
        "--room-id",
        room_ids[0],
        "--room-id",
        room_ids[1],
        "--remark",
        "from the CLI tests",
        "--json",
    )
    assert created.code == 0, created.err
    record_id = created.json()["record_id"]

    record = cli("construction", "get", record_id, "--json").json()
    assert record["record_id"] == record_id
    assert record["authorization_status"] == 1
    assert {room["room_id"] for room in record["rooms"]} == set(room_ids)
    assert record["start_time"] == "2030-01-01T08:00:00.000Z"
    assert record["end_time"] == "2030-01-01T16:00:00.000Z"
    table = cli("construction", "get", record_id)
    assert table.code == 0
    assert "Cli Tester" in table.out

    listed = cli(
        "construction", "records", lighting, "--operator-name", "Cli Tester", "--json"
    ).json()
    assert [item["record_id"] for item in listed["items"]] == [record_id]
    assert listed["items"][0]["room_names"]

    cancelled = cli("construction", "cancel", record_id, "--json")
    assert cancelled.code == 0, cancelled.err
    assert cancelled.json() == {"record_id": record_id, "cancelled": True}
    assert cli("construction", "get", record_id, "--json").json()["authorization_status"] == 3


def test_record_needs_its_required_fields(cli: Any, served: Served) -> None:
    result = cli(
        "construction",
        "create",
        "--project-id",
        served.lighting_project_id,
        "--user-account",
        "a@example.com",
        "--country-code",
        "86",
        "--operator-name",
        "N",
        "--end",
        "2030-01-01T18:00:00Z",
    )
    assert result.code == USAGE
    assert "--start" in result.err


def test_end_before_start_is_a_usage_error(cli: Any, served: Served) -> None:
    result = cli(
        "construction",
        "create",
        "--project-id",
        served.lighting_project_id,
        "--user-account",
        "a@example.com",
        "--country-code",
        "86",
        "--operator-name",
        "N",
        "--start",
        "2030-01-02T00:00:00Z",
        "--end",
        "2030-01-01T00:00:00Z",
    )
    assert_one_error_line(result, USAGE, "end must be after start")


def test_unknown_record_is_an_api_error(cli: Any) -> None:
    result = cli("construction", "cancel", "1367313487243620352")
    assert_one_error_line(result, API, "code 1000", "request id")
