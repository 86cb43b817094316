"""Smart Lighting construction management (v2.0, camelCase on the wire, snake_case here).

The documented examples leave most fields out, so every field but the IDs is optional.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum

import attrs

from .common import FallbackEnum

__all__ = [
    "AuthorizationStatus",
    "CancelResult",
    "ConstructionRecord",
    "ConstructionRecordDetail",
    "CreatedRecord",
    "DeviceType",
    "DeviceTypeInfo",
    "RecordRequest",
    "Room",
    "RoomType",
    "TaskStatus",
]


class DeviceType(FallbackEnum, IntEnum):
    """Kinds of device a construction authorization can cover."""

    LIGHT = 0
    GATEWAY = 1
    SWITCH = 3
    SENSOR = 4


class TaskStatus(FallbackEnum, IntEnum):
    """Progress of the construction task in a room."""

    NOT_ASSIGNED = 0
    NOT_STARTED = 1
    IN_PROGRESS = 2
    COMPLETED = 3
    POSTPONED = 4


class AuthorizationStatus(FallbackEnum, IntEnum):
    """Whether the construction team is authorised for a room or record."""

    NOT_AUTHORIZED = 0
    AUTHORIZED = 1
    EXPIRED = 2
    CANCELLED = 3


class RoomType(FallbackEnum, IntEnum):
    """A floor or a room."""

    FLOOR = 2
    ROOM = 4


@attrs.frozen(kw_only=True)
class Room:
    """A floor or room of a lighting project, with its construction progress."""

    room_id: str
    room_name: str | None = None
    room_type: RoomType | None = None
    device_count_online: int | None = None
    device_count_construction: int | None = None
    device_count_finish: int | None = None
    task_status: TaskStatus | None = None
    authorization_status: AuthorizationStatus | None = None
    record_id: str | None = None
    task_id: str | None = None
    room_extend_id: str | None = None


@attrs.frozen(kw_only=True)
class _Record:
    """The fields of an authorization record that listings and its detail both show."""

    record_id: str
    task_num: str | None = None
    user_account: str | None = None
    country_code: str | None = None
    operator_name: str | None = None
    address: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    device_count_finish: int | None = None
    task_status: TaskStatus | None = None
    authorization_status: AuthorizationStatus | None = None


@attrs.frozen(kw_only=True)
class ConstructionRecord(_Record):
    """An authorization record as listings show it."""

    operator_uid: str | None = None
    device_count: int | None = None
    room_names: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class DeviceTypeInfo:
    """A device type with its display name, as record details show it."""

    id: DeviceType
    name: str | None = None


@attrs.frozen(kw_only=True)
class ConstructionRecordDetail(_Record):
    """An authorization record with its rooms and device types."""

    project_id: str | None = None
    remark: str | None = None
    device_count_total: int | None = None
    room_count_finish: int | None = None
    room_count_total: int | None = None
    rooms: tuple[Room, ...] = ()
    device_types: tuple[DeviceTypeInfo, ...] = ()


@attrs.frozen(kw_only=True)
class CreatedRecord:
    """The answer to creating or updating an authorization record.

    ``success`` False is the server saying it did not save the record (then ``record_id`` may be
    ``None``): check it, or use the record ID only when ``success`` is True.
    """

    record_id: str | None = None
    success: bool = True


@attrs.frozen(kw_only=True)
class CancelResult:
    """The answer to cancelling an authorization."""

    success: bool = False


@attrs.frozen(kw_only=True)
class RecordRequest:
    """The body of a request that creates (``request_type`` 1) or updates (2) a record."""

    request_type: int
    record_id: str | None = None
    project_id: str
    user_account: str
    country_code: str
    operator_name: str
    start_time: datetime
    end_time: datetime
    device_types: tuple[DeviceType, ...] | None = None
    remark: str | None = None
    room_ids: tuple[str, ...] | None = None
