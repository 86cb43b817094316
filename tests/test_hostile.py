"""Hostile answers: whatever a server sends, the client ends in a typed TuyaError, holds no secret
in any error, keeps its memory and time bounded, and stays usable afterwards.

A small aiohttp server on 127.0.0.1 answers the token grant normally and business calls as each
test tells it to.
"""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
import pickle
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
from aiohttp import web

import tuyaio
from tuyaio import (
    DecodeError,
    IncompleteListingError,
    OutcomeUnknownError,
    RetryPolicy,
    TuyaClient,
    TuyaError,
    UnexpectedResponseError,
)

from .conftest import loopback_server

CLIENT_ID, SECRET = "hostile-client", "hostile-secret-0123456789"
ACCESS, REFRESH = "access-token-abcdef0123456789", "refresh-token-fedcba9876543210"
PROJECT, TASK = "p1", "t1"
TASKS = f"/v1.0/osaas/projects/{PROJECT}/maintenance/tasks"
QUICK = RetryPolicy(max_retries=2, base_delay=0.001, max_delay=0.01)

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


def envelope(result: Any, **extra: Any) -> web.Response:
    body = {"success": True, "t": int(time.time() * 1000), "result": result, **extra}
    return web.json_response(body)


class Hostile:
    """The server: a normal token grant, then ``answer`` for every business call."""

    def __init__(self) -> None:
        self.answer: Answer = self.empty_page
        self.grant_delay = 0.0
        self.grant_result: Any = {
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "expire_time": 7200,
        }
        self.calls = 0

    async def empty_page(self, request: web.Request) -> web.StreamResponse:
        return envelope({"total": 0, "tasks": []})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        if request.path.startswith("/v1.0/token"):
            await asyncio.sleep(self.grant_delay)
            return envelope(self.grant_result)
        self.calls += 1
        return await self.answer(request)


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[Hostile, str]]:
    server = Hostile()
    async with loopback_server(server.handle) as base_url:
        yield server, base_url


def client_for(base_url: str, **options: Any) -> TuyaClient:
    options.setdefault("retry", QUICK)
    return TuyaClient(CLIENT_ID, SECRET, base_url=base_url, **options)


def no_secrets(error: BaseException) -> None:
    """No secret in the error, its repr, or anything in its chain."""
    seen: BaseException | None = error
    while seen is not None:
        for text in (str(seen), repr(seen), repr(getattr(seen, "__dict__", ""))):
            for secret in (SECRET, ACCESS, REFRESH):
                assert secret not in text, (type(seen).__name__, text[:200])
        seen = seen.__cause__ or seen.__context__


