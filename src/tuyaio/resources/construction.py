"""Smart Lighting construction management (PROTOCOL.md §6)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from .._converter import encode, to_ms
from ..models.common import Page
from ..models.construction import (
    AuthorizationStatus,
    CancelResult,
    ConstructionRecord,
    ConstructionRecordDetail,
    CreatedRecord,
    DeviceType,
    RecordRequest,
    Room,
    TaskStatus,
)
from ..pagination import CONSTRUCTION_STYLE, AsyncPager
from ..requester import Requester
from ..routes import Route
from ..validation import (
    check_aware,
    check_country_code,
    check_enum_values,
    check_id,
    check_ids,
    check_text,
)
from ._listing import Listing

__all__ = ["ConstructionResource"]

_PREFIX = "/v2.0/illumination/construction"
_RECORD = Route("POST", _PREFIX + "/record")
_ROOMS = Listing(Route("GET", _PREFIX + "/task/rooms"), CONSTRUCTION_STYLE, Room, in_body=True)
_RECORDS = Listing(
    Route("GET", _PREFIX + "/task/records"), CONSTRUCTION_STYLE, ConstructionRecord, in_body=True
)
_RECORD_DETAIL = Route("GET", _PREFIX + "/task/record/{record_id}")
_CANCEL = Route("DELETE", _PREFIX + "/task/cancelAuthorization/{record_id}")

_CREATE, _UPDATE = 1, 2

StatusArg = AuthorizationStatus | int | Iterable[AuthorizationStatus | int]
TaskStatusArg = TaskStatus | int | Iterable[TaskStatus | int]


def _record_request(
    request_type: int,
    record_id: str | None,
    *,
    project_id: str,
    user_account: str,
    country_code: str,
    operator_name: str,
    start: datetime,
    end: datetime,
    device_types: Iterable[DeviceType | int] | None,
    remark: str | None,
    room_ids: Iterable[str] | None,
) -> RecordRequest:
    check_aware("start", start)
    if check_aware("end", end) <= start:
        raise ValueError(f"end must be after start, got start={start!r}, end={end!r}")
    if remark is not None and not isinstance(remark, str):
        raise TypeError(f"remark must be a str, got {type(remark).__name__}")
    return RecordRequest(
        request_type=request_type,
        record_id=record_id,
        project_id=check_id("project_id", project_id),
        user_account=check_text("user_account", user_account),
        country_code=check_country_code("country_code", country_code),
        operator_name=check_text("operator_name", operator_name),
        start_time=start,
        end_time=end,
        device_types=None
        if device_types is None
        else check_enum_values("device_types", device_types, DeviceType),
        remark=remark,
        room_ids=None if room_ids is None else check_ids("room_ids", room_ids, unique=True),
    )


def _identifiers(request: RecordRequest) -> dict[str, str]:
    return {
        "project_id": request.project_id,
        "user_account": request.user_account,
        "operator_name": request.operator_name,
        "start": request.start_time.isoformat(),
        "end": request.end_time.isoformat(),
    }


E = TypeVar("E", AuthorizationStatus, TaskStatus)


def _status_filter(name: str, value: E | int | Iterable[E | int] | None, enum: type[E]) -> Any:
    """A status filter as the body carries it: a list of decimal strings, e.g. ``["0", "1"]``."""
    if value is None:
        return None
    return [str(member.value) for member in check_enum_values(name, value, enum)]


def _listing_project(project_id: str) -> str:
    # A body value, not a path segment: the documents send "" for an account without a project.
    if not isinstance(project_id, str):
        raise TypeError(f"project_id must be a str, got {type(project_id).__name__}")
    return project_id


def _rooms_filters(
    project_id: str,
    authorization_status: StatusArg | None,
    task_status: TaskStatusArg | None,
    room_name: str | None,
) -> dict[str, Any]:
    return {
        "projectId": _listing_project(project_id),
        "authorizationStatus": _status_filter(
            "authorization_status", authorization_status, AuthorizationStatus
        ),
        "taskStatus": _status_filter("task_status", task_status, TaskStatus),
        "roomName": None if room_name is None else check_text("room_name", room_name),
    }


def _records_filters(
    project_id: str,
    authorization_status: StatusArg | None,
    task_status: TaskStatusArg | None,
    operator_name: str | None,
    start: datetime | None,
    end: datetime | None,
) -> dict[str, Any]:
    if (
        start is not None
        and end is not None
        and check_aware("end", end) < check_aware("start", start)
    ):
        raise ValueError(f"end must not be before start, got start={start!r}, end={end!r}")
    return {
        "projectId": _listing_project(project_id),
        "authorizationStatus": _status_filter(
            "authorization_status", authorization_status, AuthorizationStatus
        ),
        "taskStatus": _status_filter("task_status", task_status, TaskStatus),
        "operatorName": None
        if operator_name is None
        else check_text("operator_name", operator_name),
        "startTime": None if start is None else to_ms(check_aware("start", start)),
        "endTime": None if end is None else to_ms(check_aware("end", end)),
    }


class ConstructionResource:
    """Authorization records and rooms of Smart Lighting projects: ``client.construction``."""

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def __repr__(self) -> str:
        return "ConstructionResource()"

    async def create_record(
        self,
        *,
        project_id: str,
        user_account: str,
        country_code: str,
        operator_name: str,
        start: datetime,
        end: datetime,
        device_types: Iterable[DeviceType | int] | None = None,
        remark: str | None = None,
        room_ids: Iterable[str] | None = None,
    ) -> CreatedRecord:
        """Authorise a construction team (``user_account``) for a time window.

        ``start``/``end`` must be timezone-aware, from 1970 on; ``country_code`` is the calling
        code, 1 to 4 digits (e.g. ``"86"``); ``room_ids`` must not repeat a room. Unset optional
        fields are left out of the request.
        Never retried once it may have reached the server: see :class:`OutcomeUnknownError`.
        """
        request = _record_request(
            _CREATE,
            None,
            project_id=project_id,
            user_account=user_account,
            country_code=country_code,
            operator_name=operator_name,
            start=start,
            end=end,
            device_types=device_types,
            remark=remark,
            room_ids=room_ids,
        )
        call = _RECORD.build(body=encode(request), identifiers=_identifiers(request))
        return await self._requester.fetch(call, CreatedRecord)

    async def update_record(
        self,
        record_id: str,
        *,
        project_id: str,
        user_account: str,
        country_code: str,
        operator_name: str,
        start: datetime,
        end: datetime,
        device_types: Iterable[DeviceType | int] | None = None,
        remark: str | None = None,
        room_ids: Iterable[str] | None = None,
    ) -> CreatedRecord:
        """Replace an authorization record's data (safe to repeat: it sends the same data again)."""
        request = _record_request(
            _UPDATE,
            check_id("record_id", record_id),
            project_id=project_id,
            user_account=user_account,
            country_code=country_code,
            operator_name=operator_name,
            start=start,
            end=end,
            device_types=device_types,
            remark=remark,
            room_ids=room_ids,
        )
        call = _RECORD.build(
            body=encode(request), identifiers=_identifiers(request), idempotent=True
        )
        return await self._requester.fetch(call, CreatedRecord)

    async def list_rooms(
        self,
        project_id: str,
        *,
        page: int = 1,
        page_size: int = 50,
        authorization_status: StatusArg | None = None,
        task_status: TaskStatusArg | None = None,
        room_name: str | None = None,
    ) -> Page[Room]:
        """One page of the project's floors and rooms, maybe filtered (``page_size`` 1–10000)."""
        filters = _rooms_filters(project_id, authorization_status, task_status, room_name)
        return await _ROOMS.page(
            self._requester, page_no=page, page_size=page_size, filters=filters
        )

    def iter_rooms(
        self,
        project_id: str,
        *,
        page_size: int = 1000,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
        authorization_status: StatusArg | None = None,
        task_status: TaskStatusArg | None = None,
        room_name: str | None = None,
    ) -> AsyncPager[Room]:
        """Every matching floor and room, in order (see ``iter_tasks`` for the paging options)."""
        return _ROOMS.walk(
            self._requester,
            page_size=page_size,
            limit=limit,
            start_page=start_page,
            prefetch=prefetch,
            filters=_rooms_filters(project_id, authorization_status, task_status, room_name),
        )

    async def list_records(
        self,
        project_id: str,
        *,
        page: int = 1,
        page_size: int = 50,
        authorization_status: StatusArg | None = None,
        task_status: TaskStatusArg | None = None,
        operator_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Page[ConstructionRecord]:
        """One page of the project's authorization records, optionally filtered."""
        filters = _records_filters(
            project_id, authorization_status, task_status, operator_name, start, end
        )
        return await _RECORDS.page(
            self._requester, page_no=page, page_size=page_size, filters=filters
        )

    def iter_records(
        self,
        project_id: str,
        *,
        page_size: int = 1000,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
        authorization_status: StatusArg | None = None,
        task_status: TaskStatusArg | None = None,
        operator_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> AsyncPager[ConstructionRecord]:
        """Every matching authorization record, in order."""
        return _RECORDS.walk(
            self._requester,
            page_size=page_size,
            limit=limit,
            start_page=start_page,
            prefetch=prefetch,
            filters=_records_filters(
                project_id, authorization_status, task_status, operator_name, start, end
            ),
        )

    async def get_record(self, record_id: str) -> ConstructionRecordDetail:
        """One authorization record with its rooms and device types."""
        call = _RECORD_DETAIL.build({"record_id": record_id})
        return await self._requester.fetch(call, ConstructionRecordDetail)

    async def cancel_authorization(self, record_id: str) -> bool:
        """Cancel an authorization record, releasing its rooms; the server's ``success`` (True)."""
        call = _CANCEL.build({"record_id": record_id})
        return (await self._requester.fetch(call, CancelResult)).success
