"""Fuzzed public inputs: each call either sends a request the sandbox verifies, or is refused
with ValueError/TypeError before any I/O. The named refusals of each entry point are tables in
test_client_core.py, test_maintenance.py and test_construction.py."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tuyaio import (
    ApiError,
    AuthorizationStatus,
    DeviceType,
    SignatureError,
    Timeout,
    TokenBucket,
    TuyaClient,
)
from tuyaio.sandbox import Sandbox, SandboxConfig
from tuyaio.validation import MAX_PREFETCH


class ThreadedSandbox:
    """A sandbox serving from its own thread and event loop, shared by many examples."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.sandbox = Sandbox(SandboxConfig(tasks=20, rooms=60, records=10))
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.sandbox.start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.sandbox.stop())

    def __enter__(self) -> Sandbox:
        self.thread.start()
        assert self.ready.wait(10)
        return self.sandbox

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    with ThreadedSandbox() as sandbox:
        yield sandbox


def outcome(sandbox: Sandbox, call: Callable[[TuyaClient], Awaitable[Any]]) -> None:
    """Run one call; refused inputs must send nothing, sent ones must verify at the sandbox."""

    async def run() -> None:
        async with TuyaClient(sandbox.client_id, sandbox.secret, base_url=sandbox.base_url) as c:
            await c.maintenance.list_tasks(sandbox.project_id, page_size=1)  # token in hand
            before = sandbox.state.requests
            failure: Exception | None = None
            try:
                await call(c)
            except Exception as error:  # sorted out below
                failure = error
            if isinstance(failure, (ValueError, TypeError)):
                assert sandbox.state.requests == before, "refused input must send nothing"
            elif isinstance(failure, ApiError) and not isinstance(failure, SignatureError):
                assert failure.code != 1108, "a path was sent that the server cannot route"
            elif failure is not None:
                raise failure

    asyncio.run(run())


ids = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"[A-Za-z0-9_-]{1,19}", fullmatch=True),
    st.integers(),
    st.none(),
)
sizes = st.one_of(
    st.integers(-5, 10_005), st.floats(allow_nan=True), st.text(max_size=3), st.booleans()
)
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))])
moments = st.one_of(
    st.builds(
        lambda d, z: d.replace(tzinfo=z),
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
        zones,
    ),
    st.text(max_size=5),
    st.none(),
)
statuses = st.one_of(
    st.none(),
    st.integers(-2, 6),
    st.lists(st.one_of(st.integers(-2, 6), st.text(max_size=2), st.booleans()), max_size=4),
)
names = st.one_of(st.none(), st.text(max_size=20), st.integers())

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(project_id=ids, task_id=ids)
def test_fuzzed_task_ids(shared_sandbox: Sandbox, project_id: Any, task_id: Any) -> None:
    outcome(shared_sandbox, lambda c: c.maintenance.get_task(project_id, task_id))


@FUZZ
@given(page=sizes, page_size=sizes, limit=st.one_of(st.none(), st.integers(-1, 3)))
def test_fuzzed_paging(shared_sandbox: Sandbox, page: Any, page_size: Any, limit: Any) -> None:
    project = shared_sandbox.project_id
    outcome(
        shared_sandbox,
        lambda c: c.maintenance.list_tasks(project, page_no=page, page_size=page_size),
    )

    async def walk(c: TuyaClient) -> None:
        async for _ in c.maintenance.iter_tasks(
            project, page_size=page_size, limit=limit, start_page=page
        ):
            pass

    outcome(shared_sandbox, walk)


@FUZZ
@given(auth=statuses, task=statuses, room_name=names, page_size=sizes)
def test_fuzzed_room_filters(
    shared_sandbox: Sandbox, auth: Any, task: Any, room_name: Any, page_size: Any
) -> None:
    project = shared_sandbox.lighting_project_id
    outcome(
        shared_sandbox,
        lambda c: c.construction.list_rooms(
            project,
            page_size=page_size,
            authorization_status=auth,
            task_status=task,
            room_name=room_name,
        ),
    )