async def endless_chunks(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b" " * 65536
    for _ in range(2_000):  # 128 MB at most: bounded, and far beyond the client's cap
        await response.write(chunk)
    return response


async def gzip_bomb(request: web.Request) -> web.StreamResponse:
    inflated = b'{"success":true,"result":"' + b"0" * 30_000_000 + b'"}'
    return web.Response(
        body=gzip.compress(inflated, 9),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )


def deep_json(request: web.Request) -> Awaitable[web.StreamResponse]:
    async def answer() -> web.StreamResponse:
        return web.Response(body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")

    return answer()


def raw(body: str, status: int = 200) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body.encode(), status=status, content_type="application/json")

    return answer


async def list_tasks(client: TuyaClient) -> Any:
    return await client.maintenance.list_tasks(PROJECT)


async def walk_tasks(client: TuyaClient) -> Any:
    return [task async for task in client.maintenance.iter_tasks(PROJECT)]


async def create_task(client: TuyaClient) -> Any:
    return await client.maintenance.create_task(PROJECT, worker_id="w1", rooms={"r1": ["d1"]})


HUGE_TOTAL = '{"success":true,"result":{"total":' + "9" * 400 + ',"tasks":[]}}'
OVERSIZED = json.dumps({"success": True, "result": {"total": 5, "tasks": [{"task_id": "1"}] * 30}})
SAME_ITEM = json.dumps(
    {"success": True, "result": {"total": 2**31 - 1, "tasks": [{"task_id": "x"}] * 99}}
)
SAME_PAGE = json.dumps(
    {
        "success": True,
        "result": {"total": 2**31 - 1, "tasks": [{"task_id": f"{i}"} for i in range(99)]},
    }
)


@pytest.mark.parametrize(
    ("answer", "call", "error", "max_calls"),
    [
        (endless_chunks, list_tasks, UnexpectedResponseError, 3),
        (gzip_bomb, list_tasks, UnexpectedResponseError, 3),
        (deep_json, list_tasks, UnexpectedResponseError, 3),
        (deep_json, create_task, OutcomeUnknownError, 1),
        (raw('{"success":true,"result":{"total":1e400,"tasks":[]}}'), list_tasks, DecodeError, 1),
        (raw(HUGE_TOTAL), list_tasks, DecodeError, 1),
        (raw(SAME_ITEM), walk_tasks, IncompleteListingError, 1),
        (raw(SAME_PAGE), walk_tasks, IncompleteListingError, 20),
        (raw(OVERSIZED), list_tasks, DecodeError, 1),
    ],
    ids=[
        *("endless", "gzip-bomb", "deep-json", "deep-json-create", "float-total"),
        *("huge-total", "same-item", "same-page", "oversized-page"),
    ],
)  # fmt: skip
async def test_every_hostile_answer_ends_in_a_typed_error_within_bounds(
    hostile: tuple[Hostile, str],
    answer: Answer,
    call: Callable[[TuyaClient], Awaitable[Any]],
    error: type[TuyaError] | None,
    max_calls: int,
) -> None:
    server, base_url = hostile
    server.answer = answer
    async with client_for(base_url, max_body_bytes=1_000_000) as client:
        if error is None:
            await call(client)
        else:
            with pytest.raises(error) as caught:
                await call(client)
            no_secrets(caught.value)
        assert server.calls <= max_calls
        if isinstance(error, type) and issubclass(error, OutcomeUnknownError):
            assert caught.value.identifiers["worker_id"] == "w1"
        server.answer = server.empty_page
        assert (await list_tasks(client)).total == 0, "the client still works"


@pytest.mark.parametrize(
    "grant",
    [
        {"access_token": "bad\r\nX-Injected: 1", "refresh_token": REFRESH, "expire_time": 7200},
        {"access_token": "nul\x00", "refresh_token": REFRESH, "expire_time": 7200},
        {"access_token": ACCESS, "refresh_token": "é", "expire_time": 7200},
        {"access_token": ACCESS, "refresh_token": REFRESH, "expire_time": 10**30},
    ],
)
async def test_a_token_that_cannot_travel_in_a_header_is_refused(
    hostile: tuple[Hostile, str], grant: dict[str, Any]
) -> None:
    server, base_url = hostile
    server.grant_result = grant
    async with client_for(base_url) as client:
        with pytest.raises(DecodeError):
            await list_tasks(client)
        assert server.calls == 0


@pytest.mark.parametrize("t", ["5", "9" * 4000, "-1700000000000", "1e30"])
async def test_an_implausible_server_time_is_never_adopted(
    hostile: tuple[Hostile, str], t: str
) -> None:
    server, base_url = hostile
    bad_time = '{"success":false,"code":1013,"msg":"time","t":' + t + "}"
    server.answer = raw(bad_time)
    async with client_for(base_url) as client:
        with pytest.raises(TuyaError):
            await list_tasks(client)
        assert abs(client.clock_offset_ms) < 5_000
        server.answer = server.empty_page
        assert (await list_tasks(client)).total == 0


async def test_secrets_echoed_by_the_server_never_reach_an_error(
    hostile: tuple[Hostile, str],
) -> None:
    server, base_url = hostile
    echo = f"bad token {ACCESS} / {REFRESH} / {SECRET}"
    answers = [
        raw(json.dumps({"success": False, "code": 1106, "msg": echo})),
        raw(f"<html>{echo}</html>", status=502),
        raw(json.dumps({"success": True, "result": {"total": "x", "access_token": ACCESS}})),
        raw('{"success":true,"result":{"refresh_token":"' + REFRESH + '\\"tail"}, "x": 1'),
    ]
    async with client_for(base_url, retry=RetryPolicy(max_retries=0)) as client:
        for answer in answers:
            server.answer = answer
            with pytest.raises(TuyaError) as caught:
                await list_tasks(client)
            no_secrets(caught.value)


async def test_a_transport_error_keeps_aiohttps_request_out_of_the_chain(
    hostile: tuple[Hostile, str],
) -> None:
    server, base_url = hostile

    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    server.answer = drop
    async with client_for(base_url) as client:
        with pytest.raises(tuyaio.TransportError) as caught:
            await list_tasks(client)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    no_secrets(caught.value)


async def test_messages_are_bounded(hostile: tuple[Hostile, str]) -> None:
    server, base_url = hostile
    server.answer = raw(json.dumps({"success": False, "code": 1106, "msg": "x" * 5_000_000}))
    async with client_for(base_url) as client:
        with pytest.raises(tuyaio.PermissionDeniedError) as caught:
            await list_tasks(client)
    assert len(str(caught.value)) < 1_000


def every_error() -> list[TuyaError]:
    where = {"method": "GET", "route": "/v1.0/x/{id}"}
    errors: list[TuyaError] = [
        tuyaio.RateLimitedError(code=1199, msg="slow", tid="t", retry_after=2.0, **where),
        tuyaio.UnexpectedResponseError(detail="html", http_status=502, body_excerpt="<p>", **where),
        tuyaio.DecodeError(errors=("bad @ result",), body_excerpt="{}", **where),
        OutcomeUnknownError(identifiers={"worker_id": "w"}, reason="timeout", attempts=3, **where),
    ]
    for name in tuyaio.__all__:
        kind = getattr(tuyaio, name)
        if isinstance(kind, type) and issubclass(kind, TuyaError):
            errors.append(kind(attempts=2, elapsed_s=1.5, **where))
    return errors


@pytest.mark.parametrize("error", every_error(), ids=lambda error: type(error).__name__)
def test_every_error_pickles_and_copies_with_its_fields(error: TuyaError) -> None:
    for twin in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error), copy.copy(error)):
        assert type(twin) is type(error)
        assert str(twin) == str(error)
        fields = [a.name for a in attrs.fields(type(error))]
        assert [getattr(twin, f) for f in fields] == [getattr(error, f) for f in fields]
        assert repr(twin) == repr(error)
