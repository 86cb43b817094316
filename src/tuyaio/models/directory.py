"""The directory: where the IDs that tasks and records take come from.

Smart Engineering projects, workers, rooms and devices (v1.0, snake_case on the wire) and Smart
Lighting projects (camelCase). Every field but the IDs is optional; see docs/protocol.md,
"Directory calls", for how sure we are of each call's wire form.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import attrs

from .common import FallbackEnum

__all__ = [
    "ConstructionStatus",
    "Device",
    "LightingProject",
    "Project",
    "ProjectAuthorization",
    "ProjectRoom",
    "ProjectRoomDetail",
    "Worker",
]


class ProjectAuthorization(FallbackEnum, StrEnum):
    """Whether the cloud project is authorised for a Smart Engineering project."""

    UNAUTHORIZED = "UNAUTHORIZED"
    AUTHORIZED = "AUTHORIZED"
    REVOCATION_AUTHORIZATION = "REVOCATION_AUTHORIZATION"


class ConstructionStatus(FallbackEnum, StrEnum):
    """Where the construction of a Smart Engineering room stands."""

    UNAUTHORIZED = "UNAUTHORIZED"
    PENDING_CONSTRUCTION = "PENDING_CONSTRUCTION"
    IN_CONSTRUCTION = "IN_CONSTRUCTION"
    PENDING_ACCEPTANCE = "PENDING_ACCEPTANCE"
    ACCEPTANCE_COMPLETE = "ACCEPTANCE_COMPLETE"


@attrs.frozen(kw_only=True)
class Project:
    """A Smart Engineering project (the ``project_id`` of the maintenance calls)."""

    project_id: str
    project_name: str | None = None
    location_id: str | None = None
    address: str | None = None
    time_zone_id: str | None = None
    authorization_status: ProjectAuthorization | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Worker:
    """A maintenance or construction worker of the account (the ``worker_id`` of a task)."""

    worker_id: str
    username: str | None = None
    nickname: str | None = None


@attrs.frozen(kw_only=True)
class ProjectRoom:
    """A room of a Smart Engineering project, as its listing shows it."""

    room_id: str
    room_name: str | None = None
    room_no: str | None = None
    description: str | None = None
    construction_status: ConstructionStatus | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ProjectRoomDetail(ProjectRoom):
    """One room, with its project and contact telephone."""

    project_id: str | None = None
    telephone: str | None = None


@attrs.frozen(kw_only=True)
class Device:
    """A device of a Smart Engineering project or room (the ``device_ids`` of a task)."""

    device_id: str
    product_id: str | None = None
    product_name: str | None = None
    category: str | None = None
    category_code: str | None = None


@attrs.frozen(kw_only=True)
class LightingProject:
    """A Smart Lighting project (the ``project_id`` of the construction calls)."""

    project_id: str
    name: str | None = None
    address: str | None = None
    owner_id: str | None = None
    leader_name: str | None = None
    leader_mobile: str | None = None
    time_zone_id: str | None = None
    created_at: datetime | None = None
