"""pytest fixtures for testing code that uses tuyaio against the sandbox.

Installed with tuyaio (entry point ``pytest11``), so the fixtures are there in any test suite that
has pytest-asyncio: ``tuya_sandbox`` is a running :class:`Sandbox`, built from
``tuya_sandbox_config`` — override that fixture to change the seed data, latency or faults::

    @pytest.fixture
    def tuya_sandbox_config() -> SandboxConfig:
        return SandboxConfig(tasks=50, latency_ms=5)

    async def test_my_job(tuya_sandbox: Sandbox) -> None:
        client = TuyaClient(tuya_sandbox.client_id, tuya_sandbox.secret,
                            base_url=tuya_sandbox.base_url)

``tuya_client`` is a :class:`TuyaClient` for that sandbox, closed after the test; ``tuya_env`` sets
``TUYA_CLIENT_ID``, ``TUYA_CLIENT_SECRET`` and ``TUYA_BASE_URL`` for it (and unsets
``TUYA_REGION``) for the test, for code that calls :meth:`TuyaClient.from_env`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import pytest

from ..client import TuyaClient
from .config import SandboxConfig
from .server import Sandbox

__all__ = ["tuya_client", "tuya_env", "tuya_sandbox", "tuya_sandbox_config"]


@pytest.fixture
def tuya_sandbox_config() -> SandboxConfig:
    """The configuration of ``tuya_sandbox``; override it in your conftest."""
    return SandboxConfig()


F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(function: F) -> F:
    """pytest-asyncio's fixture decorator when installed, else pytest's (for other plugins)."""
    decorate: Callable[[F], object]
    try:
        from pytest_asyncio import fixture as decorate
    except ImportError:  # pragma: no cover - another asyncio plugin must run async fixtures
        decorate = pytest.fixture
    return cast(F, decorate(function))


@_async_fixture
async def tuya_sandbox(tuya_sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    """A running sandbox on a free loopback port, stopped after the test."""
    async with Sandbox(tuya_sandbox_config) as sandbox:
        yield sandbox


@_async_fixture
async def tuya_client(tuya_sandbox: Sandbox) -> AsyncIterator[TuyaClient]:
    """A client for ``tuya_sandbox``, closed after the test."""
    async with TuyaClient(
        tuya_sandbox.client_id, tuya_sandbox.secret, base_url=tuya_sandbox.base_url
    ) as client:
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
