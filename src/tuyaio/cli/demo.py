"""``tuyaio demo``: the whole library at work on the built-in sandbox, no credentials, no network.

It starts the sandbox in-process (with a little latency, so timings look like a real cloud) and
drives it through the public API only: create, stream, accept, reopen and delete maintenance
tasks; authorise rooms for a construction team, stream rooms by authorization status, read and
cancel the record; then a batch of concurrent detail calls. Every step checks its outcome, and the
summary says what was done, how long it took, how many requests were made and tokens granted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from rich import box
from rich.table import Table
from rich.text import Text

from .. import batch
from ..client import TuyaClient
from ..errors import ApiError, NotFoundError
from ..models import (
    AuthorizationStatus,
    DeviceType,
    MaintenanceStatus,
    MaintenanceTaskDetail,
    RoomType,
)
from .argtypes import non_negative_float, positive_int, probability
from .commands import Subparsers
from .failures import ExitCode
from .output import Format, Output, add_format_flags
from .render import show, to_data

if TYPE_CHECKING:
    from ..sandbox import Sandbox, SandboxConfig

__all__ = ["DemoCheckFailed", "register", "run_demo"]

_WORKERS = ("1306411812723001", "1306411812723002", "1306411812723003")
_ACCEPT = 3
_PICK_ROOMS = 4


class DemoCheckFailed(Exception):
    """The sandbox answered, but not with what the workflow expects."""


def register(commands: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``demo``."""
    demo = commands.add_parser(
        "demo",
        parents=parents,
        help="run a full workflow on the built-in sandbox (no credentials, no network)",
        description="Start the built-in sandbox in this process and run a realistic workflow "
        "through the public API, then print a summary.",
    )
    demo.add_argument(
        "--latency-ms",
        type=non_negative_float,
        default=15.0,
        metavar="MS",
        help="sandbox latency per request (default 15, plus up to 10 of jitter)",
    )
    demo.add_argument(
        "--fail-rate",
        type=probability,
        default=0.02,
        metavar="P",
        help="share of read requests answered with a server fault, to show retries (default 0.02)",
    )
    demo.add_argument(
        "--tasks", type=positive_int, default=500, metavar="N", help="seeded tasks (default 500)"
    )
    demo.add_argument(
        "--rooms", type=positive_int, default=2000, metavar="N", help="seeded rooms (default 2000)"
    )
    demo.add_argument(
        "--batch", type=positive_int, default=200, metavar="N", help="detail calls (default 200)"
    )
    demo.add_argument(
        "--concurrency", type=positive_int, default=32, metavar="N", help="of the batch"
    )
    add_format_flags(demo, lines=False)
    demo.set_defaults(handler=_demo)


@attrs.define
class Step:
    """One step of the workflow: what was done, with how many requests, in how long."""

    name: str
    result: str
    requests: int
    seconds: float


@attrs.define
class _Steps:
    client: TuyaClient
    items: list[Step] = attrs.field(factory=list)
    _attempts: int = 0
    _started: float = attrs.field(factory=time.perf_counter)

    def start(self) -> None:
        self._attempts = self.client.stats.attempts
        self._started = time.perf_counter()

    def done(self, name: str, result: str) -> None:
        self.items.append(
            Step(
                name,
                result,
                self.client.stats.attempts - self._attempts,
                time.perf_counter() - self._started,
            )
        )


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DemoCheckFailed(message)


async def _demo(args: argparse.Namespace, out: Output) -> int:
    try:
        summary = await run_demo(args, out)
    except DemoCheckFailed as failure:
        print(f"tuyaio: demo check failed: {failure}", file=sys.stderr)
        return ExitCode.API_ERROR
    if out.format is Format.TABLE:
        _print_summary(out, summary)
    else:
        out.document(summary)
    return ExitCode.OK


