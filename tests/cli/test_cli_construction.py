"""``tuyaio construction …`` against a served sandbox: output parsed, exit codes checked."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .conftest import (
    API,
    USAGE,
    Served,
    assert_one_error_line,
    env_for,
    envelope,
    in_thread,
    run_cli,
    run_many,
    scripted,
    serving,
)

RECORD = [
    "--user-account",
    "team@example.com",
    "--country-code",
    "86",
    "--operator-name",
    "Cli Tester",
]


def test_rooms_filtered_by_authorization_status(cli: Any, served: Served) -> None:
    lighting = served.lighting_project_id
    free, document = run_many(
        cli,
        [
            (["construction", "rooms", lighting, "--authorization-status", "not-authorized",
              "--page-size", "200", "--jsonl"], None),
            (["construction", "rooms", lighting, "--json", "--limit", "10"], None),
        ],
    )  # fmt: skip
    assert free.code == 0, free.err
    rooms = free.lines()
    assert rooms
    assert {room["authorization_status"] for room in rooms} == {0}
    assert all(room["record_id"] is None for room in rooms)
    assert document.json()["total"] == 3000
    assert len(document.json()["items"]) == 10


def test_record_create_get_list_cancel(cli: Any, served: Served) -> None:
    lighting = served.lighting_project_id
    free = cli(
        "construction", "rooms", lighting, "--authorization-status", "0", "--jsonl", "--limit", "50"
    ).lines()
    room_ids = [room["room_id"] for room in free if room["room_type"] == 4][:2]
    assert len(room_ids) == 2
    created = cli(
        "construction", "create", lighting, *RECORD,
        "--start", "2030-01-01T08:00:00Z", "--end", "2030-01-01T18:00:00+02:00",
        "--device-types", "light,gateway", "--room-id", room_ids[0], "--room-id", room_ids[1],
        "--remark", "from the CLI tests", "--json",
    )  # fmt: skip
    assert created.code == 0, created.err
    record_id = created.json()["record_id"]

    detail, table, listed = run_many(
        cli,
        [
            (["construction", "get", record_id, "--json"], None),
            (["construction", "get", record_id], None),
            (
                ["construction", "records", lighting, "--operator-name", "Cli Tester", "--json"],
                None,
            ),
        ],
    )
    record = detail.json()
    assert record["record_id"] == record_id
    assert record["authorization_status"] == 1
    assert {room["room_id"] for room in record["rooms"]} == set(room_ids)
    assert record["start_time"] == "2030-01-01T08:00:00.000Z"
    assert record["end_time"] == "2030-01-01T16:00:00.000Z"
    assert [kind["id"] for kind in record["device_types"]] == [0, 1]
    assert table.code == 0
    assert "Cli Tester" in table.out
    items = listed.json()["items"]
    assert [item["record_id"] for item in items] == [record_id]
    assert items[0]["room_names"]

    cancelled = cli("construction", "cancel", record_id, "--json")
    assert cancelled.code == 0, cancelled.err
    assert cancelled.json() == {"record_id": record_id, "cancelled": True}
    assert cli("construction", "get", record_id, "--json").json()["authorization_status"] == 3


def test_mistakes_and_refusals(cli: Any, served: Served) -> None:
    lighting = served.lighting_project_id
    no_start, backwards, unknown = run_many(
        cli,
        [
            (["construction", "create", lighting, *RECORD,
              "--end", "2030-01-01T18:00:00Z"], None),
            (["construction", "create", lighting, *RECORD,
              "--start", "2030-01-02T00:00:00Z", "--end", "2030-01-01T00:00:00Z"], None),
            (["construction", "cancel", "1367313487243620352"], None),
        ],
    )  # fmt: skip
    assert no_start.code == USAGE
    assert "--start" in no_start.err
    assert_one_error_line(backwards, USAGE, "--end must be after --start")
    assert_one_error_line(unknown, API, "code 1000", "request id")


async def _refuse(_: web.Request) -> web.Response:
    return envelope({"recordId": "rec1", "success": False})


async def _record(_: web.Request) -> web.Response:
    return envelope({"recordId": "rec1"})


def test_update_changes_only_the_fields_given(cli: Any, served: Served) -> None:
    lighting = served.lighting_project_id
    created = cli(
        "construction", "create", lighting, *RECORD, "--start", "2030-03-01T08:00:00Z",
        "--end", "2030-03-01T18:00:00Z", "--remark", "kept", "--json",
    )  # fmt: skip
    assert created.code == 0, created.err
    record_id = created.json()["record_id"]
    updated = cli(
        "construction", "update", lighting, record_id, "--end", "2030-03-02T18:00:00Z", "--json"
    )
    assert updated.code == 0, updated.err
    record = cli("construction", "get", record_id, "--json").json()
    assert record["end_time"].startswith("2030-03-02T18:00")
    assert record["start_time"].startswith("2030-03-01T08:00")
    assert (record["operator_name"], record["remark"]) == ("Cli Tester", "kept")


def test_create_and_update_answered_success_false_exit_with_the_api_code() -> None:
    """A server that answers every record create or update with ``success=false`` in its result
    (the sandbox always succeeds)."""
    app = scripted(
        {
            ("POST", "/v2.0/illumination/construction/record"): _refuse,
            ("GET", "/v2.0/illumination/construction/task/record/{record_id}"): _record,
        }
    )
    window = ["--start", "2030-01-01T08:00:00Z", "--end", "2030-01-02T08:00:00Z"]
    with in_thread(lambda: serving(app)) as base_url:
        for action in (["create", "p1"], ["update", "p1", "rec1"]):
            args = ["construction", *action, *RECORD, *window, "--json"]
            result = run_cli(*args, env=env_for(base_url), secret="not-a-real-secret")
            assert result.code == API, result
            assert result.json() == {"record_id": "rec1", "success": False}
            assert "was not" in result.err
