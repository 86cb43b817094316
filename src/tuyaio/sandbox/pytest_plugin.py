"""pytest fixtures for code that uses tuyaio, installed with it (entry point ``pytest11``).

``tuya_sandbox`` is a running :class:`Sandbox` (an async fixture: pytest-asyncio runs it) built
from ``tuya_sandbox_config``: override that fixture to change the seed data, latency or faults.
``tuya_client`` is a :class:`TuyaClient` for it, closed after the test, made with the options of
``tuya_client_options`` (override or parametrize it: ``retry``, ``timeout``, ``hooks``…);
``tuya_env`` sets ``TUYA_CLIENT_ID``, ``TUYA_CLIENT_SECRET`` and ``TUYA_BASE_URL`` for it (and
unsets ``TUYA_REGION``) for code that calls :meth:`TuyaClient.from_env`. docs/testing.md has
examples.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ..client import TuyaClient
from ..client_options import ClientOptions
from .config import SandboxConfig
from .server import Sandbox

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - another asyncio plugin must run async fixtures
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = [
    "tuya_client",
    "tuya_client_options",
    "tuya_env",
    "tuya_sandbox",
    "tuya_sandbox_config",
]


@pytest.fixture
def tuya_sandbox_config() -> SandboxConfig:
    """The configuration of ``tuya_sandbox``; override it in your conftest."""
    return SandboxConfig()


@_async_fixture
async def tuya_sandbox(tuya_sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    """A running sandbox on a free loopback port, stopped after the test."""
    async with Sandbox(tuya_sandbox_config) as sandbox:
        yield sandbox


@pytest.fixture
def tuya_client_options() -> ClientOptions:
    """The options of ``tuya_client`` (default: none, the client's defaults): override this
    fixture in your conftest, or parametrize it, to test with other retries or timeouts::

        @pytest.fixture
        def tuya_client_options() -> ClientOptions:
            return {"retry": RetryPolicy(max_retries=0), "timeout": 2.0}

    ``base_url`` is always the sandbox's.
    """
    return {}


@_async_fixture
async def tuya_client(
    tuya_sandbox: Sandbox, tuya_client_options: ClientOptions
) -> AsyncIterator[TuyaClient]:
    """A client for ``tuya_sandbox`` with ``tuya_client_options``, closed after the test."""
    options: ClientOptions = {**tuya_client_options, "base_url": tuya_sandbox.base_url}
    options.pop("region", None)
    async with TuyaClient(tuya_sandbox.client_id, tuya_sandbox.secret, **options) as client:
        yield client


@pytest.fixture
def tuya_env(tuya_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The ``TUYA_*`` environment of ``tuya_sandbox``, set for the test; returns what was set."""
    env = {
        "TUYA_CLIENT_ID": tuya_sandbox.client_id,
        "TUYA_CLIENT_SECRET": tuya_sandbox.secret,
        "TUYA_BASE_URL": tuya_sandbox.base_url,
    }
    monkeypatch.delenv("TUYA_REGION", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
