"""``tuyaio maintenance …`` and ``tuyaio construction …``: one command per method of
``client.maintenance`` and ``client.construction``, declared as data.

Every argument is stored under the name of the method's keyword it fills, and a command calls its
method with the arguments given (the library's defaults stand for the others).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import attrs

from ..models import (
    AuthorizationStatus,
    ConstructionRecordDetail,
    CreatedRecord,
    DeviceType,
    MaintenanceTaskDetail,
    TaskStatus,
)
from .argtypes import enum_list, id_text, iso_datetime, positive_int, prefetch, room_spec
from .failures import ExitCode
from .output import Column, Format, Output, add_format_flags
from .settings import Subparsers, connect

__all__ = ["COMMANDS", "Command", "register"]

Arg = tuple[tuple[str, ...], dict[str, Any]]


def _arg(*flags: str, **options: Any) -> Arg:
    return flags, options


Report = Callable[[Output, argparse.Namespace, Any], int]
"""What a command shows of its method's result; returns the exit code."""


@attrs.frozen
class Listing:
    """What a listing command shows: a table of ``noun``, streamed."""

    columns: Sequence[Column]
    noun: str
    default_page_size: int


@attrs.frozen
class Command:
    """A command of a group (``maintenance``): calls ``client.GROUP.METHOD``, then streams the
    listing or reports the result."""

    name: str
    method: str
    help: str
    args: Sequence[Arg]
    shows: Listing | Report


def _task(out: Output, args: argparse.Namespace, task: MaintenanceTaskDetail) -> int:
    rows: list[tuple[str, object]] = [
        ("task id", task.task_id),
        ("status", task.status),
        ("worker", task.worker_username),
        ("nickname", task.worker_nickname),
        ("created (UTC)", task.created_at),
    ]
    rows += [(f"room {room.room_id}", room.device_ids) for room in task.rooms]
    out.detail(task, rows, title=f"maintenance task {task.task_id}")
    return ExitCode.OK


def _record(out: Output, args: argparse.Namespace, record: ConstructionRecordDetail) -> int:
    account = f"+{record.country_code} " if record.country_code else ""
    rows = [
        ("record id", record.record_id),
        ("project id", record.project_id),
        ("operator", record.operator_name),
        ("account", f"{account}{record.user_account or '-'}"),
        ("authorization", record.authorization_status),
        ("task status", record.task_status),
        ("start (UTC)", record.start_time),
        ("end (UTC)", record.end_time),
        ("devices done", f"{record.device_count_finish} of {record.device_count_total}"),
        ("rooms done", f"{record.room_count_finish} of {record.room_count_total}"),
        ("device types", tuple(kind.id for kind in record.device_types)),
        ("rooms", tuple(f"{room.room_name} ({room.room_id})" for room in record.rooms)),
        ("remark", record.remark),
    ]
    out.detail(record, rows, title=f"authorization record {record.record_id}")
    return ExitCode.OK


def _outcome(out: Output, data: dict[str, Any], ok: bool, what: str, past: str) -> int:
    """An action's outcome: ``what`` ("task 1") was ``past`` ("accepted"), or the server said
    it was not (exit code 1)."""
    if ok or out.format is not Format.TABLE:
        out.result(data, f"{past} {what}")
    if ok:
        return ExitCode.OK
    print(f"tuyaio: {what} was not {past} (the server answered false)", file=sys.stderr)
    return ExitCode.API_ERROR


def _done(past: str) -> Report:
    def report(out: Output, args: argparse.Namespace, ok: bool) -> int:
        data = {"task_id": args.task_id, "action": args.action, "result": ok}
        return _outcome(out, data, ok, f"task {args.task_id}", past)

    return report


def _saved(past: str) -> Report:
    def report(out: Output, args: argparse.Namespace, saved: CreatedRecord) -> int:
        data = {"record_id": saved.record_id, "success": saved.success}
        return _outcome(out, data, saved.success, f"authorization record {saved.record_id}", past)

    return report


