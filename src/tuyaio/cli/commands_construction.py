"""``tuyaio construction rooms|records|get|create|update|cancel``: one command per method of
``client.construction``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ..models import AuthorizationStatus, DeviceType, TaskStatus
from .argtypes import enum_list, id_text, iso_datetime
from .commands import Subparsers, connect
from .failures import ExitCode
from .output import Output, add_format_flags, add_listing_flags, paging
from .render import RECORD_COLUMNS, ROOM_COLUMNS, record_rows

__all__ = ["register"]

_STATUS_HELP = "comma-separated: not-authorized (0), authorized (1), expired (2), cancelled (3)"
_TASK_STATUS_HELP = (
    "comma-separated: not-assigned (0), not-started (1), in-progress (2), completed (3), "
    "postponed (4)"
)


def register(commands: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``construction`` and its actions."""
    group = commands.add_parser(
        "construction",
        help="Smart Lighting construction management (v2.0)",
        description="Smart Lighting construction authorizations and rooms: client.construction.*",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    rooms = actions.add_parser(
        "rooms", parents=parents, help="stream floors and rooms, maybe filtered (iter_rooms)"
    )
    rooms.add_argument("project_id", type=id_text, metavar="PROJECT_ID")
    _status_filters(rooms)
    rooms.add_argument("--room-name", metavar="TEXT", help="rooms whose name contains TEXT")
    add_listing_flags(rooms, max_page_size=10_000, default_page_size=1000)
    add_format_flags(rooms, lines=True)
    rooms.set_defaults(handler=_rooms)

    records = actions.add_parser(
        "records", parents=parents, help="stream authorization records (iter_records)"
    )
    records.add_argument("project_id", type=id_text, metavar="PROJECT_ID")
    _status_filters(records)
    records.add_argument("--operator-name", metavar="NAME")
    records.add_argument("--start", type=iso_datetime, metavar="ISO", help="window overlaps")
    records.add_argument("--end", type=iso_datetime, metavar="ISO", help="window overlaps")
    add_listing_flags(records, max_page_size=10_000, default_page_size=1000)
    add_format_flags(records, lines=True)
    records.set_defaults(handler=_records)

    get = actions.add_parser("get", parents=parents, help="one record with its rooms (get_record)")
    get.add_argument("record_id", type=id_text, metavar="RECORD_ID")
    add_format_flags(get, lines=False)
    get.set_defaults(handler=_get)

    create = actions.add_parser(
        "create", parents=parents, help="authorise a construction team (create_record)"
    )
    _record_fields(create)
    create.set_defaults(handler=_create)

    update = actions.add_parser(
        "update", parents=parents, help="replace a record's data (update_record)"
    )
    update.add_argument("record_id", type=id_text, metavar="RECORD_ID")
    _record_fields(update)
    update.set_defaults(handler=_create)

    cancel = actions.add_parser(
        "cancel", parents=parents, help="cancel an authorization (cancel_authorization)"
    )
    cancel.add_argument("record_id", type=id_text, metavar="RECORD_ID")
    add_format_flags(cancel, lines=False)
    cancel.set_defaults(handler=_cancel)


def _status_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--authorization-status",
        type=enum_list(AuthorizationStatus),
        metavar="LIST",
        help=_STATUS_HELP,
    )
    parser.add_argument(
        "--task-status",
        type=enum_list(TaskStatus),
        metavar="LIST",
        help=_TASK_STATUS_HELP,
    )


def _record_fields(parser: argparse.ArgumentParser) -> None:
    fields = parser.add_argument_group("record (times in ISO 8601; without an offset: UTC)")
    fields.add_argument("--project-id", type=id_text, required=True, metavar="P")
    fields.add_argument("--user-account", required=True, metavar="A")
    fields.add_argument("--country-code", required=True, metavar="CC", help="e.g. 86")
    fields.add_argument("--operator-name", required=True, metavar="N")
    fields.add_argument("--start", type=iso_datetime, required=True, metavar="ISO")
    fields.add_argument("--end", type=iso_datetime, required=True, metavar="ISO")
    fields.add_argument(
        "--device-types",
        type=enum_list(DeviceType),
        metavar="LIST",
        help="comma-separated: light (0), gateway (1), switch (3), sensor (4)",
    )
    fields.add_argument("--remark", metavar="TEXT")
    fields.add_argument(
        "--room-id",
        dest="room_ids",
        type=id_text,
        action="append",
        metavar="ID",
        help="a room to authorise; repeat for more",
    )
    add_format_flags(parser, lines=False)


async def _rooms(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        pager = client.construction.iter_rooms(
            args.project_id,
            authorization_status=args.authorization_status,
            task_status=args.task_status,
            room_name=args.room_name,
            **paging(args),
        )
        await out.listing(pager, ROOM_COLUMNS, noun="rooms", limit=args.limit)
    return ExitCode.OK


async def _records(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        pager = client.construction.iter_records(
            args.project_id,
            authorization_status=args.authorization_status,
            task_status=args.task_status,
            operator_name=args.operator_name,
            start_time=args.start,
            end_time=args.end,
            **paging(args),
        )
        await out.listing(pager, RECORD_COLUMNS, noun="records", limit=args.limit)
    return ExitCode.OK


async def _get(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        record = await client.construction.get_record(args.record_id)
    out.detail(record, record_rows(record), title=f"authorization record {record.record_id}")
    return ExitCode.OK


async def _create(args: argparse.Namespace, out: Output) -> int:
    fields: dict[str, Any] = {
        "user_account": args.user_account,
        "country_code": args.country_code,
        "operator_name": args.operator_name,
        "start_time": args.start,
        "end_time": args.end,
        "device_types": args.device_types,
        "remark": args.remark,
        "room_ids": args.room_ids,
    }
    async with connect(args) as client:
        if args.action == "update":
            created = await client.construction.update_record(
                args.project_id, args.record_id, **fields
            )
        else:
            created = await client.construction.create_record(args.project_id, **fields)
    verb = "updated" if args.action == "update" else "created"
    out.result(
        {"record_id": created.record_id, "success": created.success},
        f"{verb} authorization record {created.record_id}"
        if created.success
        else f"the server answered success=false: not {verb}",
    )
    if not created.success:
        print(f"tuyaio: the authorization record was not {verb}", file=sys.stderr)
        return ExitCode.API_ERROR
    return ExitCode.OK


async def _cancel(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        ok = await client.construction.cancel_authorization(args.record_id)
    out.result(
        {"record_id": args.record_id, "cancelled": ok},
        f"cancelled authorization record {args.record_id}"
        if ok
        else "the server answered success=false: not cancelled",
    )
    if not ok:
        print(f"tuyaio: record {args.record_id} was not cancelled", file=sys.stderr)
        return ExitCode.API_ERROR
    return ExitCode.OK
