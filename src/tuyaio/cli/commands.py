"""``tuyaio maintenance …``, ``tuyaio construction …`` and ``tuyaio directory …``: one command
per method of ``client.maintenance``, ``client.construction`` and ``client.directory``, declared
as data.

Every argument is stored under the name of the method's keyword it fills, and a command calls its
method with the arguments given (the library's defaults stand for the others).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from functools import partial
from typing import Any

import attrs

from ..client import TuyaClient
from ..models import AuthorizationStatus, CreatedRecord, DeviceType, TaskStatus
from .argtypes import (
    enum_list,
    enum_names,
    id_text,
    iso_datetime,
    positive_int,
    prefetch,
    room_spec,
)
from .failures import ExitCode, UsageError, cli_terms
from .output import Column, Format, Output, add_format_flags, columns
from .settings import Subparsers, connect

__all__ = ["COMMANDS", "Command", "register"]

Arg = tuple[tuple[str, ...], dict[str, Any]]


def _arg(*flags: str, **options: Any) -> Arg:
    return flags, options


Report = Callable[[Output, argparse.Namespace, Any], int]
"""What a command shows of its method's result; returns the exit code."""

Prepare = Callable[[TuyaClient, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Completes the arguments given on the command line before the method is called."""

_RECORD_REQUIRED = ("user_account", "country_code", "operator_name", "start_time", "end_time")


async def _keep_unchanged(client: TuyaClient, given: dict[str, Any]) -> dict[str, Any]:
    """``update_record`` replaces the whole record: a field not given keeps the record's value,
    read first with ``get_record``. (The command line's choice: the API has no partial update.)"""
    record = await client.construction.get_record(given["record_id"])
    current: dict[str, Any] = {
        **{name: getattr(record, name) for name in _RECORD_REQUIRED},
        "remark": record.remark,
        "device_types": tuple(info.id for info in record.device_types) or None,
        "room_ids": tuple(room.room_id for room in record.rooms) or None,
    }
    merged = {**{k: v for k, v in current.items() if v is not None}, **given}
    missing = [name for name in _RECORD_REQUIRED if merged.get(name) is None]
    if missing:
        flags = ", ".join(cli_terms(name) for name in missing)
        raise UsageError(f"the record has no {flags}; give them to update it")
    return merged


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
    prepare: Prepare | None = None
    """Completes the method's arguments before the call (``update`` reads the record)."""


def _detail(noun: str) -> Report:
    def report(out: Output, args: argparse.Namespace, value: Any) -> int:
        out.detail(value, title=f"{noun} {attrs.astuple(value, recurse=False)[0]}")
        return ExitCode.OK

    return report


def _said(past: str, noun: str, key: str, answer: str = "result") -> Report:
    """An action's outcome: ``noun`` ``key`` was ``past`` ("accepted"), or the server said it
    was not (exit code 1). A bool answer goes under ``answer`` in JSON."""

    def report(out: Output, args: argparse.Namespace, value: Any) -> int:
        if isinstance(value, CreatedRecord):
            data, ok = {key: value.record_id, "success": value.success}, value.success
        elif isinstance(value, str):
            data, ok = {key: value}, True
        else:
            action = {"action": args.action} if answer == "result" else {}
            data, ok = {key: getattr(args, key), **action, answer: value}, value
        what = f"{noun} {data[key]}"
        if ok or out.format is not Format.TABLE:
            out.result(data, f"{past} {what}")
        if ok:
            return ExitCode.OK
        print(f"tuyaio: {what} was not {past} (the server answered false)", file=sys.stderr)
        return ExitCode.API_ERROR

    return report


def _enums(flag: str, enum: type[Enum], **options: Any) -> Arg:
    help_text = f"comma-separated: {enum_names(enum)}"
    return _arg(flag, type=enum_list(enum), metavar="LIST", help=help_text, **options)


PROJECT = _arg(
    "project_id", type=id_text, metavar="PROJECT_ID", help="the Smart Engineering project's ID"
)
LIGHTING_PROJECT = _arg(
    "project_id", type=id_text, metavar="PROJECT_ID", help="the Smart Lighting project's ID"
)
TASK = _arg("task_id", type=id_text, metavar="TASK_ID", help="the maintenance task's ID")
RECORD = _arg("record_id", type=id_text, metavar="RECORD_ID", help="the authorization record's ID")
STATUS_FILTERS = (
    _enums("--authorization-status", AuthorizationStatus),
    _enums("--task-status", TaskStatus),
)


def _record_fields(*, required: bool) -> tuple[Arg, ...]:
    """The record's fields as flags: all five required to create, any of them to update."""
    need = {"required": required}
    kept = "" if required else " (default: the record's)"
    return (
        _arg(
            "--user-account", **need, metavar="A", help="the team's account: phone or e-mail" + kept
        ),
        _arg(
            "--country-code",
            **need,
            metavar="CC",
            help="its calling code without +, e.g. 86" + kept,
        ),
        _arg("--operator-name", **need, metavar="N", help="who operates the authorization" + kept),
        _arg(
            "--start",
            dest="start_time",
            type=iso_datetime,
            **need,
            metavar="ISO",
            help="start of the authorized window (ISO 8601; UTC without an offset)" + kept,
        ),
        _arg(
            "--end",
            dest="end_time",
            type=iso_datetime,
            **need,
            metavar="ISO",
            help="end of the authorized window (ISO 8601; UTC without an offset)" + kept,
        ),
        _enums("--device-types", DeviceType),
        _arg("--remark", metavar="TEXT", help="a note on the record" + kept),
        _arg(
            "--room-id",
            dest="room_ids",
            type=id_text,
            action="append",
            metavar="ID",
            help="a room to authorize; repeat for more" + kept,
        ),
    )


TASKS = Listing(
    columns(
        "task_id:19 status:20 worker=worker_username:30 nickname=worker_nickname:16 "
        "created=created_at:17"
    ),
    "tasks",
    default_page_size=99,
)
ROOMS = Listing(
    columns(
        "room_id:19 name=room_name:16 type=room_type:5 authorization=authorization_status:14 "
        "task=task_status:12 online=device_count_online:>6 done=device_count_finish:>5 record_id:19"
    ),
    "rooms",
    default_page_size=1000,
)
RECORDS = Listing(
    columns(
        "record_id:19 operator=operator_name:14 account=user_account:22 "
        "authorization=authorization_status:14 task=task_status:12 start=start_time:17 "
        "end=end_time:17 devices=device_count:>7 rooms=room_names:24"
    ),
    "records",
    default_page_size=1000,
)
NEW_TASK = [
    PROJECT,
    _arg("--worker-id", type=id_text, required=True, metavar="W", help="the worker's user ID"),
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
    LIGHTING_PROJECT,
    *STATUS_FILTERS,
    _arg("--room-name", metavar="TEXT", help="rooms whose name contains TEXT"),
]
RECORD_FILTERS = [
    LIGHTING_PROJECT,
    *STATUS_FILTERS,
    _arg("--operator-name", metavar="NAME", help="records of this operator"),
    _arg("--start", dest="start_time", type=iso_datetime, metavar="ISO", help="window overlaps"),
    _arg("--end", dest="end_time", type=iso_datetime, metavar="ISO", help="window overlaps"),
]
IN_TASK = [PROJECT, TASK]
ROOM = _arg("room_id", type=id_text, metavar="ROOM_ID", help="the room's ID")
PROJECTS = Listing(
    columns(
        "project_id:19 name=project_name:20 authorization=authorization_status:14 address:24 "
        "time_zone=time_zone_id:14 created=created_at:17"
    ),
    "projects",
    default_page_size=99,
)
WORKERS = Listing(columns("worker_id:19 username:30 nickname:16"), "workers", 99)
PROJECT_ROOMS = Listing(
    columns(
        "room_id:19 name=room_name:16 no=room_no:6 construction=construction_status:20 "
        "description:20"
    ),
    "rooms",
    default_page_size=99,
)
DEVICES = Listing(
    columns("device_id:22 product=product_name:20 category:14 code=category_code:6 product_id:18"),
    "devices",
    default_page_size=99,
)
LIGHTING_PROJECTS = Listing(
    columns(
        "project_id:19 name:20 address:24 leader=leader_name:12 time_zone=time_zone_id:14 "
        "created=created_at:17"
    ),
    "lighting projects",
    default_page_size=1000,
)
_task = partial(_said, noun="task", key="task_id")
_record = partial(_said, noun="authorization record", key="record_id")
COMMANDS: dict[str, tuple[Command, ...]] = {
    "maintenance": (
        Command("list", "iter_tasks", "stream every task, newest first", [PROJECT], TASKS),
        Command("get", "get_task", "one task with its rooms", IN_TASK, _detail("maintenance task")),
        Command("create", "create_task", "create a task", NEW_TASK, _task("created")),
        Command(
            "accept", "accept_task", "accept a task pending acceptance", IN_TASK, _task("accepted")
        ),
        Command(
            "reopen", "reopen_task", "send a task back to maintenance", IN_TASK, _task("reopened")
        ),
        Command("delete", "delete_task", "delete a task", IN_TASK, _task("deleted")),
    ),
    "construction": (
        Command(
            "rooms", "iter_rooms", "stream floors and rooms, maybe filtered", ROOM_FILTERS, ROOMS
        ),
        Command("records", "iter_records", "stream authorization records", RECORD_FILTERS, RECORDS),
        Command(
            "get",
            "get_record",
            "one record with its rooms",
            [RECORD],
            _detail("authorization record"),
        ),
        Command(
            "create",
            "create_record",
            "authorize a construction team",
            [LIGHTING_PROJECT, *_record_fields(required=True)],
            _record("created"),
        ),
        Command(
            "update",
            "update_record",
            "change a record: the fields not given keep the record's values",
            [LIGHTING_PROJECT, RECORD, *_record_fields(required=False)],
            _record("updated"),
            prepare=_keep_unchanged,
        ),
        Command(
            "cancel",
            "cancel_authorization",
            "cancel an authorization",
            [RECORD],
            _record("cancelled", answer="cancelled"),
        ),
    ),
    "directory": (
        Command("projects", "iter_projects", "stream Smart Engineering projects", [], PROJECTS),
        Command(
            "project", "get_project", "one Smart Engineering project", [PROJECT], _detail("project")
        ),
        Command("workers", "iter_workers", "stream the account's workers", [], WORKERS),
        Command("rooms", "iter_rooms", "stream a project's rooms", [PROJECT], PROJECT_ROOMS),
        Command("room", "get_room", "one room with its project", [ROOM], _detail("room")),
        Command("devices", "iter_devices", "stream a project's devices", [PROJECT], DEVICES),
        Command(
            "room-devices",
            "iter_room_devices",
            "stream a room's devices (wire form a guess)",
            [ROOM],
            DEVICES,
        ),
        Command(
            "lighting-projects",
            "iter_lighting_projects",
            "stream Smart Lighting projects (wire form from Tuya's SDK)",
            [_arg("--keyword", metavar="TEXT", help="projects matching TEXT")],
            LIGHTING_PROJECTS,
        ),
    ),
}
"""The commands of ``tuyaio maintenance``, ``tuyaio construction`` and ``tuyaio directory``."""

_GROUPS = {
    "maintenance": ("Smart Engineering maintenance tasks (v1.0)", "maintenance tasks"),
    "construction": ("Smart Lighting construction management (v2.0)", "authorizations and rooms"),
    "directory": ("Where the IDs come from", "projects, workers, rooms and devices"),
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
    """Add ``maintenance``, ``construction`` and ``directory`` with their commands."""
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
        if command.prepare is not None:
            given = await command.prepare(client, given)
        method = getattr(getattr(client, group), command.method)
        if isinstance(command.shows, Listing):
            shows = command.shows
            await out.listing(method(**given), shows.columns, noun=shows.noun, limit=args.limit)
            return ExitCode.OK
        result = await method(**given)
    return command.shows(out, args, result)