@FUZZ
@given(start=moments, end=moments, operator=names, auth=statuses)
def test_fuzzed_record_filters_and_creates(
    shared_sandbox: Sandbox, start: Any, end: Any, operator: Any, auth: Any
) -> None:
    project = shared_sandbox.lighting_project_id
    outcome(
        shared_sandbox,
        lambda c: c.construction.list_records(
            project,
            start_time=start,
            end_time=end,
            operator_name=operator,
            authorization_status=auth,
        ),
    )
    outcome(
        shared_sandbox,
        lambda c: c.construction.create_record(
            project,
            user_account="a",
            country_code="86",
            operator_name=operator,
            start_time=start,
            end_time=end,
            device_types=auth,
        ),
    )


END = datetime(2030, 2, 1, tzinfo=UTC)


def test_the_largest_prefetch_and_plain_enum_values_still_work(shared_sandbox: Sandbox) -> None:
    project = shared_sandbox.project_id
    lighting = shared_sandbox.lighting_project_id

    async def run() -> None:
        async with TuyaClient(
            shared_sandbox.client_id, shared_sandbox.secret, base_url=shared_sandbox.base_url
        ) as c:
            tasks = [
                task async for task in c.maintenance.iter_tasks(project, prefetch=MAX_PREFETCH)
            ]
            assert len(tasks) == 20
            rooms = await c.construction.list_rooms(
                lighting, authorization_status=[0, AuthorizationStatus.AUTHORIZED], task_status=0
            )
            assert rooms.total > 0
            created = await c.construction.create_record(
                lighting,
                user_account="a",
                country_code="1",
                operator_name="op",
                start_time=datetime(1970, 1, 1, tzinfo=UTC),
                end_time=END,
                device_types=[0, DeviceType(1)],
            )
            assert created.success

    asyncio.run(run())


numbers_or_not = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)


def _positive_finite(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@settings(max_examples=200, deadline=None)
@given(value=numbers_or_not)
@example(value=float("nan"))
@example(value=float("inf"))
@example(value=-1)
@example(value=0)
@example(value=0.5)
@example(value=True)
@example(value="5")
@example(value=None)
def test_fuzzed_seconds_and_rates(value: Any) -> None:
    """Every number of seconds or requests per second is taken iff it is finite and above 0."""
    checks: list[tuple[str, Callable[[], object], bool]] = [  # name, make, None allowed
        ("total", lambda: Timeout(total=value), True),
        ("connect", lambda: Timeout(connect=value), True),
        ("timeout", lambda: TuyaClient("i", "s", region="eu", timeout=value), False),
        ("rate_limit", lambda: TuyaClient("i", "s", region="eu", rate_limit=value), True),
        ("rate", lambda: TokenBucket(value), False),
    ]
    for name, make, none_allowed in checks:
        if _positive_finite(value) or (value is None and none_allowed):
            make()
        else:
            with pytest.raises((ValueError, TypeError), match=name):
                make()


header_names = st.one_of(
    st.sampled_from(
        [
            *("client_id", "Access_Token", "SIGN", "sign_method", "t", "Nonce"),
            *("Signature-Headers", "content-type", "area_id", "X-Trace", "lang"),
        ]
    ),
    st.text(max_size=6),
)
header_values = st.one_of(
    st.from_regex(r"[A-Za-z0-9_.-]{1,8}", fullmatch=True), st.text(max_size=6)
)


@FUZZ
@given(headers=st.dictionaries(header_names, header_values, max_size=3))
def test_fuzzed_extra_headers(shared_sandbox: Sandbox, headers: dict[str, str]) -> None:
    path = f"/v1.0/osaas/projects/{shared_sandbox.project_id}/maintenance/tasks"
    outcome(shared_sandbox, lambda c: c.request("GET", path, headers=headers))
