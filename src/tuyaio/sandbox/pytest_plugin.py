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
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import pytest

from .config import SandboxConfig
from .server import Sandbox

__all__ = ["tuya_sandbox", "tuya_sandbox_config"]


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
