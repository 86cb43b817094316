"""The last wire-form gaps of the spec audit (issue 26, rows 2, 3, 5, 6 and 7), one test each."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tuyaio import (
    ApiError,
    AuthorizationStatus,
    DeviceType,
    MaintenanceStatus,
    MaintenanceTask,
    OutcomeUnknownError,
    Room,
    ServerError,
    TaskStatus,
    TokenInvalidError,
    TuyaClient,
)
from tuyaio._converter import decode
from tuyaio.envelope import parse_envelope
from tuyaio.resources._base import CONSTRUCTION_PAGING, Listing
from tuyaio.routes import Route
from tuyaio.sandbox import FAULT_ABORT_AFTER, FaultConfig, Sandbox
from tuyaio.validation import check_enum_values

from .conftest import (
    FAST_RETRY,
    ClientFactory,
    Recorder,
    SandboxFactory,
    client_answering,
    loopback_server,
    task_args,
)

ROUTE = "/v2.0/illumination/construction/task/rooms"


def _error(code: object) -> ApiError:
    body = json.dumps({"success": False, "code": code, "msg": "m", "t": 1_700_000_000_000})
    with pytest.raises(ApiError) as caught:
        parse_envelope(status=200, body=body.encode(), method="GET", route=ROUTE)
    return caught.value


# --- row 2: an envelope code sent as a numeric string is that number ------------------------


@pytest.mark.parametrize(
    ("code", "number", "kind"),
    [
        ("1010", 1010, TokenInvalidError),
        ("500", 500, ServerError),
        (1010, 1010, TokenInvalidError),
        ("10x", None, ApiError),
        ("-1010", None, ApiError),
        ("١٠١٠", None, ApiError),  # Arabic-Indic digits are not a code
        ("9" * 19, None, ApiError),
        (True, None, ApiError),
    ],
)
def test_a_numeric_string_code_is_read_as_the_number(
    code: object, number: int | None, kind: type[ApiError]
) -> None:
    error = _error(code)
    assert type(error) is kind
    assert error.code == number


class StringCodes:
    """A server that refuses the first business call with ``"code": "1010"`` (as a string)."""

    def __init__(self) -> None:
        self.grants = self.refreshes = self.calls = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        if request.path == "/v1.0/token":
            self.grants += 1
            token = {"access_token": f"a{self.grants}", "refresh_token": "r", "expire_time": 7200}
            return web.json_response({"success": True, "t": 1_700_000_000_000, "result": token})
        if request.path.startswith("/v1.0/token/"):
            self.refreshes += 1
            token = {"access_token": "fresh", "refresh_token": "r2", "expire_time": 7200}
            return web.json_response({"success": True, "t": 1_700_000_000_000, "result": token})
        self.calls += 1
        if request.headers.get("access_token") == "a1":
            answer = {"success": False, "code": "1010", "msg": "token invalid"}
            return web.json_response(answer)
        return web.json_response({"success": True, "result": {"total": 0, "tasks": []}})


async def test_a_string_token_code_gets_the_token_renewed_and_the_call_repeated() -> None:
    server = StringCodes()
    async with (
        loopback_server(server.handle) as base_url,
        TuyaClient("id", "secret", base_url=base_url, retry=FAST_RETRY) as client,
    ):
        page = await client.maintenance.list_tasks("p1")
    assert page.total == 0
    assert server.calls == 2
    assert server.grants + server.refreshes == 2


# --- row 3: a listing's items under ``records`` as well as ``list`` -------------------------


@pytest.mark.parametrize(
    "result",
    [
        {"total": 2, "list": [{"roomId": "1"}, {"roomId": "2"}]},
        {"total": 2, "records": [{"roomId": "1"}, {"roomId": "2"}]},
        {"total": 2, "list": None, "records": [{"roomId": "1"}, {"roomId": "2"}]},
        {"total": 2, "list": [{"roomId": "1"}, {"roomId": "2"}], "records": [{"roomId": "x"}]},
    ],
)
def test_a_construction_page_reads_list_or_records(result: dict[str, Any]) -> None:
    listing = Listing(Route("GET", ROUTE), Room, CONSTRUCTION_PAGING)
    call = listing.build({}, {}, 1, 20)
    page = listing.decode(result, call, 1, 20)
    assert [room.room_id for room in page] == ["1", "2"]


async def test_rooms_under_records_from_a_server() -> None:
    answer = {"total": 1, "records": [{"roomId": 7, "roomName": "Hall"}]}
    async with client_answering(lambda request, body: answer) as client:
        rooms = [room async for room in client.construction.iter_rooms("L1")]
    assert [(room.room_id, room.room_name) for room in rooms] == [("7", "Hall")]


# --- row 5: one taskStatus is sent as the sample requests send it --------------------------


async def test_one_task_status_is_a_string_several_a_list(
    recorded: tuple[Recorder, TuyaClient],
) -> None:
    server, client = recorded
    await client.construction.list_rooms("L1", task_status=TaskStatus.NOT_STARTED)
    await client.construction.list_rooms("L1", task_status=[2])
    await client.construction.list_records("L1", task_status=[1, "2"], authorization_status=1)
    await client.construction.list_rooms("L1", authorization_status=[0])
    bodies = [json.loads(body) for *_, body in server.requests]
    sent = [(body.get("taskStatus"), body.get("authorizationStatus")) for body in bodies]
    assert sent == [("1", None), ("2", None), (["1", "2"], ["1"]), (None, ["0"])]


async def test_the_sandbox_filters_alike_whichever_form_one_task_status_takes(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(rooms=60, records=12)
    client = await make_client(sandbox)
    site = sandbox.lighting_project_id
    held = [r["roomId"] for r in sandbox.state.rooms(site) if r["taskStatus"] == 1]
    assert held
    for form in (1, [1], "1", ["1"], TaskStatus.NOT_STARTED):
        rooms = [r.room_id async for r in client.construction.iter_rooms(site, task_status=form)]
        assert rooms == held


# --- row 6: status filters as digit strings; a maintenance status sent as an int -------------


def test_status_filters_take_digit_strings_once_at_the_boundary() -> None:
    assert check_enum_values(
        "a", ["0", 1, AuthorizationStatus.EXPIRED], AuthorizationStatus, digit_strings=True
    ) == (
        AuthorizationStatus.NOT_AUTHORIZED,
        AuthorizationStatus.AUTHORIZED,
        AuthorizationStatus.EXPIRED,
    )
    assert check_enum_values("t", "3", TaskStatus, digit_strings=True) == (TaskStatus.COMPLETED,)
    unknown = check_enum_values("t", "9", TaskStatus, digit_strings=True)[0]
    assert (unknown.value, unknown.is_known) == (9, False)
    with pytest.raises(TypeError, match="device_types"):  # only filters take text
        check_enum_values("device_types", ["1"], DeviceType)
    for bad in ("one", " 1", "1.0", "", "-1", "१"):
        with pytest.raises((TypeError, ValueError), match="authorization_status"):
            check_enum_values(
                "authorization_status", [bad], AuthorizationStatus, digit_strings=True
            )


async def test_digit_string_filters_list_what_the_members_list(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    site = sandbox.lighting_project_id
    by_member = await client.construction.list_rooms(
        site, authorization_status=[AuthorizationStatus.NOT_AUTHORIZED], page_size=50
    )
    by_text = await client.construction.list_rooms(site, authorization_status=["0"], page_size=50)
    assert by_text == by_member
    assert by_text.total > 0


@pytest.mark.parametrize("key", ["maintenance_status", "construction_status"])
def test_a_maintenance_status_sent_as_an_int_decodes(key: str) -> None:
    task = decode({"task_id": "1", key: 2}, MaintenanceTask, method="GET", route=ROUTE)
    assert task.status is not None
    assert (task.status.value, task.status.is_known) == ("2", False)
    known = decode({"task_id": "1", key: "IN_MAINTENANCE"}, MaintenanceTask, method="G", route="r")
    assert known.status is MaintenanceStatus.IN_MAINTENANCE


# --- row 7: docs/protocol.md names the identifiers the code carries --------------------------


async def test_the_outcome_unknown_identifiers_are_the_documented_ones(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    creates = {
        "POST /v1.0/osaas/projects/{project_id}/maintenance/task",
        "POST /v2.0/illumination/construction/record",
    }
    sandbox.configure(faults=FaultConfig(rate=1.0, kinds={FAULT_ABORT_AFTER}, routes=creates))
    with pytest.raises(OutcomeUnknownError) as task:
        await client.maintenance.create_task(sandbox.project_id, **task_args(sandbox))
    start = datetime(2030, 1, 1, 8, tzinfo=UTC)
    with pytest.raises(OutcomeUnknownError) as record:
        await client.construction.create_record(
            sandbox.lighting_project_id,
            user_account="a@example.com",
            country_code="86",
            operator_name="Ops",
            start_time=start,
            end_time=start + timedelta(hours=1),
        )
    text = Path(__file__).parent.parent.joinpath("docs", "protocol.md").read_text()
    section = text.split("## Outcome unknown", 1)[1].split("\n## ", 1)[0]
    for error in (task.value, record.value):
        documented = set(re.findall(r"`(\w+)`", section))
        assert set(error.identifiers) <= documented
    assert json.loads(task.value.identifiers["rooms"]) == task_args(sandbox)["rooms"]
    assert record.value.identifiers["start_time"] == str(int(start.timestamp() * 1000))
    assert "millisecond" in section
    assert "ISO 8601" not in section
