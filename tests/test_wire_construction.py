"""The construction listings' wire form: a compact JSON body on a GET, signed over those bytes.

A small capture server records what the client really puts on the wire; the signature is checked
with HMAC code written here, independently of ``tuyaio.signing``, against the documented sample
requests (the same bodies are golden vectors in ``data/signing_vectors.json``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tuyaio import InvalidParameterError, TuyaClient
from tuyaio.sandbox import Sandbox

from .conftest import FAST_RETRY, loopback_server

VECTORS = json.loads((Path(__file__).parent / "data" / "signing_vectors.json").read_text())
SAMPLES = {case["name"]: case for case in VECTORS["cases"]}
CLIENT_ID, SECRET, TOKEN = "wire-client", "wire-secret", "wire-access-token"
PROJECT = "1333361826326470001"
ROOMS = "/v2.0/illumination/construction/task/rooms"
RECORDS = "/v2.0/illumination/construction/task/records"


def independent_sign(method: str, path: str, body: bytes, headers: Any) -> str:
    """Tuya's business-call signature, written out from the protocol notes."""
    string_to_sign = "\n".join([method, hashlib.sha256(body).hexdigest(), "", path])
    message = CLIENT_ID + TOKEN + headers["t"] + headers["nonce"] + string_to_sign
    return hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


class Capture:
    """Answers a token grant and any listing; keeps every business request it saw."""

    def __init__(self, failures_first: int = 0) -> None:
        self.seen: list[tuple[str, str, Any, bytes]] = []
        self.failures_first = failures_first

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.path.startswith("/v1.0/token"):
            result: Any = {"access_token": TOKEN, "refresh_token": "r", "expire_time": 7200}
        else:
            self.seen.append((request.method, request.raw_path, request.headers.copy(), body))
            if len(self.seen) <= self.failures_first:
                return web.Response(status=503, text="busy")
            result = {"total": 0, "list": []}
        return web.json_response({"success": True, "t": 1_700_000_000_000, "result": result})


@pytest.fixture
async def capture() -> AsyncIterator[tuple[Capture, str]]:
    recorder = Capture(failures_first=1)
    async with loopback_server(recorder.handle) as base_url:
        yield recorder, base_url


async def test_rooms_and_records_send_the_documented_body_on_a_get_signed_per_attempt(
    capture: tuple[Capture, str],
) -> None:
    recorder, base_url = capture
    async with TuyaClient(CLIENT_ID, SECRET, base_url=base_url, retry=FAST_RETRY) as client:
        await client.construction.list_rooms(
            PROJECT, page_no=1, page_size=50, authorization_status=[0, 1], room_name="Room 2 & Hall"
        )
        await client.construction.list_records(
            PROJECT,
            page_no=1,
            page_size=20,
            authorization_status=1,
            task_status=[1, 2],
            operator_name="Test",
            start_time=datetime.fromtimestamp(1614827914.626, UTC),
            end_time=datetime.fromtimestamp(1615564799.999, UTC),
        )
    first_try, rooms_retry, records = recorder.seen
    assert first_try[3] == rooms_retry[3], "a retry sends the same bytes"
    assert first_try[2]["nonce"] != rooms_retry[2]["nonce"], "each attempt is signed afresh"
    for (method, raw_path, headers, body), sample in [
        (first_try, SAMPLES["rooms listing body"]),
        (rooms_retry, SAMPLES["rooms listing body"]),
        (records, SAMPLES["records listing body"]),
    ]:
        assert (method, raw_path) == ("GET", sample["path"]), "nothing in the query string"
        assert body == sample["body"].encode()
        assert headers["Content-Type"] == "application/json"
        assert headers["sign"] == independent_sign(method, raw_path, body, headers)


def test_the_golden_listing_vectors_are_the_independent_signature() -> None:
    creds = VECTORS["credentials"]
    for name in ("rooms listing body", "records listing body"):
        case = SAMPLES[name]
        body_hash = hashlib.sha256(case["body"].encode()).hexdigest()
        message = (
            creds["client_id"]
            + creds["access_token"]
            + creds["t"]
            + creds["nonce"]
            + f"GET\n{body_hash}\n\n{case['path']}"
        )
        digest = hmac.new(creds["secret"].encode(), message.encode(), hashlib.sha256)
        assert digest.hexdigest().upper() == case["sign"]


async def test_request_sends_a_json_body_on_a_get_in_the_documented_sample_form(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    project = sandbox.lighting_project_id
    authorised = [
        room["roomId"] for room in sandbox.state.rooms(project) if room["authorizationStatus"] == 1
    ]
    sample_form = {
        "projectId": project,
        "page": "1",
        "pageSize": "1000",
        "authorizationStatus": "1",
    }
    result = await client.request("GET", ROOMS, json=sample_form)
    assert [room["roomId"] for room in result["list"]] == authorised
    assert result["total"] == len(authorised)


@pytest.mark.parametrize(
    ("params", "json_body", "code"),
    [
        ({"projectId": "P", "page": 1, "pageSize": 20}, None, 1100),  # the query is not read
        (None, {"page": 1, "pageSize": 20}, 1100),
        (None, {"projectId": 17}, 1109),
        (None, {"projectId": "P", "authorizationStatus": [0, 1]}, 1109),
        (None, {"projectId": "P", "taskStatus": "one"}, 1109),
        (None, {"projectId": "P", "taskStatus": ["1", 2]}, 1109),
        (None, {"projectId": "P", "pageSize": 10_001}, 1101),
        (None, {"projectId": "P", "page": "first"}, 1101),
        (None, [1, 2], 1109),
    ],
)
async def test_sandbox_reads_listing_parameters_from_the_body_only_and_strictly(
    sandbox: Sandbox,
    client: TuyaClient,
    params: dict[str, Any] | None,
    json_body: Any,
    code: int,
) -> None:
    project = sandbox.lighting_project_id
    for values in (params, json_body):
        if isinstance(values, dict) and values.get("projectId") == "P":
            values["projectId"] = project
    for route in (ROOMS, RECORDS):
        with pytest.raises(InvalidParameterError) as caught:
            await client.request("GET", route, params=params, json=json_body)
        assert caught.value.code == code


async def test_an_empty_project_id_lists_nothing(client: TuyaClient) -> None:
    rooms = await client.construction.list_rooms("")
    records = await client.construction.list_records("")
    assert (rooms.total, rooms.items, records.total, records.items) == (0, (), 0, ())


async def test_sandbox_sends_task_num_as_text_and_room_extend_id_as_a_number(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    body = {"page": 1, "pageSize": 5, "projectId": sandbox.lighting_project_id}
    records = await client.request("GET", RECORDS, json=body)
    rooms = await client.request("GET", ROOMS, json=body)
    record_id = records["list"][0]["recordId"]
    detail = await client.request("GET", f"/v2.0/illumination/construction/task/record/{record_id}")
    assert all(isinstance(record["taskNum"], str) for record in records["list"])
    assert isinstance(detail["taskNum"], str)
    extend_ids = [room["roomExtendId"] for room in rooms["list"]]
    assert all(isinstance(value, int) and not isinstance(value, bool) for value in extend_ids)
    listed = await client.construction.list_rooms(sandbox.lighting_project_id, page_size=5)
    assert [room.room_extend_id for room in listed.items] == [str(value) for value in extend_ids]
