"""Typed, frozen models of what the two API families return."""

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
from .maintenance import MaintenanceStatus, MaintenanceTask, MaintenanceTaskDetail, RoomDevices

__all__ = [
    "AuthorizationStatus",
    "ConstructionRecord",
    "ConstructionRecordDetail",
    "CreatedRecord",
    "DeviceType",
    "DeviceTypeInfo",
    "FallbackEnum",
    "MaintenanceStatus",
    "MaintenanceTask",
    "MaintenanceTaskDetail",
    "Page",
    "Room",
    "RoomDevices",
    "RoomType",
    "TaskStatus",
]
