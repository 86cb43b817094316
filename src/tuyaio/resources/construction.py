"""Smart Lighting construction management (v2.0): ``client.construction``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from .._converter import encode, from_ms, to_ms
from ..errors import OutcomeUnknownError, TuyaError
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
from ..pagination import AsyncPager
from ..routes import Route
from ..validation import check_aware, check_enum_values, check_ids
from ._base import CONSTRUCTION_PAGING, Listing, Resource

__all__ = ["ConstructionResource"]

_PREFIX = "/v2.0/illumination/construction"
_RECORD = Route("POST", _PREFIX + "/record")
_ROOMS = Listing(Route("GET", _PREFIX + "/task/rooms"), Room, CONSTRUCTION_PAGING)
_RECORDS = Listing(Route("GET", _PREFIX + "/task/records"), ConstructionRecord, CONSTRUCTION_PAGING)
_RECORD_DETAIL = Route("GET", _PREFIX + "/task/record/{record_id}")
_CANCEL = Route("DELETE", _PREFIX + "/task/cancelAuthorization/{record_id}")

_CREATE, _UPDATE = 1, 2

StatusArg = AuthorizationStatus | int | Iterable[AuthorizationStatus | int]
TaskStatusArg = TaskStatus | int | Iterable[TaskStatus | int]
E = TypeVar("E", AuthorizationStatus, TaskStatus)


def _record_request(
    request_type: int,
    project_id: str,
    record_id: str | None,
    *,
    user_account: str,
    country_code: str,
    operator_name: str,
    start_time: datetime,
    end_time: datetime,
    device_types: Iterable[DeviceType | int] | None,
    remark: str | None,
    room_ids: Iterable[str] | None,
) -> RecordRequest:
    if check_aware("end_time", end_time) <= check_aware("start_time", start_time):
        raise ValueError(
            f"end_time must be after start_time, got {start_time.isoformat()} and "
            f"{end_time.isoformat()}"
        )
    return RecordRequest(
        request_type=request_type,
        record_id=record_id,
        project_id=project_id,
        user_account=user_account,
        country_code=country_code,
        operator_name=operator_name,
        start_time=start_time,
        end_time=end_time,
        device_types=None
        if device_types is None
        else check_enum_values("device_types", device_types, DeviceType),
        remark=remark,
        room_ids=None if room_ids is None else check_ids("room_ids", room_ids, unique=True),
    )


def _identifiers(request: RecordRequest) -> dict[str, str]:
    # Times in milliseconds, as on the wire: what find_created matches.
    return {
        "project_id": request.project_id,
        "user_account": request.user_account,
        "operator_name": request.operator_name,
        "start_time": str(to_ms(request.start_time)),
        "end_time": str(to_ms(request.end_time)),
        "room_ids": json.dumps(list(request.room_ids or ()), separators=(",", ":")),
    }


def _status_filter(name: str, value: E | int | Iterable[E | int] | None, enum: type[E]) -> Any:
    """A status filter as the body carries it: a list of decimal strings, e.g. ``["0", "1"]``."""
    if value is None:
        return None
    return [str(member.value) for member in check_enum_values(name, value, enum)]


def _rooms_filters(
    project_id: str,
    authorization_status: StatusArg | None,
    task_status: TaskStatusArg | None,
    room_name: str | None,
) -> dict[str, Any]:
    # projectId is a body value, not a path segment: "" (no project) lists nothing.
    return {
        "projectId": project_id,
        "authorizationStatus": _status_filter(
            "authorization_status", authorization_status, AuthorizationStatus
        ),
        "taskStatus": _status_filter("task_status", task_status, TaskStatus),
        "roomName": room_name,
    }


def _records_filters(
    project_id: str,
    authorization_status: StatusArg | None,
    task_status: TaskStatusArg | None,
    operator_name: str | None,
    start_time: datetime | None,
    end_time: datetime | None,
) -> dict[str, Any]:
    return {
        "projectId": project_id,
        "authorizationStatus": _status_filter(
            "authorization_status", authorization_status, AuthorizationStatus
        ),
        "taskStatus": _status_filter("task_status", task_status, TaskStatus),
        "operatorName": operator_name,
        "startTime": None if start_time is None else to_ms(check_aware("start_time", start_time)),
        "endTime": None if end_time is None else to_ms(check_aware("end_time", end_time)),
    }


class ConstructionResource(Resource):
    """Authorization records and rooms of Smart Lighting projects: ``client.construction``."""

    async def create_record(
        self,
        project_id: str,
        *,
        user_account: str,
        country_code: str,
        operator_name: str,
        start_time: datetime,
        end_time: datetime,
        device_types: Iterable[DeviceType | int] | None = None,
        remark: str | None = None,
        room_ids: Iterable[str] | None = None,
    ) -> CreatedRecord:
        """Authorise a construction team (``user_account``) for a time window.

        ``start_time``/``end_time`` must be timezone-aware, from 1970 on, end after start;
        ``country_code`` is the calling code without ``+`` (e.g. ``"86"``); ``room_ids`` must not
        repeat a room. Unset optional fields are left out of the request.
        Never retried once it may have reached the server: see :class:`OutcomeUnknownError`.
        """
        request = _record_request(
            _CREATE,
            project_id,
            None,
            user_account=user_account,
            country_code=country_code,
            operator_name=operator_name,
            start_time=start_time,
            end_time=end_time,
            device_types=device_types,
            remark=remark,
            room_ids=room_ids,
        )
        call = _RECORD.build(body=encode(request), identifiers=_identifiers(request))
        return await self._fetch(call, CreatedRecord)

    async def find_created(self, error: OutcomeUnknownError) -> ConstructionRecordDetail | None:
        """The record that a :meth:`create_record` which raised ``error`` created, or ``None``.

        Looks through the project's records by the same operator whose window overlaps the
        request's for one with the same account, operator, start and end (to the millisecond)
        and rooms. Certain unless an identical record existed before the attempt (records carry
        no creation time); ``None`` means the create did not happen. See docs/protocol.md,
        "Outcome unknown".
        """
        ids = error.identifiers
        if error.route != _RECORD.template or "start_time" not in ids:
            raise ValueError("find_created takes the OutcomeUnknownError of a create_record")
        start, end = from_ms(int(ids["start_time"])), from_ms(int(ids["end_time"]))
        rooms = sorted(json.loads(ids.get("room_ids", "[]")))
        records = self.iter_records(
            ids["project_id"], operator_name=ids["operator_name"], start_time=start, end_time=end
        )
        wanted = (ids["user_account"], start, end)
        async with records:  # leaving cancels the prefetch
            async for record in records:
                if (record.user_account, record.start_time, record.end_time) != wanted:
                    continue
                detail = await self.get_record(record.record_id)
                if sorted(room.room_id for room in detail.rooms) == rooms:
                    return detail
        return None

    async def update_record(
        self,
        project_id: str,
        record_id: str,
        *,
        user_account: str,
        country_code: str,
        operator_name: str,
        start_time: datetime,
        end_time: datetime,
        device_types: Iterable[DeviceType | int] | None = None,
        remark: str | None = None,
        room_ids: Iterable[str] | None = None,
    ) -> CreatedRecord:
        """Replace an authorization record's data (safe to repeat: it sends the same data again).

        The arguments are those of :meth:`create_record`.
        """
        request = _record_request(
            _UPDATE,
            project_id,
            record_id,
            user_account=user_account,
            country_code=country_code,
            operator_name=operator_name,
            start_time=start_time,
            end_time=end_time,
            device_types=device_types,
            remark=remark,
            room_ids=room_ids,
        )
        call = _RECORD.build(
            body=encode(request), identifiers=_identifiers(request), idempotent=True
        )
        return await self._fetch(call, CreatedRecord)

    async def list_rooms(
        self,
        project_id: str,
        *,
        page_no: int = 1,
        page_size: int = 20,
        authorization_status: StatusArg | None = None,
        task_status: TaskStatusArg | None = None,
        room_name: str | None = None,
    ) -> Page[Room]:
        """One page of the project's floors and rooms, maybe filtered (``page_size`` 1–10000).

        Statuses take one value or several; ``room_name`` matches rooms whose name contains it.
        """
        filters = _rooms_filters(project_id, authorization_status, task_status, room_name)
        return await self._page(_ROOMS, {}, filters, page_no=page_no, page_size=page_size)

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
        return self._walk(
            _ROOMS,
            {},
            _rooms_filters(project_id, authorization_status, task_status, room_name),
            page_size=page_size,
            limit=limit,
            start_page=start_page,
            prefetch=prefetch,
        )

    async def list_records(
        self,
        project_id: str,
        *,
        page_no: int = 1,
        page_size: int = 20,
        authorization_status: StatusArg | None = None,
        task_status: TaskStatusArg | None = None,
        operator_name: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> Page[ConstructionRecord]:
        """One page of the project's authorization records, optionally filtered.

        ``start_time``/``end_time`` (aware) keep the records whose window overlaps them.
        """
        filters = _records_filters(
            project_id, authorization_status, task_status, operator_name, start_time, end_time
        )
        return await self._page(_RECORDS, {}, filters, page_no=page_no, page_size=page_size)

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
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> AsyncPager[ConstructionRecord]:
        """Every matching authorization record, in order."""
        filters = _records_filters(
            project_id, authorization_status, task_status, operator_name, start_time, end_time
        )
        return self._walk(
            _RECORDS,
            {},
            filters,
            page_size=page_size,
            limit=limit,
            start_page=start_page,
            prefetch=prefetch,
        )

    async def get_record(self, record_id: str) -> ConstructionRecordDetail:
        """One authorization record with its rooms and device types."""
        call = _RECORD_DETAIL.build({"record_id": record_id})
        return await self._fetch(call, ConstructionRecordDetail)

    async def cancel_authorization(self, record_id: str) -> bool:
        """Cancel an authorization record, releasing its rooms; the server's ``success`` (True).

        Safe to repeat: a repeat refused after an attempt whose outcome was unknown returns True
        if the record is cancelled (see docs/protocol.md, "Repeated actions").
        """
        call = _CANCEL.build({"record_id": record_id})
        detail = _RECORD_DETAIL.build({"record_id": record_id})

        async def cancelled() -> dict[str, bool] | None:
            try:
                record = await self._fetch(detail, ConstructionRecordDetail)
            except TuyaError:
                return None
            cancelled = record.authorization_status is AuthorizationStatus.CANCELLED
            return {"success": True} if cancelled else None

        return (await self._fetch(call, CancelResult, reconcile=cancelled)).success
