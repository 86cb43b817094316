"""``tuyaio maintenance list|get|create|accept|reopen|delete``: one command per method of
``client.maintenance``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..client import TuyaClient
from .argtypes import id_text, room_spec
from .commands import Subparsers, connect
from .failures import ExitCode, UsageError
from .output import Output, add_format_flags, add_listing_flags, paging
from .render import TASK_COLUMNS, task_rows

__all__ = ["register"]


def register(commands: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``maintenance`` and its actions."""
    group = commands.add_parser(
        "maintenance",
        help="Smart Engineering maintenance tasks (v1.0)",
        description="Smart Engineering maintenance tasks: client.maintenance.*",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list", parents=parents, help="stream every task, newest first (iter_tasks)"
    )
    _project(listing)
    add_listing_flags(listing, max_page_size=99, default_page_size=99)
    add_format_flags(listing, lines=True)
    listing.set_defaults(handler=_list)

    get = actions.add_parser("get", parents=parents, help="one task with its rooms (get_task)")
    _project(get)
    _task(get)
    add_format_flags(get, lines=False)
    get.set_defaults(handler=_get)

    create = actions.add_parser("create", parents=parents, help="create a task (create_task)")
    _project(create)
    create.add_argument("--worker-id", type=id_text, required=True, metavar="W")
    create.add_argument(
        "--room",
        type=room_spec,
        action="append",
        required=True,
        metavar="ROOM_ID=DEV1,DEV2",
        help="a room and its devices; repeat for more rooms",
    )
    add_format_flags(create, lines=False)
    create.set_defaults(handler=_create)

    for name, help_text in (
        ("accept", "accept a task pending acceptance (accept_task)"),
        ("reopen", "send a task back to maintenance (reopen_task)"),
        ("delete", "delete a task (delete_task)"),
    ):
        action = actions.add_parser(name, parents=parents, help=help_text)
        _project(action)
        _task(action)
        add_format_flags(action, lines=False)
        action.set_defaults(handler=_act)


def _project(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project_id", type=id_text, metavar="PROJECT_ID")


def _task(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task_id", type=id_text, metavar="TASK_ID")


async def _list(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        pager = client.maintenance.iter_tasks(args.project_id, **paging(args))
        await out.listing(pager, TASK_COLUMNS, noun="tasks", limit=args.limit)
    return ExitCode.OK


async def _get(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        task = await client.maintenance.get_task(args.project_id, args.task_id)
    out.detail(task, task_rows(task), title=f"maintenance task {task.task_id}")
    return ExitCode.OK


async def _create(args: argparse.Namespace, out: Output) -> int:
    rooms: dict[str, tuple[str, ...]] = {}
    for room_id, device_ids in args.room:
        if room_id in rooms:
            raise UsageError(f"--room {room_id} is given twice; list all its devices once")
        rooms[room_id] = device_ids
    async with connect(args) as client:
        task_id = await client.maintenance.create_task(
            args.project_id, worker_id=args.worker_id, rooms=rooms
        )
    out.result({"task_id": task_id}, f"created task {task_id}")
    return ExitCode.OK


_PAST = {"accept": "accepted", "reopen": "reopened", "delete": "deleted"}


async def _call(client: TuyaClient, action: str, project_id: str, task_id: str) -> bool:
    if action == "accept":
        return await client.maintenance.accept_task(project_id, task_id)
    if action == "reopen":
        return await client.maintenance.reopen_task(project_id, task_id)
    return await client.maintenance.delete_task(project_id, task_id)


async def _act(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        ok = await _call(client, args.action, args.project_id, args.task_id)
    past = _PAST[args.action]
    out.result(
        {"task_id": args.task_id, "action": args.action, "result": ok},
        f"{past} task {args.task_id}" if ok else f"the server answered false: not {past}",
    )
    if not ok:
        print(f"tuyaio: task {args.task_id} was not {past} (result false)", file=sys.stderr)
        return ExitCode.API_ERROR
    return ExitCode.OK