def _config(args: argparse.Namespace) -> SandboxConfig:
    from ..sandbox import FAULT_ENVELOPE_500, FAULT_HTTP_503, FaultConfig, SandboxConfig

    read_only = frozenset(
        {
            "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks",
            "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}",
            "GET /v2.0/illumination/construction/task/rooms",
            "GET /v2.0/illumination/construction/task/record/{record_id}",
        }
    )
    kinds: Any = frozenset(
        {FAULT_ENVELOPE_500, FAULT_HTTP_503}
    )  # Any: mypy cannot type the frozenset converter
    return SandboxConfig(
        latency_ms=args.latency_ms,
        latency_jitter_ms=min(10.0, args.latency_ms),
        tasks=args.tasks,
        rooms=args.rooms,
        faults=FaultConfig(
            rate=args.fail_rate,
            kinds=kinds,
            routes=read_only,
        ),
    )


async def run_demo(args: argparse.Namespace, out: Output) -> dict[str, Any]:
    """Run the workflow on a fresh in-process sandbox; return the summary as JSON-ready data."""
    from ..sandbox import Sandbox

    started = time.perf_counter()
    async with (
        Sandbox(_config(args)) as sandbox,
        TuyaClient(sandbox.client_id, sandbox.secret, base_url=sandbox.base_url) as client,
    ):
        steps = _Steps(client)
        maintenance = await _maintenance(client, sandbox, steps, out)
        construction = await _construction(client, sandbox, steps, out)
        batch_summary = await _batch(client, sandbox, steps, out, args, maintenance)
        stats = client.stats
        totals = {
            "seconds": round(time.perf_counter() - started, 3),
            "requests": stats.attempts,
            "retries": stats.retries,
            "token_grants": stats.token_grants,
            "token_refreshes": stats.token_refreshes,
            "server_requests": sandbox.state.requests,
            "server_faults_injected": sum(sandbox.state.faults.values()),
        }
        return {
            "ok": True,
            "sandbox": {
                "base_url": sandbox.base_url,
                "latency_ms": args.latency_ms,
                "fail_rate": args.fail_rate,
                "tasks": args.tasks,
                "rooms": args.rooms,
            },
            "steps": [to_data(step) for step in steps.items],
            "maintenance": {key: value for key, value in maintenance.items() if key != "ids"},
            "construction": construction,
            "batch": batch_summary,
            "totals": totals,
        }


async def _maintenance(
    client: TuyaClient, sandbox: Sandbox, steps: _Steps, out: Output
) -> dict[str, Any]:
    project = sandbox.project_id
    tasks = client.maintenance

    steps.start()
    created = [
        await tasks.create_task(
            project,
            worker_id=worker,
            rooms={f"room-{n}01": [f"light-{n}01", f"light-{n}02"], f"room-{n}02": [f"sw-{n}01"]},
        )
        for n, worker in enumerate(_WORKERS, start=1)
    ]
    steps.done("create maintenance tasks", f"{len(created)} tasks: {', '.join(created)}")

    steps.start()
    by_status: Counter[str] = Counter()
    pending: list[str] = []
    ids: list[str] = []
    with out.meter("streaming tasks") as meter:
        async with tasks.iter_tasks(project, page_size=50) as pager:
            async for page in pager.pages():
                for task in page.items:
                    by_status[show(task.status)] += 1
                    ids.append(task.task_id)
                    if task.status is MaintenanceStatus.PENDING_ACCEPTANCE:
                        pending.append(task.task_id)
                meter.update(len(ids), page.total)
    pending = pending[:_ACCEPT]
    _check(set(created) <= set(ids), "the created tasks are not in the listing")
    _check(len(pending) == _ACCEPT, "no tasks pending acceptance in the listing")
    steps.done("stream the task listing", f"{len(ids)} tasks in pages of 50, newest first")

    steps.start()
    for task_id in pending:
        _check(await tasks.accept_task(project, task_id), f"accept {task_id} answered false")
    reopened = pending[:1]
    for task_id in reopened:
        _check(await tasks.reopen_task(project, task_id), f"reopen {task_id} answered false")
    after: list[MaintenanceTaskDetail] = [await tasks.get_task(project, t) for t in pending]
    expected = dict.fromkeys(pending, MaintenanceStatus.ACCEPTANCE_COMPLETE)
    expected.update(dict.fromkeys(reopened, MaintenanceStatus.PENDING_MAINTENANCE))
    for detail in after:
        _check(detail.status is expected[detail.task_id], f"task {detail.task_id} status")
    steps.done(
        "accept and reopen",
        f"accepted {len(pending)} pending acceptance, reopened {len(reopened)}",
    )

    steps.start()
    deleted = created[-1]
    _check(await tasks.delete_task(project, deleted), "delete answered false")
    try:
        await tasks.get_task(project, deleted)
    except NotFoundError as error:
        lookup = f"{type(error).__name__} (code {error.code})"
    else:
        raise DemoCheckFailed(f"task {deleted} is still there after delete")
    steps.done("delete a task", f"deleted {deleted}; reading it again: {lookup}")

    return {
        "created": created,
        "listed": len(ids),
        "by_status": dict(by_status.most_common()),
        "accepted": pending,
        "reopened": reopened,
        "statuses_after": {d.task_id: to_data(d.status) for d in after},
        "deleted": deleted,
        "lookup_after_delete": lookup,
        "ids": [task_id for task_id in ids if task_id != deleted],
    }


