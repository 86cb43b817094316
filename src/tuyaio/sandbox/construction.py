"""Smart Lighting construction management (v2.0, camelCase): records and rooms.

The two listings read their parameters from a JSON body on the GET (never the query string), as
the documents and Tuya's own SDK send them: ``page``/``pageSize``/``startTime``/``endTime`` as
numbers (or their decimal text), statuses as a list of decimal strings (or one). A room carries
``recordId``/``taskId`` only while it is authorised; cancelling a record releases its rooms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from .framework import Handler, Reject, Runtime, json_body, page_args, param_int, require
from .state import DEVICE_TYPE_NAMES

__all__ = ["ROUTES"]

_PREFIX = "/v2.0/illumination/construction"
_CACHE_LIMIT = 64


def _project(runtime: Runtime, project_id: Any) -> str:
    if not runtime.state.owns_lighting_project(project_id):
        raise Reject(1106, "permission deny")
    return str(project_id)


async def _listing_params(request: web.Request) -> dict[str, Any]:
    """The listing's parameters: a JSON object body (the query string is not read)."""
    body = await request.read()
    return json_body(body) if body else {}


def _listing_project(params: dict[str, Any], runtime: Runtime) -> str | None:
    """The project to list, or ``None`` for ``""`` (an account without a project: nothing)."""
    project_id = params.get("projectId")
    if project_id is None:
        raise Reject(1100, "param projectId is empty")
    if not isinstance(project_id, str):
        raise Reject(1109, "param projectId is illegal")
    return _project(runtime, project_id) if project_id else None


def _statuses(params: dict[str, Any], name: str) -> frozenset[int] | None:
    """A status filter: a list of decimal strings (``["0","1"]``) or one (``"1"``)."""
    raw = params.get(name)
    if raw is None:
        return None
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(
        isinstance(value, str) and value.isdigit() and value.isascii() for value in values
    ):
        raise Reject(1109, f"param {name} is illegal")
    return frozenset(int(value) for value in values) or None


def _text(params: dict[str, Any], name: str) -> str | None:
    raw = params.get(name)
    if raw is not None and not isinstance(raw, str):
        raise Reject(1109, f"param {name} is illegal")
    return raw or None


