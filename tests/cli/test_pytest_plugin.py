"""The pytest plugin's fixtures, as a user's test suite would use them."""

from __future__ import annotations

import os

import pytest

from tuyaio import RetryPolicy, ServerError, TuyaClient
from tuyaio.client_options import ClientOptions
from tuyaio.sandbox import FAULT_HTTP_503, FaultConfig, Sandbox, SandboxConfig


@pytest.fixture
def tuya_sandbox_config() -> SandboxConfig:
    return SandboxConfig(tasks=12, rooms=5)


async def test_tuya_client_talks_to_the_sandbox(
    tuya_client: TuyaClient, tuya_sandbox: Sandbox
) -> None:
    page = await tuya_client.maintenance.list_tasks(tuya_sandbox.project_id, page_size=5)
    assert page.total == 12
    assert not tuya_client.closed


async def test_tuya_env_serves_an_app_that_reads_the_environment(
    tuya_env: dict[str, str], tuya_sandbox: Sandbox
) -> None:
    assert "TUYA_REGION" not in os.environ
    assert os.environ["TUYA_BASE_URL"] == tuya_sandbox.base_url == tuya_env["TUYA_BASE_URL"]
    async with TuyaClient.from_env() as client:
        page = await client.maintenance.list_tasks(tuya_sandbox.project_id, page_size=5)
    assert page.total == 12


@pytest.mark.parametrize(
    "tuya_client_options", [{"retry": RetryPolicy(max_retries=0), "timeout": 2.5}]
)
async def test_tuya_client_takes_options(
    tuya_client: TuyaClient, tuya_sandbox: Sandbox, tuya_client_options: ClientOptions
) -> None:
    tuya_sandbox.configure(faults=FaultConfig(rate=1.0, kinds={FAULT_HTTP_503}))
    with pytest.raises(ServerError) as raised:
        await tuya_client.maintenance.list_tasks(tuya_sandbox.project_id)
    assert raised.value.attempts == 1  # no retry
    assert tuya_client.base_url == tuya_sandbox.base_url
