"""The signed, token-managed request path against the sandbox over loopback."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from tuyaio import (
    AuthenticationError,
    ClientClosedError,
    PermissionDeniedError,
    ServerError,
    SignatureError,
    TuyaClient,
    UnexpectedResponseError,
)
from tuyaio.sandbox import FaultConfig, Sandbox

from .conftest import ClientFactory, SandboxFactory

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


async def test_500_concurrent_calls_across_a_token_expiry_refresh_once(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(token_ttl_s=2)
    client = await make_client(sandbox)
    path = tasks_path(sandbox)
    await client.request("GET", path)
    await asyncio.sleep(1.85)  # the token is due for renewal at 1.8 s (10 % of its lifetime)

    results = await asyncio.gather(
        *(client.request("GET", path, params={"page_size": 1}) for _ in range(500)),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert (sandbox.state.grants, sandbox.state.refreshes) == (1, 1)


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


@pytest.mark.parametrize(
    ("project_id", "task_id"),
    [("..", "1"), ("a/b", "1"), ("1", "%2F"), ("", "1"), ("1", "a b"), ("1", "x\n"), ("1", ".")],
)
async def test_unsafe_ids_are_refused_before_any_request(
    sandbox: Sandbox, client: TuyaClient, project_id: str, task_id: str
) -> None:
    with pytest.raises(ValueError, match=r"project_id|task_id"):
        await client.maintenance.get_task(project_id, task_id)
    with pytest.raises(ValueError, match="path"):
        await client.request("GET", f"/v1.0/osaas/projects/{project_id}/{task_id}/..")
    assert sandbox.state.requests == 0


async def test_http_502_with_html_is_a_server_error(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(faults=FaultConfig(rate=1.0, kinds=frozenset({"http_502"})))
    client = await make_client(sandbox, **NO_RETRY)
    with pytest.raises(ServerError) as caught:
        await client.maintenance.list_tasks(sandbox.project_id)
    assert caught.value.http_status == 502
    assert caught.value.route == TASKS
    assert caught.value.__cause__ is not caught.value
    with pytest.raises(ServerError):
        await client.request("GET", tasks_path(sandbox))


@pytest.fixture
async def html_server() -> AsyncIterator[str]:
    """A real server on loopback that answers every request with an HTML page and HTTP 200."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(
            text="<html><body>Captive portal</body></html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_an_html_body_is_an_unexpected_response(html_server: str) -> None:
    async with TuyaClient("id", "secret", base_url=html_server) as client:
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


def test_plain_http_is_refused_for_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="allow_insecure_http"):
        TuyaClient("id", "secret", base_url="http://example.com")
    TuyaClient("id", "secret", base_url="http://example.com", allow_insecure_http=True)
    TuyaClient("id", "secret", base_url="http://[::1]:8080")
    with pytest.raises(ValueError, match="region"):
        TuyaClient("id", "secret", region="mars")
    with pytest.raises(ValueError, match="exactly one"):
        TuyaClient("id", "secret")
    with pytest.raises(ValueError, match="secret"):
        TuyaClient("id", "")
    with pytest.raises(TypeError, match="client_id"):
        TuyaClient(None, "secret", region="eu")  # type: ignore[arg-type]


def test_from_env_reads_the_documented_variables() -> None:
    env = {"TUYA_CLIENT_ID": "cid", "TUYA_CLIENT_SECRET": "s3cr3t", "TUYA_REGION": "eu"}
    client = TuyaClient.from_env(environ=env)
    assert "openapi.tuyaeu.com" in repr(client)
    assert "s3cr3t" not in repr(client)
    with pytest.raises(ValueError, match="TUYA_CLIENT_SECRET"):
        TuyaClient.from_env(environ={"TUYA_CLIENT_ID": "cid"})
    with pytest.raises(ValueError, match="TUYA_REGION"):
        TuyaClient.from_env(environ={"TUYA_CLIENT_ID": "c", "TUYA_CLIENT_SECRET": "s"})