def _page(params: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    page, size = page_args(params, "page", "pageSize", max_size=10_000, default_size=20)
    start = (page - 1) * size
    return {"total": len(items), "list": items[start : start + size]}


def _filtered(
    runtime: Runtime,
    key: tuple[Any, ...],
    items: Callable[[], list[dict[str, Any]]],
    keep: Callable[[dict[str, Any]], bool],
) -> list[dict[str, Any]]:
    """Filtered items, cached until the data changes (streaming walks ask for every page)."""
    cache_key = (runtime.state.version, *key)
    cached = runtime.listing_cache.get(cache_key)
    if cached is None:
        if len(runtime.listing_cache) >= _CACHE_LIMIT:
            runtime.listing_cache.clear()
        cached = runtime.listing_cache[cache_key] = [item for item in items() if keep(item)]
    return cached


async def rooms(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /task/rooms`` with a JSON body."""
    params = await _listing_params(request)
    project_id = _listing_project(params, runtime)
    statuses = _statuses(params, "authorizationStatus")
    task_statuses = _statuses(params, "taskStatus")
    name = _text(params, "roomName")
    if project_id is None:
        return _page(params, [])
    all_rooms = runtime.state.rooms(project_id)
    if statuses is None and task_statuses is None and name is None:
        return _page(params, all_rooms)

    def keep(room: dict[str, Any]) -> bool:
        return (
            (statuses is None or room["authorizationStatus"] in statuses)
            and (task_statuses is None or room["taskStatus"] in task_statuses)
            and (name is None or name in room["roomName"])
        )

    key = ("rooms", project_id, statuses, task_statuses, name)
    return _page(params, _filtered(runtime, key, lambda: all_rooms, keep))


async def records(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /task/records`` with a JSON body."""
    params = await _listing_params(request)
    project_id = _listing_project(params, runtime)
    statuses = _statuses(params, "authorizationStatus")
    task_statuses = _statuses(params, "taskStatus")
    operator = _text(params, "operatorName")
    start, end = param_int(params, "startTime"), param_int(params, "endTime")
    if project_id is None:
        return _page(params, [])

    def keep(record: dict[str, Any]) -> bool:
        return (
            (statuses is None or record["authorizationStatus"] in statuses)
            and (task_statuses is None or record["taskStatus"] in task_statuses)
            and (operator is None or record["operatorName"] == operator)
            and (end is None or record["startTime"] <= end)
            and (start is None or record["endTime"] >= start)
        )

    key = ("records", project_id, statuses, task_statuses, operator, start, end)
    stored = _filtered(runtime, key, lambda: runtime.state.all_records(project_id), keep)
    page = _page(params, stored)
    page["list"] = [runtime.state.record_summary(record) for record in page["list"]]
    return page


def _record(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    record = runtime.state.record(request.match_info["record_id"])
    if record is None:
        raise Reject(1000, "data not exist")
    _project(runtime, record["projectId"])
    return record


async def record_detail(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /task/record/{recordId}``."""
    return runtime.state.record_detail(_record(request, runtime))


async def cancel(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``DELETE /task/cancelAuthorization/{recordId}``."""
    runtime.state.cancel_record(_record(request, runtime))
    return {"success": True}


def _optional_list(data: dict[str, Any], key: str, item: type) -> list[Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, item) and not isinstance(v, bool) for v in value
    ):
        raise Reject(1109, f"param {key} is illegal")
    return value


async def save_record(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``POST /record``: ``requestType`` 1 creates, 2 updates ``recordId``."""
    data = json_body(await request.read())
    request_type = require(data, "requestType", int)
    if request_type not in (1, 2):
        raise Reject(1109, "param requestType is illegal")
    project_id = _project(runtime, require(data, "projectId", str))
    fields = {
        key: require(data, key, str) for key in ("userAccount", "countryCode", "operatorName")
    }
    start, end = require(data, "startTime", int), require(data, "endTime", int)
    if end <= start:
        raise Reject(1109, "param endTime is illegal")
    device_types = _optional_list(data, "deviceTypes", int) or []
    if any(kind not in DEVICE_TYPE_NAMES for kind in device_types):
        raise Reject(1109, "param deviceTypes is illegal")
    room_ids = _optional_list(data, "roomIds", str) or []
    if any(runtime.state.room(project_id, room_id) is None for room_id in room_ids):
        raise Reject(1109, "param roomIds is illegal")
    remark = data.get("remark")
    if remark is not None and not isinstance(remark, str):
        raise Reject(1109, "param remark is illegal")
    changes: dict[str, Any] = {
        **fields,
        "startTime": start,
        "endTime": end,
        "deviceTypes": device_types,
        "taskNum": str(len(room_ids)),
    }
    if remark is not None:
        changes["remark"] = remark

    if request_type == 2:
        record = runtime.state.record(require(data, "recordId", str))
        if record is None or record["projectId"] != project_id:
            raise Reject(1000, "data not exist")
        record.update(changes)
        runtime.state.set_record_rooms(record, room_ids)
        return {"recordId": record["recordId"], "success": True}

    record = {
        "recordId": runtime.state.new_id(),
        "projectId": project_id,
        "operatorUid": "sandbox-uid",
        "deviceCount": 0,
        "deviceCountFinish": 0,
        "taskStatus": 1,
        "authorizationStatus": 1,
        "roomIds": room_ids,
        **changes,
    }
    runtime.state.save_record(record)
    return {"recordId": record["recordId"], "success": True}


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", _PREFIX + "/record", save_record),
    ("GET", _PREFIX + "/task/rooms", rooms),
    ("GET", _PREFIX + "/task/records", records),
    ("GET", _PREFIX + "/task/record/{record_id}", record_detail),
    ("DELETE", _PREFIX + "/task/cancelAuthorization/{record_id}", cancel),
]