def _created_task(out: Output, args: argparse.Namespace, task_id: str) -> int:
    return _outcome(out, {"task_id": task_id}, True, f"task {task_id}", "created")


def _cancelled(out: Output, args: argparse.Namespace, ok: bool) -> int:
    data = {"record_id": args.record_id, "cancelled": ok}
    return _outcome(out, data, ok, f"authorization record {args.record_id}", "cancelled")


PROJECT = _arg("project_id", type=id_text, metavar="PROJECT_ID")
TASK = _arg("task_id", type=id_text, metavar="TASK_ID")
RECORD = _arg("record_id", type=id_text, metavar="RECORD_ID")
STATUS_FILTERS = (
    _arg(
        "--authorization-status",
        type=enum_list(AuthorizationStatus),
        metavar="LIST",
        help="comma-separated: not-authorized (0), authorized (1), expired (2), cancelled (3)",
    ),
    _arg(
        "--task-status",
        type=enum_list(TaskStatus),
        metavar="LIST",
        help="comma-separated: not-assigned (0), not-started (1), in-progress (2), "
        "completed (3), postponed (4)",
    ),
)
RECORD_FIELDS = (
    _arg("--project-id", type=id_text, required=True, metavar="P"),
    _arg("--user-account", required=True, metavar="A"),
    _arg("--country-code", required=True, metavar="CC", help="e.g. 86"),
    _arg("--operator-name", required=True, metavar="N"),
    _arg("--start", dest="start_time", type=iso_datetime, required=True, metavar="ISO"),
    _arg("--end", dest="end_time", type=iso_datetime, required=True, metavar="ISO"),
    _arg(
        "--device-types",
        type=enum_list(DeviceType),
        metavar="LIST",
        help="comma-separated: light (0), gateway (1), switch (3), sensor (4)",
    ),
    _arg("--remark", metavar="TEXT"),
    _arg(
        "--room-id",
        dest="room_ids",
        type=id_text,
        action="append",
        metavar="ID",
        help="a room to authorise; repeat for more",
    ),
)
TASKS = Listing(
    (  # of MaintenanceTask
        Column("task id", 19, lambda t: t.task_id),
        Column("status", 20, lambda t: t.status),
        Column("worker", 30, lambda t: t.worker_username),
        Column("nickname", 16, lambda t: t.worker_nickname),
        Column("created (UTC)", 16, lambda t: t.created_at),
    ),
    "tasks",
    default_page_size=99,
)
ROOMS = Listing(
    (  # of Room
        Column("room id", 19, lambda r: r.room_id),
        Column("name", 16, lambda r: r.room_name),
        Column("type", 5, lambda r: r.room_type),
        Column("authorization", 14, lambda r: r.authorization_status),
        Column("task", 12, lambda r: r.task_status),
        Column("online", 6, lambda r: r.device_count_online, "right"),
        Column("done", 5, lambda r: r.device_count_finish, "right"),
        Column("record id", 19, lambda r: r.record_id),
    ),
    "rooms",
    default_page_size=1000,
)
RECORDS = Listing(
    (  # of ConstructionRecord
        Column("record id", 19, lambda r: r.record_id),
        Column("operator", 14, lambda r: r.operator_name),
        Column("account", 22, lambda r: r.user_account),
        Column("authorization", 14, lambda r: r.authorization_status),
        Column("task", 12, lambda r: r.task_status),
        Column("start (UTC)", 16, lambda r: r.start_time),
        Column("end (UTC)", 16, lambda r: r.end_time),
        Column("devices", 7, lambda r: r.device_count, "right"),
        Column("rooms", 24, lambda r: r.room_names),
    ),
    "records",
    default_page_size=1000,
)
NEW_TASK = [
    PROJECT,
    _arg("--worker-id", type=id_text, required=True, metavar="W"),
    _arg(
        "--room",
        dest="rooms",
        type=room_spec,
        action="append",
        required=True,
        metavar="ROOM_ID=DEV1,DEV2",
        help="a room and its devices; repeat for more rooms",
    ),
]
ROOM_FILTERS = [
    PROJECT,
    *STATUS_FILTERS,
    _arg("--room-name", metavar="TEXT", help="rooms whose name contains TEXT"),
]
RECORD_FILTERS = [
    PROJECT,
    *STATUS_FILTERS,
    _arg("--operator-name", metavar="NAME"),
    _arg("--start", dest="start_time", type=iso_datetime, metavar="ISO", help="window overlaps"),
    _arg("--end", dest="end_time", type=iso_datetime, metavar="ISO", help="window overlaps"),
]
IN_TASK = [PROJECT, TASK]
COMMANDS = {
    "maintenance": (
        Command("list", "iter_tasks", "stream every task, newest first", [PROJECT], TASKS),
        Command("get", "get_task", "one task with its rooms", IN_TASK, _task),
        Command("create", "create_task", "create a task", NEW_TASK, _created_task),
        Command(
            "accept", "accept_task", "accept a task pending acceptance", IN_TASK, _done("accepted")
        ),
        Command(
            "reopen", "reopen_task", "send a task back to maintenance", IN_TASK, _done("reopened")
        ),
        Command("delete", "delete_task", "delete a task", IN_TASK, _done("deleted")),
    ),
    "construction": (
        Command(
            "rooms", "iter_rooms", "stream floors and rooms, maybe filtered", ROOM_FILTERS, ROOMS
        ),
        Command("records", "iter_records", "stream authorization records", RECORD_FILTERS, RECORDS),
        Command("get", "get_record", "one record with its rooms", [RECORD], _record),
        Command(
            "create",
            "create_record",
            "authorise a construction team",
            RECORD_FIELDS,
            _saved("created"),
        ),
        Command(
            "update",
            "update_record",
            "replace a record's data",
            [RECORD, *RECORD_FIELDS],
            _saved("updated"),
        ),
        Command("cancel", "cancel_authorization", "cancel an authorization", [RECORD], _cancelled),
    ),
}
"""The commands of ``tuyaio maintenance`` and ``tuyaio construction``."""