async def _count_rooms(
    client: TuyaClient, project: str, status: AuthorizationStatus, out: Output, picks: int
) -> tuple[int, list[str]]:
    count, picked = 0, list[str]()
    with out.meter(f"streaming {show(status)} rooms") as meter:
        async with client.construction.iter_rooms(
            project, authorization_status=[status], page_size=250
        ) as pager:
            async for page in pager.pages():
                for room in page.items:
                    count += 1
                    if room.room_type is RoomType.ROOM and len(picked) < picks:
                        picked.append(room.room_id)
                meter.update(count, page.total)
    return count, picked


async def _construction(
    client: TuyaClient, sandbox: Sandbox, steps: _Steps, out: Output
) -> dict[str, Any]:
    project = sandbox.lighting_project_id
    records = client.construction

    steps.start()
    free, picked = await _count_rooms(
        client, project, AuthorizationStatus.NOT_AUTHORIZED, out, _PICK_ROOMS
    )
    _check(len(picked) == _PICK_ROOMS, "not enough unauthorised rooms")
    steps.done("stream rooms not authorised", f"{free} rooms; picked {len(picked)} to authorise")

    steps.start()
    start = datetime.now(UTC).replace(microsecond=0)
    created = await records.create_record(
        project,
        user_account="lighting-team@example.com",
        country_code="86",
        operator_name="James",
        start_time=start,
        end_time=start + timedelta(hours=8),
        device_types=[DeviceType.LIGHT, DeviceType.GATEWAY],
        remark="tuyaio demo",
        room_ids=picked,
    )
    steps.done("create an authorization record", f"record {created.record_id}")

    steps.start()
    authorised, _ = await _count_rooms(client, project, AuthorizationStatus.AUTHORIZED, out, 0)
    detail = await records.get_record(created.record_id)
    _check({room.room_id for room in detail.rooms} == set(picked), "the record lists other rooms")
    _check(detail.authorization_status is AuthorizationStatus.AUTHORIZED, "not authorised")
    steps.done(
        "stream authorised rooms, read the record",
        f"{authorised} authorised rooms; record covers {len(detail.rooms)}",
    )

    steps.start()
    _check(await records.cancel_authorization(created.record_id), "cancel answered false")
    cancelled = await records.get_record(created.record_id)
    _check(cancelled.authorization_status is AuthorizationStatus.CANCELLED, "record not cancelled")
    steps.done("cancel the authorization", f"record is now {show(cancelled.authorization_status)}")

    return {
        "rooms_not_authorized": free,
        "rooms_authorized_after_create": authorised,
        "record": to_data(detail),
        "status_after_cancel": to_data(cancelled.authorization_status),
    }


