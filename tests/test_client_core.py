"""The signed, token-managed request path against the sandbox over loopback."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tuyaio import (
    AuthenticationError,
    ClientClosedError,
    MemoryTokenStore,
    PermissionDeniedError,
    RoomDevices,
    ServerError,
    SignatureError,
    Timeout,
    TokenBucket,
    TuyaClient,
    UnexpectedResponseError,
)
from tuyaio.sandbox import FaultConfig, Sandbox

from .conftest import FAST_RETRY, ClientFactory, SandboxFactory, loopback_server

TASKS = "/v1.0/osaas/projects/{project_id}/maintenance/tasks"
NO_RETRY = {"retry": __import__("tuyaio").RetryPolicy(max_retries=0)}


def tasks_path(sandbox: Sandbox) -> str:
    return TASKS.format(project_id=sandbox.project_id)


async def test_token_is_fetched_lazily_once_and_reused(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    assert sandbox.state.grants == 0
    for page in (1, 2, 3):
        result = await client.request("GET", tasks_path(sandbox), params={"page_no": page})
        assert result["page_no"] == page
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 0)
    assert client.stats.token_grants == 1
    assert client.stats.attempts == 4


async def calls_across_a_due_renewal(
    make_sandbox: SandboxFactory, make_client: ClientFactory, calls: int
) -> tuple[Sandbox, TuyaClient, list[object]]:
    """``calls`` concurrent calls that find the token due for renewal, but not yet expired.

    The grant is made on a server clock 7,150 s behind ours, so the token (7,200 s) has 50 s
    left on the server's clock. Putting the server's clock right makes the first attempts a
    1013; once corrected, the client sees the token inside its last 60 s: due, not expired.
    """
    sandbox = await make_sandbox(clock_skew_s=-7150)
    client = await make_client(sandbox)
    path = tasks_path(sandbox)
    await client.request("GET", path)
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 0)
    sandbox.configure(clock_skew_s=0)
    results = await asyncio.gather(
        *(client.request("GET", path, params={"page_size": 1}) for _ in range(calls)),
        return_exceptions=True,
    )
    return sandbox, client, results


async def test_the_client_shows_its_endpoint_and_access_id_but_never_its_secret(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    assert (client.base_url, client.client_id) == (sandbox.base_url, sandbox.client_id)
    assert sandbox.secret not in f"{client!r} {client.base_url} {client.client_id}"


async def test_500_concurrent_calls_across_a_token_expiry_refresh_once(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox, client, results = await calls_across_a_due_renewal(make_sandbox, make_client, 500)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 1)
    assert client.stats.clock_corrections >= 1
    assert abs(client.clock_offset_ms) < 2_000


async def test_a_call_waiting_for_a_connection_does_not_send_a_renewed_token(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox, client, _ = await calls_across_a_due_renewal(make_sandbox, make_client, 500)
    assert sandbox.state.codes[1010] == 0
    assert client.stats.token_rejections == 0


async def test_an_expired_token_is_refreshed_and_the_call_repeated_once(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(token_ttl_s=100)
    client = await make_client(sandbox)
    path = tasks_path(sandbox)
    await client.request("GET", path)
    sandbox.configure(clock_skew_s=150)  # past the token's expiry, inside the 5-minute window
    result = await client.request("GET", path)
    assert result["total"] > 0
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 1)
    assert client.stats.token_rejections == 1
    assert sandbox.state.codes[1011] == 1


async def test_a_clock_minutes_behind_still_renews_tokens_ahead_of_expiry(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    # 4 minutes off: inside Tuya's 5-minute window (no 1013), but longer than the token lives.
    sandbox = await make_sandbox(token_ttl_s=100, clock_skew_s=240)
    client = await make_client(sandbox)
    for _ in range(3):
        assert (await client.maintenance.list_tasks(sandbox.project_id)).total > 0
    assert client.stats.token_rejections == 0
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 0)
    assert abs(client.clock_offset_ms - 240_000) < 2_000


async def test_a_revoked_token_gets_1010_then_one_refresh(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    path = tasks_path(sandbox)
    await client.request("GET", path)
    sandbox.state.revoke_access_tokens()
    await client.request("GET", path)
    assert sandbox.state.codes[1010] == 1
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 1)


async def test_wrong_secret_is_a_signature_error_without_retry(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = await make_client(sandbox, secret="not-the-secret")
    with pytest.raises(SignatureError) as caught:
        await client.request("GET", tasks_path(sandbox))
    assert caught.value.code == 1004
    assert caught.value.route == "/v1.0/token"
    assert sandbox.state.requests == 1
    assert "not-the-secret" not in str(caught.value) + repr(caught.value)


async def test_authenticate_grants_once_and_then_reuses_the_token(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    token = await client.authenticate()
    assert (sandbox.state.grants, sandbox.state.requests) == (1, 1)
    assert token.lifetime_ms == sandbox.config.token_ttl_s * 1000
    assert await client.authenticate() is token
    await client.maintenance.list_tasks(sandbox.project_id)
    assert (sandbox.state.grants, sandbox.state.requests) == (1, 2)
    assert token.access_token not in repr(token)
    await client.close()
    with pytest.raises(ClientClosedError):
        await client.authenticate()


async def test_authenticate_reports_wrong_credentials(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = await make_client(sandbox, client_id="someone-else")
    with pytest.raises(AuthenticationError):
        await client.authenticate()
    assert sandbox.state.requests == 1


async def test_wrong_client_id_is_an_authentication_error(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = await make_client(sandbox, client_id="someone-else")
    with pytest.raises(AuthenticationError):
        await client.request("GET", tasks_path(sandbox))
    assert sandbox.state.requests == 1


@pytest.mark.parametrize("skew_s", [600, -600])
async def test_a_clock_ten_minutes_off_works_after_one_correction(
    make_sandbox: SandboxFactory, make_client: ClientFactory, skew_s: int
) -> None:
    sandbox = await make_sandbox(clock_skew_s=skew_s)
    client = await make_client(sandbox)
    for _ in range(3):
        await client.request("GET", tasks_path(sandbox))
    assert client.stats.clock_corrections == 1
    assert sandbox.state.codes[1013] == 1
    assert abs(client.clock_offset_ms - skew_s * 1000) < 2000


async def test_http_502_with_html_is_a_server_error(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(faults=FaultConfig(rate=1.0, kinds=frozenset({"http_502"})))
    client = await make_client(sandbox, **NO_RETRY)
    with pytest.raises(ServerError) as caught:
        await client.maintenance.list_tasks(sandbox.project_id)
    assert caught.value.http_status == 502
    assert caught.value.route == TASKS
    assert caught.value.__cause__ is None  # nothing of aiohttp's (headers, URL) chained on
    with pytest.raises(ServerError):
        await client.request("GET", tasks_path(sandbox))


@pytest.fixture
async def html_server() -> AsyncIterator[str]:
    """A real server on loopback that answers every request with an HTML page and HTTP 200."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(
            text="<html><body>Captive portal</body></html>", content_type="text/html"
        )

    async with loopback_server(page) as base_url:
        yield base_url


