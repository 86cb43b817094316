"""Smart Engineering maintenance tasks (v1.0, snake_case on the wire)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import attrs

from .common import FallbackEnum

__all__ = [
    "MaintenanceStatus",
    "MaintenanceTask",
    "MaintenanceTaskDetail",
    "RoomDevices",
    "TaskCreation",
]


class MaintenanceStatus(FallbackEnum, StrEnum):
    """Where a maintenance task stands; ``is_known`` is False for an undocumented status."""

    PENDING_MAINTENANCE = "PENDING_MAINTENANCE"
    IN_MAINTENANCE = "IN_MAINTENANCE"
    PENDING_ACCEPTANCE = "PENDING_ACCEPTANCE"
    ACCEPTANCE_COMPLETE = "ACCEPTANCE_COMPLETE"


@attrs.frozen(kw_only=True)
class RoomDevices:
    """A room and the devices in it that a task covers."""

    room_id: str
    device_ids: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class MaintenanceTask:
    """A maintenance task as listings show it.

    ``status`` comes from ``maintenance_status`` or ``construction_status``: the docs use both.
    """

    task_id: str
    status: MaintenanceStatus | None = None
    worker_username: str | None = None
    worker_nickname: str | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class MaintenanceTaskDetail(MaintenanceTask):
    """A maintenance task with the rooms and devices it covers."""

    rooms: tuple[RoomDevices, ...] = ()


@attrs.frozen(kw_only=True)
class TaskCreation:
    """The body of a request that creates a maintenance task."""

    worker_id: str
    rooms: tuple[RoomDevices, ...]