async def _batch(
    client: TuyaClient,
    sandbox: Sandbox,
    steps: _Steps,
    out: Output,
    args: argparse.Namespace,
    maintenance: dict[str, Any],
) -> dict[str, Any]:
    project = sandbox.project_id
    ids: list[str] = [*maintenance["ids"][: args.batch - 1], maintenance["deleted"]]

    async def detail(task_id: str) -> MaintenanceTaskDetail:
        return await client.maintenance.get_task(project, task_id)

    steps.start()
    started = time.perf_counter()
    with out.meter("batch of detail calls") as meter:
        outcomes = await batch.run(
            detail,
            ids,
            concurrency=args.concurrency,
            progress=lambda p: meter.update(p.done, p.total),
        )
    seconds = time.perf_counter() - started
    errors = Counter(
        f"{type(o.error).__name__} {o.error.code}"
        if isinstance(o.error, ApiError)
        else type(o.error).__name__
        for o in outcomes
        if o.error is not None
    )
    ok = sum(outcome.ok for outcome in outcomes)
    _check(ok == len(ids) - 1, f"{len(ids) - ok} detail calls failed, expected 1")
    steps.done(
        "batch of concurrent detail calls",
        f"{ok} ok, {len(ids) - ok} failed as expected (the deleted task), "
        f"{len(ids) / seconds:.0f} calls/s",
    )
    return {
        "calls": len(ids),
        "ok": ok,
        "failed": len(ids) - ok,
        "errors": dict(errors),
        "concurrency": args.concurrency,
        "max_in_flight_at_server": sandbox.state.max_in_flight,
        "seconds": round(seconds, 3),
    }


def _print_summary(out: Output, summary: dict[str, Any]) -> None:
    console = out.console
    sandbox, totals = summary["sandbox"], summary["totals"]
    console.print(
        f"[bold]tuyaio demo[/bold]: the built-in sandbox at {sandbox['base_url']} "
        f"({sandbox['latency_ms']:g} ms latency, {sandbox['fail_rate']:.0%} read faults, "
        f"{sandbox['tasks']} tasks, {sandbox['rooms']} rooms)\n"
    )
    steps = Table(title="Workflow", box=box.SIMPLE_HEAD, title_justify="left")
    steps.add_column("#", justify="right")
    steps.add_column("step")
    steps.add_column("result", overflow="fold")
    steps.add_column("requests", justify="right")
    steps.add_column("ms", justify="right")
    for number, step in enumerate(summary["steps"], start=1):
        steps.add_row(
            str(number),
            step["name"],
            Text(step["result"]),
            str(step["requests"]),
            f"{step['seconds'] * 1000:.0f}",
        )
    console.print(steps)

    statuses = Table(title="Tasks by status", box=box.SIMPLE_HEAD, title_justify="left")
    statuses.add_column("status")
    statuses.add_column("tasks", justify="right")
    for status, count in summary["maintenance"]["by_status"].items():
        statuses.add_row(status, str(count))
    console.print(statuses)

    record = summary["construction"]["record"]
    detail = Table(
        title="Authorization record", box=box.SIMPLE, show_header=False, title_justify="left"
    )
    detail.add_column(style="bold")
    detail.add_column(overflow="fold")
    rooms = ", ".join(f"{room['room_name']} ({room['room_id']})" for room in record["rooms"])
    names = ", ".join(str(kind["name"]) for kind in record["device_types"])
    for label, value in (
        ("record id", record["record_id"]),
        (
            "operator",
            f"{record['operator_name']} (+{record['country_code']} {record['user_account']})",
        ),
        ("window", f"{record['start_time']} -> {record['end_time']}"),
        ("rooms", rooms),
        ("device types", names),
        ("after cancel", show(AuthorizationStatus(summary["construction"]["status_after_cancel"]))),
    ):
        detail.add_row(label, Text(value))
    console.print(detail)

    result = summary["batch"]
    console.print(
        f"[bold]Batch[/bold]: {result['calls']} get_task calls, concurrency "
        f"{result['concurrency']}: {result['ok']} ok, {result['failed']} failed "
        f"({', '.join(f'{k} x{v}' for k, v in result['errors'].items())}) "
        f"in {result['seconds'] * 1000:.0f} ms"
    )
    grants = f"{totals['token_grants']} token grant{'' if totals['token_grants'] == 1 else 's'}"
    console.print(
        f"[bold]Totals[/bold]: {totals['seconds']:.2f} s, {totals['requests']} requests "
        f"({totals['retries']} retries after {totals['server_faults_injected']} injected "
        f"faults), {grants}, "
        f"{totals['server_requests']} requests seen by the sandbox"
    )
