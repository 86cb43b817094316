"""The sandbox itself: its verifier, token rules, checks and faults, seen by a raw client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tuyaio.sandbox import FaultConfig, Sandbox, SandboxConfig, SandboxState
from tuyaio.sandbox.app import expected_sign
from tuyaio.signing import encode_query, signed_headers

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "signing_vectors.json").read_text())


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["name"])
def test_the_verifier_agrees_with_every_vector(case: dict[str, Any]) -> None:
    creds = VECTORS["credentials"]
    signed = dict(case["signed_headers"])
    headers = {
        **signed,
        "client_id": creds["client_id"],
        "t": creds["t"],
        "nonce": creds["nonce"] if case["nonce"] else "",
        "Signature-Headers": ":".join(signed),
    }
    assert (
        expected_sign(
            secret=creds["secret"],
            access_token=creds["access_token"] if case["access_token"] else "",
            method=case["method"],
            path=case["path"],
            query=case["params"].items(),
            body=case["body"].encode(),
            headers=headers,
        )
        == case["sign"]
    )


class RawClient:
    """A bare signed client, to poke the sandbox where tuyaio would refuse to go."""

    def __init__(self, sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.session = session
        self.token = ""

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: bytes = b"",
        *,
        token: str | None = None,
        t_offset_ms: int = 0,
        secret: str | None = None,
    ) -> tuple[int, Any]:
        import time

        query = encode_query(params)
        headers = signed_headers(
            method=method,
            path=path,
            query=query,
            body=body,
            client_id=self.sandbox.client_id,
            secret=secret or self.sandbox.secret,
            t=str(int(time.time() * 1000) + t_offset_ms),
            nonce=uuid.uuid4().hex,
            access_token=self.token if token is None else token,
        )
        url = URL(self.sandbox.base_url).with_path(path, encoded=True).with_query(query)
        async with self.session.request(method, url, data=body or None, headers=headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def grant(self) -> dict[str, Any]:
        _, answer = await self.call("GET", "/v1.0/token", {"grant_type": 1}, token="")
        self.token = answer["result"]["access_token"]
        return dict(answer["result"])


@pytest.fixture
async def raw(sandbox: Sandbox) -> Any:
    async with aiohttp.ClientSession() as session:
        yield RawClient(sandbox, session)


TASKS = "/v1.0/osaas/projects/1233823965050001/maintenance/tasks"


def sandbox_now_ms(sandbox: Sandbox) -> int:
    import time

    return int((time.time() + sandbox.config.clock_skew_s) * 1000)


async def test_refresh_tokens_are_single_use_and_kill_the_old_access_token(
    sandbox: Sandbox, raw: RawClient
) -> None:
    first = await raw.grant()
    assert first["expire_time"] == 7200
    _, ok = await raw.call("GET", TASKS)
    assert ok["success"] is True
    _, refreshed = await raw.call("GET", f"/v1.0/token/{first['refresh_token']}", token="")
    assert refreshed["success"] is True
    _, old = await raw.call("GET", TASKS)
    assert old["code"] == 1010
    _, again = await raw.call("GET", f"/v1.0/token/{first['refresh_token']}", token="")
    assert again["code"] == 1010
    raw.token = refreshed["result"]["access_token"]
    _, new = await raw.call("GET", TASKS)
    assert new["success"] is True
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 1)


async def test_checks_on_every_request(sandbox: Sandbox, raw: RawClient) -> None:
    await raw.grant()
    _, skewed = await raw.call("GET", TASKS, t_offset_ms=301_000)
    assert skewed["code"] == 1013
    assert abs(skewed["t"] - sandbox_now_ms(sandbox)) < 5_000
    _, bad_sign = await raw.call("GET", TASKS, secret="wrong")
    assert bad_sign["code"] == 1004
    _, page = await raw.call("GET", TASKS, {"page_size": 100})
    assert page["code"] == 1101
    _, unsafe = await raw.call("GET", TASKS + "/a.b")
    assert unsafe["code"] == 1108
    _, other = await raw.call("GET", TASKS.replace("1233823965050001", "42"))
    assert other["code"] == 1106
    _, unknown = await raw.call("GET", TASKS + "/404")
    assert unknown["code"] == 1000
    _, no_project = await raw.call("GET", "/v2.0/illumination/construction/task/rooms")
    assert no_project["code"] == 1100
    _, bad_body = await raw.call(
        "POST", "/v1.0/osaas/projects/1233823965050001/maintenance/task", body=b"{not json"
    )
    assert bad_body["code"] == 1109
    assert sandbox.state.codes[1013] == 1
    assert sandbox.state.codes[1004] == 1


async def test_list_and_detail_use_different_status_keys(sandbox: Sandbox, raw: RawClient) -> None:
    await raw.grant()
    _, page = await raw.call("GET", TASKS, {"page_size": 1})
    task = page["result"]["tasks"][0]
    assert "maintenance_status" in task
    assert "construction_status" not in task
    _, detail = await raw.call("GET", f"{TASKS}/{task['task_id']}")
    assert detail["result"]["construction_status"] == task["maintenance_status"]


async def test_rooms_carry_record_ids_only_while_authorised(
    sandbox: Sandbox, raw: RawClient
) -> None:
    rooms = sandbox.state.rooms(sandbox.lighting_project_id)
    assert any(room["authorizationStatus"] == 1 for room in rooms)
    for room in rooms:
        assert ("recordId" in room) == (room["authorizationStatus"] == 1)
    records = sandbox.state.records(sandbox.lighting_project_id)
    assert any("address" not in record for record in records)
    assert any("address" in record for record in records)


@pytest.mark.parametrize("kind", ["envelope_500", "http_429", "http_502", "http_503", "rate_limit"])
async def test_each_answering_fault_kind(make_sandbox: Any, kind: str) -> None:
    sandbox = await make_sandbox(faults=FaultConfig(rate=1.0, kinds={kind}))
    async with aiohttp.ClientSession() as session:
        raw = RawClient(sandbox, session)
        await raw.grant()
        status, answer = await raw.call("GET", TASKS)
    if kind.startswith("http_"):
        assert status == int(kind[-3:])
        assert "<html>" in answer
    else:
        assert answer["code"] == {"envelope_500": 500, "rate_limit": 1199}[kind]
    assert sandbox.state.faults[kind] == 1
    assert sandbox.state.grants == 1


async def test_abort_after_processes_then_drops_the_connection(make_sandbox: Any) -> None:
    sandbox = await make_sandbox(faults=FaultConfig(rate=1.0, kinds={"abort_after"}))
    before = len(sandbox.state.tasks(sandbox.project_id))
    body = (
        b'{"worker_id":"1306411812723001",'
        b'"room_device_relations":[{"room_id":"145267896505001","device_ids":["00122433001"]}]}'
    )
    async with aiohttp.ClientSession() as session:
        raw = RawClient(sandbox, session)
        await raw.grant()
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await raw.call("POST", TASKS[:-1], body=body)
    assert len(sandbox.state.tasks(sandbox.project_id)) == before + 1


def test_faults_are_deterministic_for_a_seed() -> None:
    import asyncio

    async def draws(seed: int) -> list[int]:
        config = SandboxConfig(seed=seed, faults=FaultConfig(rate=0.3, kinds={"envelope_500"}))
        async with Sandbox(config) as sandbox, aiohttp.ClientSession() as session:
            raw = RawClient(sandbox, session)
            await raw.grant()
            return [(await raw.call("GET", TASKS))[1].get("code", 0) for _ in range(40)]

    first, second, other = (asyncio.run(draws(seed)) for seed in (7, 7, 8))
    assert first == second
    assert first != other
    assert 500 in first


async def test_server_rate_limit_answers_1199(make_sandbox: Any) -> None:
    sandbox = await make_sandbox(rate_limit_rps=5, rate_limit_burst=5)
    async with aiohttp.ClientSession() as session:
        raw = RawClient(sandbox, session)
        await raw.grant()
        codes = [(await raw.call("GET", TASKS))[1].get("code") for _ in range(10)]
    assert codes.count(1199) >= 4
    assert sandbox.state.rate_limited == codes.count(1199)


async def test_the_pytest_fixture(tuya_sandbox: Sandbox) -> None:
    assert tuya_sandbox.base_url.startswith("http://127.0.0.1:")
    assert tuya_sandbox.state.requests == 0


async def test_faults_can_be_limited_to_some_routes(make_sandbox: Any) -> None:
    detail_route = "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}"
    sandbox = await make_sandbox(
        faults=FaultConfig(rate=1.0, kinds={"envelope_500"}, routes=frozenset({detail_route}))
    )
    async with aiohttp.ClientSession() as session:
        raw = RawClient(sandbox, session)
        await raw.grant()
        _, page = await raw.call("GET", TASKS, {"page_size": 1})
        task_id = page["result"]["tasks"][0]["task_id"]
        _, detail = await raw.call("GET", f"{TASKS}/{task_id}")
    assert page["success"] is True
    assert detail["code"] == 500
    assert sandbox.state.faults["envelope_500"] == 1


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: SandboxConfig(tasks=-1), ValueError, "tasks"),
        (lambda: SandboxConfig(rooms=-5), ValueError, "rooms"),
        (lambda: SandboxConfig(records=1.5), TypeError, "records"),
        (lambda: SandboxConfig(tasks=True), TypeError, "tasks"),
        (lambda: SandboxConfig(latency_ms=-1), ValueError, "latency_ms"),
        (lambda: SandboxConfig(latency_jitter_ms=float("nan")), ValueError, "latency_jitter_ms"),
        (lambda: SandboxConfig(token_ttl_s=0), ValueError, "token_ttl_s"),
        (lambda: SandboxConfig(token_ttl_s=float("inf")), ValueError, "token_ttl_s"),
        (lambda: SandboxConfig(time_window_s=-300), ValueError, "time_window_s"),
        (lambda: SandboxConfig(clock_skew_s=float("nan")), ValueError, "clock_skew_s"),
        (lambda: SandboxConfig(clock_skew_s="5"), TypeError, "clock_skew_s"),
        (lambda: SandboxConfig(rate_limit_rps=0), ValueError, "rate_limit_rps"),
        (lambda: SandboxConfig(rate_limit_rps=-2), ValueError, "rate_limit_rps"),
        (lambda: SandboxConfig(rate_limit_burst=0), ValueError, "rate_limit_burst"),
        (lambda: SandboxConfig(seed="0"), TypeError, "seed"),
        (lambda: SandboxConfig(maintenance_projects=()), ValueError, "maintenance_projects"),
        (lambda: SandboxConfig(lighting_projects="1333"), TypeError, "lighting_projects"),
        (lambda: SandboxConfig(faults=0.5), TypeError, "faults"),
        (lambda: FaultConfig(rate=-0.1), ValueError, "rate"),
        (lambda: FaultConfig(rate=float("nan")), ValueError, "rate"),
        (lambda: FaultConfig(rate=True), TypeError, "rate"),
        (lambda: FaultConfig(slow_s=-1), ValueError, "slow_s"),
        (lambda: FaultConfig(kinds="slow"), TypeError, "kinds"),
        (lambda: FaultConfig(routes="GET /v1.0/token"), TypeError, "routes"),
        (lambda: FaultConfig(routes=[5]), TypeError, "routes"),
    ],
)
def test_bad_config_values_are_refused_by_name(
    make: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        make()


async def test_configure_checks_the_values_too(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="latency_ms"):
        sandbox.configure(latency_ms=-1)
    with pytest.raises(TypeError, match="secret, tasks cannot change"):
        sandbox.configure(tasks=5, secret="other", latency_ms=1)
    assert sandbox.config.latency_ms == 0
    assert FaultConfig(routes=["GET /v1.0/token"]).routes == frozenset({"GET /v1.0/token"})
    sandbox.configure(latency_ms=0.5, clock_skew_s=-3)
    assert sandbox.config.latency_ms == 0.5


async def test_request_times_are_counted_in_bounded_slots(sandbox: Sandbox, raw: RawClient) -> None:
    import time

    assert sandbox.state.last_request_at is None
    assert sandbox.state.busiest_window() == 0
    started = time.monotonic()
    await raw.grant()
    for _ in range(5):
        await raw.call("GET", TASKS, {"page_size": 1})
    _, refused = await raw.call("GET", TASKS, secret="wrong")
    assert refused["code"] == 1004
    state = sandbox.state
    assert state.first_request_at is not None
    assert state.last_request_at is not None
    assert started <= state.first_request_at <= state.last_request_at <= time.monotonic()
    # Counted once past the checks: the grant and five pages, not the refused request.
    assert state.requests_between() == 6
    assert state.requests_between(until=state.first_request_at) >= 1
    assert state.busiest_window(60.0) == 6
    assert 1 <= state.busiest_window(0.001) <= 6
    state.reset_counters()
    assert state.last_request_at is None
    assert state.requests_between() == 0


def test_request_counts_keep_only_the_last_minutes() -> None:
    state = SandboxState()
    for second in range(600):  # ten minutes of one request a second, at made-up times
        state.note_request(10_000.0 + second)
    assert state.last_request_at == 10_599.0
    assert state.first_request_at == 10_000.0
    assert 250 <= state.requests_between() <= 300
    assert state.requests_between(since=10_590.0) == 10
    assert state.busiest_window(1.0) in (1, 2)
    assert state.busiest_window(10.0, since=10_500.0, until=10_550.0) in (10, 11)


def test_token_pairs_are_forgotten_once_used_long_expired_or_too_many() -> None:
    state = SandboxState()
    now_ms = 1_700_000_000_000
    day_ms = 86_400_000
    old = state.issue_token(now_ms - day_ms - 1, now_ms=now_ms)
    assert state.token(old.access_token) is old
    current = state.issue_token(now_ms + 1000, now_ms=now_ms)
    assert state.token(old.access_token) is None
    assert state.redeem_refresh_token(old.refresh_token) is None
    assert state.redeem_refresh_token(current.refresh_token) is current
    assert not current.alive
    assert state.token(current.access_token) is None
    for _ in range(10_050):  # without now_ms: no scan for expired pairs, only the cap
        state.issue_token(now_ms + 1000)
    assert state.live_tokens(now_ms) == 10_000


async def test_abort_after_can_be_aimed_at_one_action(make_sandbox: Any) -> None:
    import asyncio

    accept = "POST /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}/acceptance"
    sandbox = await make_sandbox(
        seed=3,
        faults=FaultConfig(rate=0.25, kinds=frozenset({"abort_after"}), routes=frozenset({accept})),
    )
    project = sandbox.project_id
    task_ids = [task["task_id"] for task in sandbox.state.tasks(project)[:12]]
    for task_id in task_ids:
        sandbox.state.set_task_status(project, task_id, "PENDING_ACCEPTANCE")
    dropped: list[str] = []
    async with asyncio.timeout(20), aiohttp.ClientSession() as session:
        raw = RawClient(sandbox, session)
        await raw.grant()
        for task_id in task_ids:
            try:
                _, answer = await raw.call("POST", f"{TASKS}/{task_id}/acceptance")
            except aiohttp.ServerDisconnectedError:
                dropped.append(task_id)
            else:
                assert answer["result"] is True
            _, detail = await raw.call("GET", f"{TASKS}/{task_id}")
            assert detail["result"]["construction_status"] == "ACCEPTANCE_COMPLETE"
        _, page = await raw.call("GET", TASKS, {"page_size": 99})
        # Repeating an accept whose answer was lost finds the task accepted already: refused.
        _, repeated = await raw.call("POST", f"{TASKS}/{dropped[0]}/acceptance")
    assert page["success"] is True
    assert 0 < len(dropped) < len(task_ids)
    assert sandbox.state.faults == {"abort_after": len(dropped)}
    assert repeated["code"] == 1109
