"""``tuyaio demo``: one working day on the built-in sandbox, no credentials, no network.

Knowing only its credentials, a facilities team looks up its project, workers, rooms and devices
in the directory, opens maintenance tasks with them, walks the task list and accepts the finished
work in one concurrent batch; a lighting contractor is authorized for some rooms and the
authorization is cancelled; then the read routes start failing and the client's retries carry a
batch through. Every step goes through the public API, and the summary counts what it cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from .. import batch
from ..jsondata import to_json_data
from ..models import AuthorizationStatus, DeviceType, MaintenanceStatus, RoomType
from ..retry import RetryPolicy
from .argtypes import non_negative_float, positive_int, probability
from .failures import ExitCode
from .output import Format, Output, add_format_flags, show
from .settings import Subparsers, connect

__all__ = ["register", "run_demo"]

_NEW_TASKS = 3
_READS = {
    "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}",
    "GET /v2.0/illumination/construction/task/rooms",
}
_RETRY = RetryPolicy(max_retries=8, base_delay=0.05, max_delay=1.0)
"""Short waits, so the demo does not idle through its faults, and 8 retries: at the default 20 %
fault rate a read fails all 9 attempts once in two million (with the default 4 retries, one of 200
reads failed in about 6 % of runs, and the demo with it)."""


def register(commands: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``demo``."""
    about = "run a day's workflow on the built-in sandbox (no credentials, no network)"
    demo = commands.add_parser("demo", parents=parents, help=about, description=about)
    for flag, kind, default, help_text in (
        ("--latency-ms", non_negative_float, 15.0, "sandbox latency per request, plus 0-10 jitter"),
        ("--fail-rate", probability, 0.2, "share of reads that fail in the retry step"),
        ("--tasks", positive_int, 500, "seeded tasks"),
        ("--rooms", positive_int, 2000, "seeded rooms"),
        ("--batch", positive_int, 200, "reads in the retry step"),
        ("--concurrency", positive_int, 32, "of the batches"),
    ):
        help_text += f" (default {default})"
        demo.add_argument(flag, type=kind, default=default, metavar="N", help=help_text)
    add_format_flags(demo, lines=False)
    demo.set_defaults(handler=_demo)