_GROUPS = {
    "maintenance": ("Smart Engineering maintenance tasks (v1.0)", "maintenance tasks"),
    "construction": ("Smart Lighting construction management (v2.0)", "authorizations and rooms"),
}


def _paging(default_page_size: int) -> list[Arg]:
    return [
        _arg(
            "--page-size",
            type=positive_int,
            metavar="N",
            help=f"items per request (default {default_page_size})",
        ),
        _arg("--limit", type=positive_int, metavar="N", help="stop after N items (default: all)"),
        _arg(
            "--prefetch",
            type=prefetch,
            metavar="N",
            help="pages requested ahead of the output, 0-64 (default 8; 0: one at a time)",
        ),
    ]


def register(commands: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``maintenance`` and ``construction`` with their commands."""
    for group, (help_text, what) in _GROUPS.items():
        parser = commands.add_parser(
            group, help=help_text, description=f"{help_text}, {what}: client.{group}.*"
        )
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        for command in COMMANDS[group]:
            parser = actions.add_parser(
                command.name, parents=parents, help=f"{command.help} ({command.method})"
            )
            listing = command.shows if isinstance(command.shows, Listing) else None
            args = [*command.args, *(_paging(listing.default_page_size) if listing else [])]
            keywords = [parser.add_argument(*flags, **options).dest for flags, options in args]
            add_format_flags(parser, lines=listing is not None)
            parser.set_defaults(handler=partial(_run, group, command, keywords))


async def _run(
    group: str, command: Command, keywords: list[str], args: argparse.Namespace, out: Output
) -> int:
    given = {key: getattr(args, key) for key in keywords if getattr(args, key) is not None}
    async with connect(args) as client:
        method = getattr(getattr(client, group), command.method)
        if isinstance(command.shows, Listing):
            shows = command.shows
            await out.listing(method(**given), shows.columns, noun=shows.noun, limit=args.limit)
            return ExitCode.OK
        result = await method(**given)
    return command.shows(out, args, result)