async def test_an_html_body_is_an_unexpected_response(html_server: str) -> None:
    async with TuyaClient("id", "secret", base_url=html_server, retry=FAST_RETRY) as client:
        with pytest.raises(UnexpectedResponseError) as caught:
            await client.request("GET", "/v1.0/anything")
    assert "Captive portal" in caught.value.body_excerpt
    assert caught.value.route == "/v1.0/token"


async def test_permission_error_for_a_project_we_do_not_own(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        await client.maintenance.list_tasks("999")
    assert caught.value.code == 1106
    assert caught.value.tid


async def test_caller_session_is_used_and_left_open(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as session:
        async with TuyaClient(
            sandbox.client_id, sandbox.secret, base_url=sandbox.base_url, session=session
        ) as client:
            await client.request("GET", tasks_path(sandbox))
        assert not session.closed


async def test_closing_fails_waiting_calls_clearly(sandbox: Sandbox, client: TuyaClient) -> None:
    await client.close()
    with pytest.raises(ClientClosedError):
        await client.request("GET", tasks_path(sandbox))


async def test_no_secret_in_debug_logs_reprs_or_errors(
    sandbox: Sandbox, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await make_client(sandbox)
    await client.maintenance.list_tasks(sandbox.project_id)
    sandbox.state.revoke_access_tokens()
    await client.maintenance.list_tasks(sandbox.project_id)
    token = client._transport.tokens.current
    assert token is not None
    with pytest.raises(ValueError, match="project_id"):
        await client.maintenance.get_task("..", "1")
    texts = [record.getMessage() for record in caplog.records]
    texts += [repr(client), repr(token), repr(client._transport), str(client.stats)]
    assert any("GET " + TASKS in text for text in texts), "one DEBUG line per attempt"
    secrets = [sandbox.secret, token.access_token, token.refresh_token]
    for text in texts:
        assert not any(secret in text for secret in secrets), text
        assert not re.search(r"\b[0-9A-F]{64}\b", text), text


def test_from_env_reads_the_documented_variables() -> None:
    env = {"TUYA_CLIENT_ID": "cid", "TUYA_CLIENT_SECRET": "s3cr3t", "TUYA_REGION": "eu"}
    client = TuyaClient.from_env(environ=env)
    assert "openapi.tuyaeu.com" in repr(client)
    assert "s3cr3t" not in repr(client)
    with pytest.raises(ValueError, match="TUYA_CLIENT_SECRET"):
        TuyaClient.from_env(environ={"TUYA_CLIENT_ID": "cid"})
    with pytest.raises(ValueError, match="TUYA_REGION"):
        TuyaClient.from_env(environ={"TUYA_CLIENT_ID": "c", "TUYA_CLIENT_SECRET": "s"})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"base_url": "http://example.com"}, ValueError, "allow_insecure_http"),
        ({"base_url": "https://user:hunter2@openapi.example"}, ValueError, "base_url"),
        ({"base_url": "ftp://user:hunter2@example"}, ValueError, "base_url"),
        ({"base_url": "http://:hunter2@h/x"}, ValueError, "base_url"),
        ({"base_url": 5}, ValueError, "base_url"),
        ({"region": "mars"}, ValueError, "region"),
        ({"region": 5}, ValueError, "region"),
        ({}, ValueError, "exactly one"),
        ({"region": "eu", "base_url": "https://openapi.example"}, ValueError, "exactly one"),
        ({"region": "eu", "secret": ""}, ValueError, "secret"),
        ({"region": "eu", "secret": "a\nb"}, ValueError, "secret"),
        ({"region": "eu", "client_id": None}, TypeError, "client_id"),
        ({"region": "eu", "allow_insecure_http": "no"}, TypeError, "allow_insecure_http"),
        ({"region": "eu", "max_body_bytes": 0}, ValueError, "max_body_bytes"),
        # timeout and rate_limit numbers: test_input_fuzz.py::test_fuzzed_seconds_and_rates
    ],
)
def test_bad_client_arguments_are_refused_by_name(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    client_id, secret = kwargs.pop("client_id", "id"), kwargs.pop("secret", "secret")
    with pytest.raises(error, match=match) as caught:
        TuyaClient(client_id, secret, **kwargs)
    assert "hunter2" not in str(caught.value)  # a password in a URL is not repeated


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "http://example.com", "allow_insecure_http": True},
        {"base_url": "http://[::1]:8080"},
        {"base_url": "http://127.0.0.1:8080"},
        *({"region": region} for region in ("cn", "us", "eu", "in")),
        {"region": "eu", "timeout": Timeout(total=2.5, connect=None)},
        {"region": "eu", "timeout": Timeout(total=None, connect=None)},
        {"region": "eu", "timeout": 1, "rate_limit": 0.5},
        {"region": "eu", "rate_limit": TokenBucket(5)},
    ],
)
def test_good_client_arguments_are_accepted(kwargs: dict[str, Any]) -> None:
    assert TuyaClient("id", "secret", **kwargs).closed is False


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        # rate numbers: test_input_fuzz.py::test_fuzzed_seconds_and_rates
        (lambda: TokenBucket(5, 0), ValueError, "burst"),
        (lambda: TokenBucket(5, 1.5), TypeError, "burst"),
        (lambda: TokenBucket(5, True), TypeError, "burst"),
        (lambda: TokenBucket(2).set_rate(float("nan")), ValueError, "rate"),
        (lambda: TokenBucket(2).set_rate(0), ValueError, "rate"),
    ],
)
def test_bad_token_bucket_arguments_are_refused_by_name(
    make: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        make()


async def test_with_options_checks_its_arguments(client: TuyaClient) -> None:
    for timeout in (float("nan"), float("inf"), -1.0, 0):
        with pytest.raises(ValueError, match="timeout"):
            client.with_options(timeout=timeout)
    with pytest.raises(TypeError, match="timeout"):
        client.with_options(timeout="5")  # type: ignore[arg-type]
    assert client.with_options(timeout=Timeout(total=None)) is not client


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"headers": {"sign": "x"}}, ValueError, "headers"),
        ({"headers": {"Access_Token": "x"}}, ValueError, "headers"),
        ({"headers": {"T": "1"}}, ValueError, "headers"),
        ({"headers": {"NONCE": "n"}}, ValueError, "headers"),
        ({"headers": {"signature-headers": "area_id"}}, ValueError, "headers"),
        ({"headers": {"content-type": "text/plain"}}, ValueError, "headers"),
        ({"headers": {"Client_Id": "x"}}, ValueError, "headers"),
        ({"headers": {"Sign_Method": "x"}}, ValueError, "headers"),
        ({"headers": {"area_id": " padded"}}, ValueError, "headers"),
        ({"headers": {"area_id": "padded "}}, ValueError, "headers"),
        ({"headers": {"area_id": "a\tb"}}, ValueError, "headers"),
        ({"headers": {"area_id": "a\nX-Evil: 1"}}, ValueError, "headers"),
        ({"headers": {"area_id": "1", "AREA_ID": "2"}}, ValueError, "headers"),
        ({"idempotent": "yes"}, TypeError, "idempotent"),
        ({"idempotent": 1}, TypeError, "idempotent"),
        ({"json": {"x": float("nan")}, "method": "POST"}, ValueError, "json"),
        ({"json": [float("inf")], "method": "POST"}, ValueError, "json"),
        ({"json": {"x": object()}, "method": "POST"}, TypeError, "json"),
        ({"params": {1: "x"}}, TypeError, "params"),
        ({"params": {"a": object()}}, TypeError, "params"),
        ({"params": {"a": [object()]}}, TypeError, "params"),
        ({"params": {"a": {"b": 1}}}, TypeError, "params"),
        ({"params": {"a": b"x"}}, TypeError, "params"),
        ({"params": {"a": float("nan")}}, ValueError, "params"),
        ({"params": [("a", "b")]}, TypeError, "params"),
        *(
            ({"path": f"/v1.0/osaas/projects/{p}/{t}/.."}, ValueError, "path")
            for p, t in [("..", "1"), ("a/b", "1"), ("1", "%2F"), ("", "1"), ("1", "a b")]
        ),
        ({"path": "/v1.0/osaas/projects/1/x\n"}, ValueError, "path"),
        ({"path": "/v1.0/osaas/projects/1/./x"}, ValueError, "path"),
    ],
)
async def test_bad_escape_hatch_arguments_are_refused_before_io(
    sandbox: Sandbox, client: TuyaClient, kwargs: dict[str, Any], error: type, match: str
) -> None:
    method = kwargs.pop("method", "GET")
    path = kwargs.pop("path", tasks_path(sandbox))
    with pytest.raises(error, match=match):
        await client.request(method, path, **kwargs)
    assert sandbox.state.requests == 0


