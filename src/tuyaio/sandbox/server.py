"""Running the sandbox: an async context manager on loopback, and a serve-forever for the CLI."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import attrs
from aiohttp import web

from .app import RUNTIME, make_app
from .config import SandboxConfig
from .state import SandboxState

__all__ = ["Sandbox", "serve_forever"]

_FIXED = {
    "client_id",
    "secret",
    "seed",
    "maintenance_projects",
    "tasks",
    "lighting_projects",
    "rooms",
    "records",
    "workers",
    "maintenance_rooms",
    "devices_per_room",
}
"""What the running sandbox was built from: :meth:`Sandbox.configure` cannot change it."""


class Sandbox:
    """A running sandbox: ``async with Sandbox(SandboxConfig(...)) as sandbox: ...``.

    Listens on ``host`` (loopback) and ``port`` (0: a free one) at ``base_url``. Clients use the
    ``client_id`` and ``secret``; ``project_id`` and ``lighting_project_id`` are the first
    maintenance (Smart Engineering) and construction (Smart Lighting) projects; ``state`` holds
    the data and counters.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        config = config or SandboxConfig()
        self._app = make_app(config)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.base_url: str = ""
        """``http://127.0.0.1:PORT`` once started."""
        self.client_id: str = config.client_id
        self.secret: str = config.secret
        self.project_id: str = config.maintenance_projects[0]
        """The first maintenance project."""
        self.lighting_project_id: str = config.lighting_projects[0]
        """The first lighting project."""
        self.state: SandboxState = self._app[RUNTIME].state

    def __repr__(self) -> str:
        return f"Sandbox(base_url={self.base_url!r})"

    @property
    def config(self) -> SandboxConfig:
        """The live configuration."""
        return self._app[RUNTIME].config

    def configure(self, **changes: Any) -> None:
        """Change the configuration while running: faults, latency, skew, limits, TTL (the
        credentials, projects and seed data are fixed at start; changing them is a TypeError)."""
        if fixed := sorted(changes.keys() & _FIXED):
            raise TypeError(f"{', '.join(fixed)} cannot change while the sandbox runs")
        runtime = self._app[RUNTIME]
        runtime.config = attrs.evolve(runtime.config, **changes)

    async def start(self) -> None:
        """Start listening."""
        self._runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await self._runner.setup()
        # A deep accept queue: thousands of callers may connect in the same instant (the fleet
        # test opens 1,600 at once); with aiohttp's 128 the kernel drops SYNs and the callers
        # retry after 1 s, 3 s..., which would test TCP, not the client.
        site = web.TCPSite(self._runner, self._host, self._port, backlog=2048)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve_forever(
    config: SandboxConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[str], None] | None = None,
    max_seconds: float | None = None,
) -> None:
    """Serve until cancelled or for ``max_seconds``; ``ready(base_url)`` once listening."""
    async with Sandbox(config, host=host, port=port) as sandbox:
        if ready is not None:
            ready(sandbox.base_url)
        await asyncio.sleep(math.inf if max_seconds is None else max_seconds)