class DemoCheckFailed(Exception):
    """The sandbox answered, but not what the workflow expects."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DemoCheckFailed(message)


async def _demo(args: argparse.Namespace, out: Output) -> int:
    try:
        summary = await run_demo(args, out)
    except DemoCheckFailed as failure:
        if out.format is Format.JSON:
            out.document({"ok": False, "error": f"demo check failed: {failure}", "exit_code": 1})
        print(f"tuyaio: demo check failed: {failure}", file=sys.stderr)
        return ExitCode.API_ERROR
    if out.format is Format.TABLE:
        _print_summary(out, summary)
    else:
        out.document(summary)
    return ExitCode.OK


async def run_demo(args: argparse.Namespace, out: Output) -> dict[str, Any]:
    """Run the workflow on a fresh in-process sandbox; return the summary as JSON-ready data."""
    from ..sandbox import FAULT_HTTP_502, FAULT_HTTP_503, FaultConfig, Sandbox, SandboxConfig

    jitter = min(10.0, args.latency_ms)
    config = SandboxConfig(
        latency_ms=args.latency_ms, latency_jitter_ms=jitter, tasks=args.tasks, rooms=args.rooms
    )
    started = time.perf_counter()
    steps: list[dict[str, Any]] = []
    async with Sandbox(config) as sandbox:
        ids = {"client_id": sandbox.client_id, "secret": sandbox.secret}
        client = connect(args, **ids, base_url=sandbox.base_url, retry=_RETRY)
        tasks, lighting, directory = client.maintenance, client.construction, client.directory

        @contextmanager
        def step(name: str) -> Iterator[dict[str, Any]]:
            """Record a step: its name, its ``result`` (set by the caller), requests and time."""
            attempts, begun = client.stats.attempts, time.perf_counter()
            entry: dict[str, Any] = {"name": name, "result": ""}
            steps.append(entry)
            out.progress(f"step {len(steps)}: {name}…")
            yield entry
            entry["requests"] = client.stats.attempts - attempts
            entry["seconds"] = round(time.perf_counter() - begun, 3)
            out.progress(f"step {len(steps)}: {entry['result']}")

        async with client:
            with step("look up the IDs (directory)") as done:
                projects = await directory.list_projects(page_size=1)
                sites = await directory.list_lighting_projects(page_size=1)
                _check(bool(projects.items and sites.items), "no project listed")
                project, site = projects.items[0].project_id, sites.items[0].project_id
                workers = [w.worker_id async for w in directory.iter_workers(limit=_NEW_TASKS)]
                rooms = [r.room_id async for r in directory.iter_rooms(project, limit=_NEW_TASKS)]
                devices = {}
                for room_id in rooms:
                    devices[room_id] = [
                        d.device_id async for d in directory.iter_room_devices(room_id)
                    ]
                _check(len(workers) == len(rooms) == _NEW_TASKS, "too few workers or rooms")
                done["result"] = (
                    f"project {project}: {len(workers)} workers, {len(rooms)} rooms with "
                    f"{sum(map(len, devices.values()))} devices; lighting project {site}"
                )

            with step("open maintenance tasks") as done:
                created = [
                    await tasks.create_task(project, worker_id=worker, rooms={room: devices[room]})
                    for worker, room in zip(workers, rooms, strict=True)
                ]
                done["result"] = f"{len(created)} tasks for {len(workers)} workers"

            with step("walk the task list") as done, out.meter("tasks") as update:
                by_status: Counter[str] = Counter()
                pending: list[str] = []
                async with tasks.iter_tasks(project, page_size=50) as pager:
                    async for page in pager.pages():
                        for task in page.items:
                            by_status[show(task.status)] += 1
                            if task.status is MaintenanceStatus.PENDING_ACCEPTANCE:
                                pending.append(task.task_id)
                        update(by_status.total(), page.total)
                listed = by_status.total()
                _check(listed == args.tasks + len(created), f"listed {listed} tasks")
                done["result"] = f"{listed} tasks in pages of 50; {len(pending)} await acceptance"

            with step("accept the finished work (batch)") as done:
                accept = partial(tasks.accept_task, project)
                outcomes = await batch.run(accept, pending, concurrency=args.concurrency)
                _check(all(o.ok and o.result for o in outcomes), "an acceptance failed")
                sample = await tasks.get_task(project, pending[0])
                _check(sample.status is MaintenanceStatus.ACCEPTANCE_COMPLETE, "not accepted")
                done["result"] = f"{len(outcomes)} accepted, {args.concurrency} at a time"

            with step("authorize a lighting contractor") as done:
                free = AuthorizationStatus.NOT_AUTHORIZED
                async with lighting.iter_rooms(site, authorization_status=free) as site_rooms:
                    picked = [r.room_id async for r in site_rooms if r.room_type is RoomType.ROOM][
                        :4
                    ]
                start = datetime.now(UTC).replace(microsecond=0)
                saved = await lighting.create_record(
                    site,
                    user_account="lighting-team@example.com",
                    country_code="86",
                    operator_name="James",
                    start_time=start,
                    end_time=start + timedelta(hours=8),
                    device_types=[DeviceType.LIGHT, DeviceType.GATEWAY],
                    remark="tuyaio demo",
                    room_ids=picked,
                )
                _check(saved.success and saved.record_id is not None, "record not saved")
                record = await lighting.get_record(str(saved.record_id))
                _check({room.room_id for room in record.rooms} == set(picked), "other rooms")
                done["result"] = f"record {record.record_id} for {len(picked)} free rooms"

            with step("cancel the authorization") as done:
                cancelled = await lighting.cancel_authorization(record.record_id)
                status = (await lighting.get_record(record.record_id)).authorization_status
                _check(cancelled and status is AuthorizationStatus.CANCELLED, "not cancelled")
                done["result"] = f"record is now {show(status)}"

            with step(f"read through {args.fail_rate:.0%} faults (batch)") as done:
                retries, faults = client.stats.retries, sum(sandbox.state.faults.values())
                # Gateway pages: retried up to max_retries (an envelope 500 only twice).
                kinds = {FAULT_HTTP_502, FAULT_HTTP_503}
                sandbox.configure(
                    faults=FaultConfig(rate=args.fail_rate, routes=_READS, kinds=kinds)
                )
                reads = [pending[n % len(pending)] for n in range(args.batch)]
                with out.meter("reads under faults") as update:
                    results = await batch.run(
                        partial(tasks.get_task, project),
                        reads,
                        concurrency=args.concurrency,
                        progress=lambda p: update(p.done, p.total),
                    )
                sandbox.configure(faults=FaultConfig())
                ok = sum(result.ok for result in results)
                failed = next((r.error for r in results if not r.ok), None)
                _check(failed is None, f"{len(reads) - ok} reads failed despite retries: {failed}")
                injected = sum(sandbox.state.faults.values()) - faults
                done["result"] = f"{ok}/{len(reads)} ok through {injected} injected faults"
        return {
            "ok": True,
            "sandbox": {"base_url": sandbox.base_url, "latency_ms": args.latency_ms}
            | {"fail_rate": args.fail_rate, "tasks": args.tasks, "rooms": args.rooms},
            "steps": steps,
            "directory": {"project": project, "lighting_project": site}
            | {"workers": workers, "rooms": devices},
            "maintenance": {"created": created, "listed": listed, "by_status": by_status}
            | {"accepted": len(outcomes)},
            "construction": {"record": to_json_data(record), "status_after_cancel": status},
            "faults": {"calls": len(reads), "ok": ok, "faults_injected": injected}
            | {"retries": client.stats.retries - retries},
            "totals": {
                "seconds": round(time.perf_counter() - started, 3),
                "requests": client.stats.attempts,
                "retries": client.stats.retries,
                "token_grants": client.stats.token_grants,
                "server_requests": sandbox.state.requests,
            },
        }


def _print_summary(out: Output, summary: dict[str, Any]) -> None:
    sandbox, totals = summary["sandbox"], summary["totals"]
    out.say(
        f"tuyaio demo: the built-in sandbox at {sandbox['base_url']} ({sandbox['latency_ms']:g} "
        f"ms latency, {sandbox['tasks']} tasks, {sandbox['rooms']} rooms)\n\n"
    )
    rows = [
        (n, step["name"], step["result"], step["requests"], f"{step['seconds'] * 1000:.0f}")
        for n, step in enumerate(summary["steps"], start=1)
    ]
    out.table(("#", "step", "result", "requests", "ms"), rows, "Workflow")
    out.say(
        f"Totals: {totals['seconds']:.2f} s, {totals['requests']} requests "
        f"({totals['retries']} retries), {totals['token_grants']} token grant(s)\n"
    )
