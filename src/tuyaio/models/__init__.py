"""Typed, frozen models of what the two API families and their directory return."""

from .common import FallbackEnum, Page
from .construction import (
    AuthorizationStatus,
    ConstructionRecord,
    ConstructionRecordDetail,
    CreatedRecord,
    DeviceType,
    DeviceTypeInfo,
    Room,
    RoomType,
    TaskStatus,
)
from .directory import (
    ConstructionStatus,
    Device,
    LightingProject,
    Project,
    ProjectAuthorization,
    ProjectRoom,
    ProjectRoomDetail,
    Worker,
)
from .maintenance import MaintenanceStatus, MaintenanceTask, MaintenanceTaskDetail, RoomDevices

__all__ = [
    "AuthorizationStatus",
    "ConstructionRecord",
    "ConstructionRecordDetail",
    "ConstructionStatus",
    "CreatedRecord",
    "Device",
    "DeviceType",
    "DeviceTypeInfo",
    "FallbackEnum",
    "LightingProject",
    "MaintenanceStatus",
    "MaintenanceTask",
    "MaintenanceTaskDetail",
    "Page",
    "Project",
    "ProjectAuthorization",
    "ProjectRoom",
    "ProjectRoomDetail",
    "Room",
    "RoomDevices",
    "RoomType",
    "TaskStatus",
    "Worker",
]
