"""``tuyaio construction …`` against a served sandbox: output parsed, exit codes checked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from .conftest import API, USAGE, Served, assert_one_error_line, run_cli, run_many

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
        "construction", "create", "--project-id", lighting, *RECORD,
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
            (["construction", "create", "--project-id", lighting, *RECORD,
              "--end", "2030-01-01T18:00:00Z"], None),
            (["construction", "create", "--project-id", lighting, *RECORD,
              "--start", "2030-01-02T00:00:00Z", "--end", "2030-01-01T00:00:00Z"], None),
            (["construction", "cancel", "1367313487243620352"], None),
        ],
    )  # fmt: skip
    assert no_start.code == USAGE
    assert "--start" in no_start.err
    assert_one_error_line(backwards, USAGE, "end_time must be after start_time")
    assert_one_error_line(unknown, API, "code 1000", "request id")


@pytest.fixture
async def refusing_server() -> AsyncIterator[str]:
    """A real server on loopback that grants tokens and answers every record create or update
    with ``success=false`` in its result (the sandbox always succeeds)."""

    def envelope(result: object) -> web.Response:
        return web.json_response(
            {"success": True, "result": result, "t": int(time.time() * 1000), "tid": "t1"}
        )

    async def token(_: web.Request) -> web.Response:
        return envelope(
            {"access_token": "a1", "refresh_token": "r1", "expire_time": 7200, "uid": "u"}
        )

    async def record(_: web.Request) -> web.Response:
        return envelope({"recordId": "rec1", "success": False})

    app = web.Application()
    app.router.add_get("/v1.0/token", token)
    app.router.add_post("/v2.0/illumination/construction/record", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_create_and_update_answered_success_false_exit_with_the_api_code(
    refusing_server: str,
) -> None:
    env = {
        "TUYA_BASE_URL": refusing_server,
        "TUYA_CLIENT_ID": "cid",
        "TUYA_CLIENT_SECRET": "not-a-real-secret",
    }
    window = ["--start", "2030-01-01T08:00:00Z", "--end", "2030-01-02T08:00:00Z"]
    for action in (["create"], ["update", "rec1"]):
        args = ["construction", *action, "--project-id", "p1", *RECORD, *window, "--json"]
        result = await asyncio.to_thread(run_cli, *args, env=env, secret="not-a-real-secret")
        assert result.code == API, result
        assert result.json() == {"record_id": "rec1", "success": False}
        assert "was not" in result.err
