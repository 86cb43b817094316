"""Models as text (for tables and details): pure functions, no I/O. As data (``--json``) they
are :func:`tuyaio.to_json_data`'s."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

import attrs

from ..models import (
    ConstructionRecordDetail,
    MaintenanceTaskDetail,
)

__all__ = [
    "RECORD_COLUMNS",
    "ROOM_COLUMNS",
    "TASK_COLUMNS",
    "Column",
    "printable",
    "record_rows",
    "show",
    "task_rows",
]


def printable(text: str) -> str:
    """Control characters from the server must not reach a terminal: each becomes ``?``."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else "?" for char in text)


def show(value: object) -> str:
    """A value as a person reads it: enums by name, times in UTC, ``-`` for nothing; printable."""
    return printable(_show(value))


def _show(value: object) -> str:
    if value is None or value == ():
        return "-"
    if isinstance(value, Enum):
        if getattr(value, "is_known", True):
            return value.name.lower().replace("_", " ")
        return f"unknown ({value.value})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple)):
        return ", ".join(show(item) for item in value)
    return str(value)


@attrs.frozen
class Column:
    """A table column: header, fixed width (so streamed chunks line up) and how to get the cell."""

    header: str
    width: int
    get: Callable[[Any], object]
    justify: Literal["left", "right"] = "left"


TASK_COLUMNS: Sequence[Column] = (  # of MaintenanceTask
    Column("task id", 19, lambda t: t.task_id),
    Column("status", 20, lambda t: t.status),
    Column("worker", 30, lambda t: t.worker_username),
    Column("nickname", 16, lambda t: t.worker_nickname),
    Column("created (UTC)", 16, lambda t: t.created_at),
)

ROOM_COLUMNS: Sequence[Column] = (  # of Room
    Column("room id", 19, lambda r: r.room_id),
    Column("name", 16, lambda r: r.room_name),
    Column("type", 5, lambda r: r.room_type),
    Column("authorization", 14, lambda r: r.authorization_status),
    Column("task", 12, lambda r: r.task_status),
    Column("online", 6, lambda r: r.device_count_online, "right"),
    Column("done", 5, lambda r: r.device_count_finish, "right"),
    Column("record id", 19, lambda r: r.record_id),
)

RECORD_COLUMNS: Sequence[Column] = (  # of ConstructionRecord
    Column("record id", 19, lambda r: r.record_id),
    Column("operator", 14, lambda r: r.operator_name),
    Column("account", 22, lambda r: r.user_account),
    Column("authorization", 14, lambda r: r.authorization_status),
    Column("task", 12, lambda r: r.task_status),
    Column("start (UTC)", 16, lambda r: r.start_time),
    Column("end (UTC)", 16, lambda r: r.end_time),
    Column("devices", 7, lambda r: r.device_count, "right"),
    Column("rooms", 24, lambda r: r.room_names),
)


def task_rows(task: MaintenanceTaskDetail) -> list[tuple[str, str]]:
    """A task's detail as label/value rows."""
    rows = [
        ("task id", task.task_id),
        ("status", show(task.status)),
        ("worker", show(task.worker_username)),
        ("nickname", show(task.worker_nickname)),
        ("created (UTC)", show(task.created_at)),
    ]
    rows += [(f"room {room.room_id}", show(room.device_ids)) for room in task.rooms]
    return rows


def record_rows(record: ConstructionRecordDetail) -> list[tuple[str, str]]:
    """An authorization record's detail as label/value rows."""
    rooms = ", ".join(f"{show(room.room_name)} ({room.room_id})" for room in record.rooms)
    return [
        ("record id", record.record_id),
        ("project id", show(record.project_id)),
        ("operator", show(record.operator_name)),
        (
            "account",
            f"+{record.country_code} {record.user_account}"
            if record.country_code
            else show(record.user_account),
        ),
        ("authorization", show(record.authorization_status)),
        ("task status", show(record.task_status)),
        ("window (UTC)", f"{show(record.start_time)} -> {show(record.end_time)}"),
        (
            "devices done",
            f"{show(record.device_count_finish)} of {show(record.device_count_total)}",
        ),
        ("rooms done", f"{show(record.room_count_finish)} of {show(record.room_count_total)}"),
        ("device types", show(tuple(t.id for t in record.device_types))),
        ("rooms", rooms or "-"),
        ("remark", show(record.remark)),
    ]
