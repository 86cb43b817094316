"""Shared fixtures: a strict sandbox on a loopback port, and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from tuyaio import RetryPolicy, TuyaClient
from tuyaio.sandbox import Sandbox, SandboxConfig

FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.01)
"""The default retry count with millisecond waits, so tests never sleep for long."""

SandboxFactory = Callable[..., Awaitable[Sandbox]]
ClientFactory = Callable[..., Awaitable[TuyaClient]]


def task_args(sandbox: Sandbox, n: int = 0) -> dict[str, Any]:
    """``create_task`` keywords that the sandbox accepts: its ``n``-th worker and ``n``-th room of
    the first project (each modulo their count), with every device of that room."""
    state = sandbox.state
    room = state.project_rooms(sandbox.project_id)[n % sandbox.config.maintenance_rooms]
    devices = [device["device_id"] for device in state.room_devices(room["room_id"])]
    worker = state.workers.items[n % sandbox.config.workers]
    return {"worker_id": worker["worker_id"], "rooms": {room["room_id"]: devices}}


@pytest.fixture
async def exit_stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


@pytest.fixture
def make_sandbox(exit_stack: AsyncExitStack) -> SandboxFactory:
    """Start a sandbox with the given SandboxConfig fields; stopped at the end of the test."""

    async def make(**config: Any) -> Sandbox:
        return await exit_stack.enter_async_context(Sandbox(SandboxConfig(**config)))

    return make


@pytest.fixture
def make_client(exit_stack: AsyncExitStack) -> ClientFactory:
    """A client for a sandbox (its credentials unless overridden); closed at the end of the test."""

    async def make(sandbox: Sandbox, **options: Any) -> TuyaClient:
        options.setdefault("retry", FAST_RETRY)
        client_id = options.pop("client_id", sandbox.client_id)
        secret = options.pop("secret", sandbox.secret)
        client = TuyaClient(client_id, secret, base_url=sandbox.base_url, **options)
        return await exit_stack.enter_async_context(client)

    return make


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    """A sandbox with the default configuration."""
    return await make_sandbox()


@pytest.fixture
async def client(sandbox: Sandbox, make_client: ClientFactory) -> TuyaClient:
    """A client for the default sandbox."""
    return await make_client(sandbox)


@asynccontextmanager
async def client_answering(
    result: Callable[[web.Request, bytes], Any],
) -> AsyncIterator[TuyaClient]:
    """A client for a loopback server that grants tokens and answers every other call with a
    success envelope around ``result(request, body)``."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if request.path.startswith("/v1.0/token"):
            answer: Any = {"access_token": "a", "refresh_token": "r", "expire_time": 7200}
        else:
            answer = result(request, body)
        return web.json_response({"success": True, "t": 1_700_000_000_000, "result": answer})

    async with (
        loopback_server(handle) as base_url,
        TuyaClient("id", "secret", base_url=base_url, retry=FAST_RETRY) as client,
    ):
        yield client


class Recorder:
    """For :func:`client_answering`: records every business request as ``(method, path, query,
    body)`` and answers with ``result``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.result: Any = {"total": 0}

    def __call__(self, request: web.Request, body: bytes) -> Any:
        self.requests.append((request.method, request.path, dict(request.query), body))
        return self.result


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[Recorder, TuyaClient]]:
    """A :class:`Recorder` and a client of the loopback server it answers for."""
    recorder = Recorder()
    async with client_answering(recorder) as client:
        yield recorder, client


@asynccontextmanager
async def loopback_server(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """A real aiohttp server on 127.0.0.1 (a free port) answering every request with
    ``handler``; yields its base URL and stops it on the way out."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
