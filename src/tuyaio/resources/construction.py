"""Smart Lighting construction management (v2.0): ``client.construction``."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import IntEnum
from typing import Any, NotRequired, TypedDict, Unpack

from .._converter import CONSTRUCTION, encode, from_ms, to_ms
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
from ..options import Options
from ..pagination import AsyncPager
from ..routes import Route
from ..validation import check_aware, check_enum_values, check_ids
from ._base import CONSTRUCTION_PAGING, SETTLE_S, Listing, Resource

__all__ = ["ConstructionResource", "RecordFields", "RecordFilters", "RoomFilters"]

_PREFIX = "/v2.0/illumination/construction"
_RECORD = Route("POST", _PREFIX + "/record")
_ROOMS = Listing(Route("GET", _PREFIX + "/task/rooms"), Room, CONSTRUCTION_PAGING, "room_id")
_RECORDS = Listing(
    Route("GET", _PREFIX + "/task/records"), ConstructionRecord, CONSTRUCTION_PAGING, "record_id"
)
_RECORD_DETAIL = Route("GET", _PREFIX + "/task/record/{record_id}")
_CANCEL = Route("DELETE", _PREFIX + "/task/cancelAuthorization/{record_id}")

_CREATE, _UPDATE = 1, 2

StatusArg = AuthorizationStatus | int | str | Iterable[AuthorizationStatus | int | str]
TaskStatusArg = TaskStatus | int | str | Iterable[TaskStatus | int | str]
_STATUSES: dict[str, type[IntEnum]] = {
    "authorization_status": AuthorizationStatus,
    "task_status": TaskStatus,
}
_SCALAR_WHEN_ONE = frozenset({"task_status"})
"""Filters that the documents know only from their sample requests, which send one value as a
string (``"taskStatus": "1"``): one value goes that way, several as a list."""


class RecordFields(TypedDict):
    """The arguments of ``create_record`` and ``update_record``.

    ``start_time``/``end_time`` must be timezone-aware, from 1970 on, end after start;
    ``country_code`` is the calling code without ``+`` (e.g. ``"86"``); ``room_ids`` must not
    repeat a room. Unset optional fields are left out of the request.
    """

    user_account: str
    country_code: str
    operator_name: str
    start_time: datetime
    end_time: datetime
    device_types: NotRequired[Iterable[DeviceType | int] | None]
    remark: NotRequired[str | None]
    room_ids: NotRequired[Iterable[str] | None]


class RoomFilters(TypedDict, total=False):
    """The filters of ``list_rooms`` and ``iter_rooms`` (``None``: not filtered).

    Statuses take one value or several (members, ints or decimal strings); ``room_name`` matches
    rooms whose name contains it. ``task_status`` is inferred from the sample requests (the
    parameter tables do not list it): see docs/protocol.md, "Construction listings".
    """

    authorization_status: StatusArg | None
    task_status: TaskStatusArg | None
    room_name: str | None


class RecordFilters(TypedDict, total=False):
    """The filters of ``list_records`` and ``iter_records`` (``None``: not filtered).

    ``start_time``/``end_time`` (aware) keep the records whose window overlaps them; statuses as in
    :class:`RoomFilters` (``task_status`` inferred from the sample requests).
    """

    authorization_status: StatusArg | None
    task_status: TaskStatusArg | None
    operator_name: str | None
    start_time: datetime | None
    end_time: datetime | None


def _record_request(
    request_type: int, project_id: str, record_id: str | None, fields: RecordFields
) -> RecordRequest:
    given: dict[str, Any] = dict(fields)
    start = check_aware("start_time", given.get("start_time"))
    if check_aware("end_time", given.get("end_time")) <= start:
        raise ValueError(
            f"end_time must be after start_time, got {start.isoformat()} and "
            f"{given['end_time'].isoformat()}"
        )
    if given.get("device_types") is not None:
        given["device_types"] = check_enum_values("device_types", given["device_types"], DeviceType)
    if given.get("room_ids") is not None:
        given["room_ids"] = check_ids("room_ids", given["room_ids"], unique=True)
    return RecordRequest(
        request_type=request_type, record_id=record_id, project_id=project_id, **given
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


def _filters(project_id: str, filters: Mapping[str, Any], declared: Any) -> dict[str, Any]:
    """A listing's filters as its body carries them: statuses as lists of decimal strings
    (``["0", "1"]``), but one ``taskStatus`` as the sample requests send it (``"1"``); times in
    milliseconds. ``projectId`` is a body value, not a path segment: ``""`` (no project) lists
    nothing."""
    unknown = filters.keys() - declared.__annotations__.keys()
    if unknown:
        raise TypeError(f"unexpected keyword argument {min(unknown)!r}")
    body: dict[str, Any] = {"projectId": project_id}
    for name in declared.__annotations__:
        value = filters.get(name)
        if value is not None and name in _STATUSES:
            members = check_enum_values(name, value, _STATUSES[name], digit_strings=True)
            value = [str(m.value) for m in members]
            if name in _SCALAR_WHEN_ONE and len(value) == 1:
                value = value[0]
        elif value is not None and name.endswith("_time"):
            value = to_ms(check_aware(name, value))
        body[CONSTRUCTION.wire_name(name)] = value
    return body


class ConstructionResource(Resource):
    """Authorization records and rooms of Smart Lighting projects: ``client.construction``."""

    async def create_record(self, project_id: str, **fields: Unpack[RecordFields]) -> CreatedRecord:
        """Authorise a construction team (``user_account``) for a time window: see
        :class:`RecordFields` for the arguments.

        Never retried once it may have reached the server: see :class:`OutcomeUnknownError`.
        """
        request = _record_request(_CREATE, project_id, None, fields)
        call = _RECORD.build(body=encode(request), identifiers=_identifiers(request))
        return await self._fetch(call, CreatedRecord)

    async def find_created(
        self, error: OutcomeUnknownError, *, settle: float = SETTLE_S, interval: float = 2.0
    ) -> ConstructionRecordDetail | None:
        """The record that a :meth:`create_record` which raised ``error`` created, or ``None``.

        Looks through the project's records by the same operator whose window overlaps the
        request's for one with the same account, operator, start and end (to the millisecond)
        and rooms. Certain unless an identical record existed before the attempt (records carry
        no creation time). The server may still be processing the create: until ``settle``
        seconds have passed since it was last sent, a search that finds nothing is repeated
        every ``interval`` seconds. ``None`` means a search that began ``settle`` seconds or more
        after the last send found nothing: the create did not happen. See docs/errors.md,
        "Outcome unknown".
        """
        ids = error.identifiers
        if error.route != _RECORD.template or "start_time" not in ids:
            raise ValueError("find_created takes the OutcomeUnknownError of a create_record")
        search = functools.partial(self._search_created, ids)
        return await self._find_settled(error, search, settle, interval)

    async def _search_created(self, ids: Mapping[str, str]) -> ConstructionRecordDetail | None:
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
        self, project_id: str, record_id: str, **fields: Unpack[RecordFields]
    ) -> CreatedRecord:
        """Replace an authorization record's data (safe to repeat: it sends the same data again).

        The arguments are those of :meth:`create_record`.
        """
        request = _record_request(_UPDATE, project_id, record_id, fields)
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
        **filters: Unpack[RoomFilters],
    ) -> Page[Room]:
        """One page of the project's floors and rooms, maybe filtered (``page_size`` 1–10000):
        see :class:`RoomFilters`."""
        body = _filters(project_id, filters, RoomFilters)
        return await self._page(_ROOMS, {}, body, page_no=page_no, page_size=page_size)

    def iter_rooms(
        self,
        project_id: str,
        *,
        page_size: int = 1000,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
        **filters: Unpack[RoomFilters],
    ) -> AsyncPager[Room]:
        """Every matching floor and room, in order (see ``iter_tasks`` for the paging options)."""
        body = _filters(project_id, filters, RoomFilters)
        return self._walk(
            _ROOMS,
            {},
            body,
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
        **filters: Unpack[RecordFilters],
    ) -> Page[ConstructionRecord]:
        """One page of the project's authorization records, maybe filtered: see
        :class:`RecordFilters`."""
        body = _filters(project_id, filters, RecordFilters)
        return await self._page(_RECORDS, {}, body, page_no=page_no, page_size=page_size)

    def iter_records(
        self,
        project_id: str,
        *,
        page_size: int = 1000,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
        **filters: Unpack[RecordFilters],
    ) -> AsyncPager[ConstructionRecord]:
        """Every matching authorization record, in order."""
        body = _filters(project_id, filters, RecordFilters)
        return self._walk(
            _RECORDS,
            {},
            body,
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

        async def cancelled(options: Options) -> dict[str, bool] | None:
            try:
                record = await self._within(options)._fetch(detail, ConstructionRecordDetail)
            except TuyaError:
                return None
            cancelled = record.authorization_status is AuthorizationStatus.CANCELLED
            return {"success": True} if cancelled else None

        return (await self._fetch(call, CancelResult, reconcile=cancelled)).success
