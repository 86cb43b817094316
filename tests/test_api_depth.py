"""Around the spec: call metadata, hooks, usage and call quotas, extra parameters, recovering an
unknown create, waiting for a status, errors that name their IDs, models as JSON."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

import tuyaio
from tuyaio import (
    AttemptEvent,
    CallBudgetExceededError,
    CallEvent,
    CrossRegionError,
    Event,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitWaitEvent,
    TokenEvent,
    TuyaClient,
    WaitTimeoutError,
)
from tuyaio.envelope import parse_envelope
from tuyaio.sandbox import (
    FAULT_ABORT_AFTER,
    FAULT_ENVELOPE_500,
    FAULT_HTTP_502,
    FAULT_RATE_LIMIT,
    FaultConfig,
    Sandbox,
)

from .conftest import FAST_RETRY, ClientFactory, SandboxFactory, loopback_server, task_args

CREATE_TASK = "POST /v1.0/osaas/projects/{project_id}/maintenance/task"
CREATE_RECORD = "POST /v2.0/illumination/construction/record"
START = datetime(2030, 3, 1, 8, tzinfo=UTC)


async def test_last_call_gives_tid_server_time_and_attempts(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    assert tuyaio.last_call() is None
    project = sandbox.project_id
    task_id = sandbox.state.tasks(project)[0]["task_id"]
    task = await client.maintenance.get_task(project, task_id)
    call = tuyaio.last_call()
    assert call is not None
    assert (call.method, call.route, call.ok, call.attempts, call.http_status) == (
        "GET",
        "/v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}",
        True,
        1,
        200,
    )
    assert call.path_args == {"project_id": project, "task_id": task.task_id}
    assert call.tid is not None
    assert len(call.tid) >= 16
    assert call.server_time is not None
    assert abs((call.server_time - datetime.now(UTC)).total_seconds()) < 60
    with pytest.raises(NotFoundError) as missing:
        await client.maintenance.get_task(project, "404404")
    failed = tuyaio.last_call()
    assert failed is not None
    assert (failed.ok, failed.error, failed.code) == (False, "NotFoundError", 1000)
    assert "task_id=404404" in str(missing.value), "the error names the task"


async def test_hooks_see_retries_tokens_waits_and_unknown_outcomes_but_no_secret(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(tasks=5, token_ttl_s=1.5)
    events: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("a broken hook")

    pace = tuyaio.TokenBucket(50.0, burst=1)  # no bursts: each call waits its turn
    client = await make_client(sandbox, hooks=[events.append, broken], rate_limit=pace)
    project = sandbox.project_id
    sandbox.configure(faults=FaultConfig(rate=0.5, kinds={FAULT_HTTP_502, FAULT_RATE_LIMIT}))
    for _ in range(20):
        await client.maintenance.list_tasks(project)
    sandbox.configure(faults=FaultConfig(), clock_skew_s=2.0)  # the token expires there: refresh
    await client.maintenance.list_tasks(project)
    sandbox.configure(faults=FaultConfig(rate=1.0, kinds={FAULT_ABORT_AFTER}, routes={CREATE_TASK}))
    with pytest.raises(OutcomeUnknownError):
        await client.maintenance.create_task(project, **task_args(sandbox))

    calls = [e for e in events if isinstance(e, CallEvent)]
    attempts = [e for e in events if isinstance(e, AttemptEvent)]
    assert len([c for c in calls if not c.route.startswith("/v1.0/token")]) == 22
    assert {c.route for c in calls if c.route.startswith("/v1.0/token")} == {
        "/v1.0/token",
        "/v1.0/token/{refresh_token}",
    }
    assert {a.retry for a in attempts} >= {"server_error", "rate_limit"}
    assert any(a.http_status == 502 for a in attempts)
    assert {e.kind for e in events if isinstance(e, TokenEvent)} == {"grant", "refresh"}
    assert any(isinstance(e, RateLimitWaitEvent) for e in events)
    assert calls[-1].error == "OutcomeUnknownError"
    texts = " ".join(repr(e) for e in events)
    token = client._transport.tokens.current
    assert token is not None
    for secret in (sandbox.secret, token.access_token, token.refresh_token):
        assert secret not in texts


async def test_usage_counts_routes_and_a_call_quota_refuses_before_sending(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = await make_client(sandbox, call_quota=6)
    project = sandbox.project_id
    for _ in range(3):
        await client.maintenance.list_tasks(project)
    with pytest.raises(NotFoundError):
        await client.maintenance.get_task(project, "404404")
    usage = client.usage.routes
    assert usage["GET /v1.0/osaas/projects/{project_id}/maintenance/tasks"].succeeded == 3
    detail = usage["GET /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}"]
    assert dict(detail.failed) == {"1000": 1}
    assert client.usage.attempts == 5  # the token grant counts too
    await client.maintenance.list_tasks(project)
    sent = sandbox.state.requests
    with pytest.raises(CallBudgetExceededError):
        await client.maintenance.list_tasks(project)
    assert sandbox.state.requests == sent, "nothing sent once the budget is spent"


class Capture:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((request.raw_path, request.headers.copy(), body))
        result: Any = {"total": 0, "list": []}
        if request.path.startswith("/v1.0/token"):
            result = {"access_token": "a", "refresh_token": "r", "expire_time": 7200}
        return web.json_response({"success": True, "t": int(time.time() * 1000), "result": result})


@pytest.fixture
async def capture() -> AsyncIterator[tuple[Capture, str]]:
    recorder = Capture()
    async with loopback_server(recorder.handle) as base_url:
        yield recorder, base_url


async def test_client_headers_and_extra_parameters_are_sent_and_signed(
    capture: tuple[Capture, str], sandbox: Sandbox, make_client: ClientFactory
) -> None:
    recorder, base_url = capture
    async with TuyaClient("id", "secret", base_url=base_url, lang="en") as client:
        view = client.with_options(extra_body={"newFilter": "x"}, headers={"x-trace": "t1"})
        await view.construction.list_rooms("p1")
        await client.with_options(extra_query={"later": 1}).maintenance.list_tasks("p1")
    _, token_headers, _ = recorder.seen[0]
    assert token_headers["lang"] == "en"
    _, rooms_headers, rooms_body = recorder.seen[1]
    assert json.loads(rooms_body)["newFilter"] == "x"
    assert rooms_headers["Signature-Headers"] == "lang:x-trace"
    tasks_path, _, _ = recorder.seen[2]
    assert "later=1" in tasks_path
    # the sandbox verifies the signature over the extra header and parameter
    checked = await make_client(sandbox, lang="en")
    tasks = await checked.with_options(extra_query={"later": 1}).maintenance.list_tasks(
        sandbox.project_id
    )
    assert tasks.total > 0


async def test_find_created_resolves_every_unknown_create(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(tasks=30, records=10, rooms=200, seed=11)
    client = await make_client(sandbox)
    project, lighting = sandbox.project_id, sandbox.lighting_project_id
    free = [r["roomId"] for r in sandbox.state.rooms(lighting) if r["authorizationStatus"] == 0]
    kinds = {FAULT_ABORT_AFTER, FAULT_HTTP_502, FAULT_ENVELOPE_500}
    sandbox.configure(
        faults=FaultConfig(rate=0.4, kinds=kinds, routes={CREATE_TASK, CREATE_RECORD})
    )
    unknown_tasks: list[tuple[str, OutcomeUnknownError]] = []
    created_tasks: set[str] = set()
    seeded = {task["task_id"] for task in sandbox.state.tasks(project)}
    for n in range(40):
        args = task_args(sandbox, n)
        room = next(iter(args["rooms"]))
        try:
            created_tasks.add(await client.maintenance.create_task(project, **args))
        except OutcomeUnknownError as error:
            unknown_tasks.append((room, error))
    unknown_records: list[tuple[str, OutcomeUnknownError]] = []
    for n in range(12):
        try:
            await client.construction.create_record(
                lighting,
                user_account=f"user{n}@example.com",
                country_code="86",
                operator_name="Ops",
                start_time=START + timedelta(hours=n),
                end_time=START + timedelta(hours=n, minutes=30),
                room_ids=[free[n]],
            )
        except OutcomeUnknownError as error:
            unknown_records.append((f"user{n}@example.com", error))
    sandbox.configure(faults=FaultConfig())
    assert len(unknown_tasks) >= 5
    assert unknown_records

    by_room = {
        t["room_device_relations"][0]["room_id"]: t["task_id"]
        for t in sandbox.state.tasks(project)
        if t["task_id"] not in seeded
    }
    found_some = missing_some = False
    # settle=0: this sandbox processes a request before answering or not at all, so the first
    # search is final (the default would wait SETTLE_S for each create that did not happen).
    for room, error in unknown_tasks:
        found = await client.maintenance.find_created(error, settle=0)
        expected = by_room.get(room)
        assert (found.task_id if found else None) == expected, room
        found_some, missing_some = found_some or found is not None, missing_some or found is None
    assert found_some
    assert missing_some
    accounts = {r["userAccount"]: r["recordId"] for r in sandbox.state.records(lighting)}
    for account, error in unknown_records:
        record = await client.construction.find_created(error, settle=0)
        assert (record.record_id if record else None) == accounts.get(account), account
    assert int(unknown_records[0][1].identifiers["start_time"]) % 1000 == 0  # milliseconds


async def test_wait_for_status_polls_until_the_status_or_times_out(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    project = sandbox.project_id
    task_id = sandbox.state.tasks(project)[0]["task_id"]
    sandbox.state.set_task_status(project, task_id, "IN_MAINTENANCE")
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, sandbox.state.set_task_status, project, task_id, "PENDING_ACCEPTANCE")
    task = await client.maintenance.wait_for_status(
        project, task_id, ["PENDING_ACCEPTANCE", "ACCEPTANCE_COMPLETE"], interval=0.05
    )
    assert task.status is tuyaio.MaintenanceStatus.PENDING_ACCEPTANCE
    with pytest.raises(WaitTimeoutError) as late:
        await client.maintenance.wait_for_status(
            project, task_id, "ACCEPTANCE_COMPLETE", interval=0.05, max_wait=0.2
        )
    assert late.value.last_status == "PENDING_ACCEPTANCE"
    assert f"task_id={task_id}" in str(late.value)


async def test_models_pages_and_lists_become_json_data(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    page = await client.maintenance.list_tasks(sandbox.project_id, page_size=2)
    data = tuyaio.to_json_data(page)
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"items", "total", "page_no", "page_size", "has_more"}
    first = data["items"][0]
    assert first["status"] == page.items[0].status.value  # type: ignore[union-attr]
    assert first["created_at"].endswith("Z")
    assert tuyaio.to_json_data([page.items[0]]) == [first]


def test_setup_errors_are_typed_with_a_hint() -> None:
    body = (
        b'{"success":false,"code":2007,"msg":"your ip(1.2.3.4) cross-region access is not allowed"}'
    )
    with pytest.raises(CrossRegionError) as caught:
        parse_envelope(status=200, body=body, method="GET", route="/v1.0/token")
    assert caught.value.hint is not None
    assert "region" in caught.value.hint.fix
    secret = b'{"success":false,"code":1001,"msg":"secret invalid"}'
    with pytest.raises(tuyaio.AuthenticationError) as wrong:
        parse_envelope(status=200, body=secret, method="GET", route="/v1.0/token")
    assert wrong.value.hint is not None
    assert "TUYA_CLIENT_SECRET" in wrong.value.hint.fix
    suspended = (
        b'{"success":false,"code":28841107,"msg":"No permission. The data center is suspended."}'
    )
    with pytest.raises(tuyaio.DataCenterSuspendedError) as off:
        parse_envelope(status=200, body=suspended, method="GET", route="/v1.0/x")
    assert off.value.hint is not None
    assert "data center" in off.value.hint.fix


def test_a_record_not_saved_is_a_typed_answer() -> None:
    from tuyaio._converter import decode

    created = decode({"success": False}, tuyaio.CreatedRecord, method="POST", route="/r")
    assert (created.success, created.record_id) == (False, None)


@pytest.mark.parametrize("hooks", [(), (lambda event: None,)])
async def test_a_call_with_or_without_hooks_returns_the_same(
    sandbox: Sandbox, make_client: ClientFactory, hooks: tuple[Any, ...]
) -> None:
    client = await make_client(sandbox, hooks=hooks, retry=FAST_RETRY)
    page = await client.maintenance.list_tasks(sandbox.project_id)
    assert page.total == len(sandbox.state.tasks(sandbox.project_id))