async def test_escape_hatch_sends_good_params_and_extra_headers(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    result = await client.request(
        "GET",
        tasks_path(sandbox),
        params={"page_no": 1, "page_size": 2, "unused": None},
        headers={"area_id": "eu-1"},
        idempotent=True,
    )
    assert len(result["tasks"]) == 2


async def test_a_refused_refresh_falls_back_to_a_new_grant(
    sandbox: Sandbox, client: TuyaClient
) -> None:
    path = tasks_path(sandbox)
    await client.request("GET", path)
    token = client._transport.tokens.current
    assert token is not None
    # Someone else refreshes with our refresh token: our access token dies, and so does the
    # refresh token we hold.
    assert sandbox.state.redeem_refresh_token(token.refresh_token) is not None

    result = await client.request("GET", path)
    assert result["total"] > 0
    assert sandbox.state.codes[1010] == 2  # the call, then the refresh
    assert (sandbox.state.grants, sandbox.state.refreshes) == (2, 0)
    assert (client.stats.token_grants, client.stats.token_refreshes) == (2, 0)
    renewed = client._transport.tokens.current
    assert renewed is not None
    assert renewed.access_token != token.access_token


async def test_request_posts_a_json_body(sandbox: Sandbox, client: TuyaClient) -> None:
    project = sandbox.project_id
    relations = [{"room_id": "145267896505007", "device_ids": ["00122433019", "00122433020"]}]
    task_id = await client.request(
        "POST",
        f"/v1.0/osaas/projects/{project}/maintenance/task",
        json={"worker_id": "1306411812723001", "room_device_relations": relations},
    )
    assert isinstance(task_id, str)
    stored = sandbox.state.tasks[project].by_id.get(task_id)
    assert stored is not None
    assert stored["worker_username"] == "worker01@example.com"
    detail = await client.maintenance.get_task(project, task_id)
    assert detail.rooms == (
        RoomDevices(room_id="145267896505007", device_ids=("00122433019", "00122433020")),
    )


async def test_clients_sharing_a_token_store_share_one_grant(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    store = MemoryTokenStore()
    first = await make_client(sandbox, token_store=store)
    second = await make_client(sandbox, token_store=store)
    await asyncio.gather(
        first.maintenance.list_tasks(sandbox.project_id),
        second.maintenance.list_tasks(sandbox.project_id),
    )
    await second.maintenance.list_tasks(sandbox.project_id)
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 0)
    assert first.stats.token_grants + second.stats.token_grants == 1
    assert (await first.authenticate()).access_token == (await second.authenticate()).access_token
    alone = await make_client(sandbox)  # its own store: its own grant
    await alone.maintenance.list_tasks(sandbox.project_id)
    assert sandbox.state.grants == 2


def test_a_refused_rate_change_keeps_the_rate() -> None:
    bucket = TokenBucket(2)
    with pytest.raises(ValueError, match="rate"):
        bucket.set_rate(float("nan"))
    assert bucket.rate == 2
    bucket.set_rate(5)
    assert bucket.rate == 5
    assert Timeout(total=None, connect=None).total is None
