"""The aiohttp exchange over loopback: what it puts on the wire, the connection a create goes
out on, and a client used again in a second event loop."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from tuyaio import OutcomeUnknownError, TuyaClient

TOKEN = {"access_token": "a" * 32, "refresh_token": "r" * 32, "expire_time": 7200, "uid": "u"}


class ClosingServer:
    """An HTTP/1.1 server that answers each request, then closes the connection a moment later
    without reading more or saying so (legal, and what a server does at its keep-alive limit)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        line, *fields = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields if f)}
        await reader.readexactly(int(headers.get("content-length", 0)))
        self.requests.append((line, headers))
        result = TOKEN if "/v1.0/token" in line else "new-id"
        t = int(time.time() * 1000)
        body = json.dumps({"success": True, "result": result, "t": t}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        await asyncio.sleep(0.005)  # long enough for the client to send its next request here
        writer.close()


@pytest.fixture
async def closing_server() -> AsyncIterator[ClosingServer]:
    server = ClosingServer()
    server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    yield server
    server.server.close()
    await server.server.wait_closed()


def _client(url: str) -> TuyaClient:
    return TuyaClient("client-id", "s" * 32, base_url=url, allow_insecure_http=True)


async def test_creates_go_out_on_fresh_connections_so_a_closing_server_loses_none(
    closing_server: ClosingServer,
) -> None:
    async with _client(closing_server.url) as client:
        outcomes = []
        for _ in range(200):
            try:
                outcomes.append(
                    await client.maintenance.create_task("p1", worker_id="w", rooms={"r": ["d"]})
                )
            except OutcomeUnknownError as error:
                outcomes.append(error)
    unknown = [o for o in outcomes if isinstance(o, OutcomeUnknownError)]
    assert unknown == []
    creates = [line for line, _ in closing_server.requests if line.startswith("POST")]
    assert len(creates) == 200


async def test_a_bodiless_post_carries_no_content_type(closing_server: ClosingServer) -> None:
    async with _client(closing_server.url) as client:
        await client.request("POST", "/v1.0/osaas/projects/p1/maintenance/tasks/t1/reopen")
        await client.request("POST", "/v1.0/x", json={"a": 1})
    (_, bodiless), (_, with_body) = closing_server.requests[-2:]
    assert "content-type" not in bodiless
    assert bodiless.get("content-length", "0") == "0"
    assert with_body["content-type"] == "application/json"


def test_a_client_works_again_in_a_second_event_loop() -> None:
    async def serve_and_call(client: TuyaClient | None) -> TuyaClient:
        server = ClosingServer()
        server.server = await asyncio.start_server(server.handle, "127.0.0.1", port[0])
        port[0] = server.server.sockets[0].getsockname()[1]
        try:
            client = client or _client(server.url)
            assert await client.request("GET", "/v1.0/x") == "new-id"
            return client
        finally:
            server.server.close()
            await server.server.wait_closed()

    port = [0]
    client = asyncio.run(serve_and_call(None))
    client = asyncio.run(serve_and_call(client))  # was: "the HTTP session is closed"
    asyncio.run(client.close())
