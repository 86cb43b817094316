"""Smart Lighting construction management (v2.0, camelCase): records and rooms.

The two listings read their parameters from a JSON body on the GET (never the query string), as
the documents and Tuya's own SDK send them: ``page``/``pageSize``/``startTime``/``endTime`` as
numbers (or their decimal text), statuses as a list of decimal strings (or one). A room carries
``recordId``/``taskId`` only while it is authorised; cancelling a record releases its rooms.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from operator import attrgetter
from typing import Any

from aiohttp import web

from .framework import Handler, Reject, Runtime, json_body, page, param_int, require
from .state import DEVICE_TYPE_NAMES, Item, SandboxState, Tables

__all__ = ["ROUTES"]

_PREFIX = "/v2.0/illumination/construction"
_CACHE_LIMIT = 64
_RECORD_FIELDS = {
    "userAccount": str,
    "countryCode": str,
    "operatorName": str,
    "startTime": int,
    "endTime": int,
}

Filter = tuple[str, Callable[[dict[str, Any], str], Any], Callable[[Item, Any], bool]]
"""A listing filter: the parameter, its parser (``None``: not filtered) and the test of an item."""


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


_STATUS_FILTERS: tuple[Filter, ...] = (
    ("authorizationStatus", _statuses, lambda item, wanted: item["authorizationStatus"] in wanted),
    ("taskStatus", _statuses, lambda item, wanted: item["taskStatus"] in wanted),
)
_ROOM_FILTERS: tuple[Filter, ...] = (
    *_STATUS_FILTERS,
    ("roomName", _text, lambda room, text: text in room["roomName"]),
)
_RECORD_FILTERS: tuple[Filter, ...] = (
    *_STATUS_FILTERS,
    ("operatorName", _text, lambda record, name: record["operatorName"] == name),
    ("startTime", param_int, lambda record, start: record["endTime"] >= start),
    ("endTime", param_int, lambda record, end: record["startTime"] <= end),
)


def _project(runtime: Runtime, project_id: str) -> str:
    if project_id not in runtime.state.rooms:
        raise Reject(1106, "permission deny")
    return project_id


def _listing(
    tables: Callable[[SandboxState], Tables],
    filters: tuple[Filter, ...],
    show: Callable[[SandboxState, Item], Item] | None = None,
) -> Handler:
    """A listing of the project's items that pass the filters given, a page at a time. Filtered
    lists are cached until the data changes (streaming walks ask for every page)."""

    async def listing(request: web.Request, runtime: Runtime) -> dict[str, Any]:
        body = await request.read()
        params = json_body(body) if body else {}  # the query string is not read
        # "" is an account without a project: nothing
        project_id = "" if params.get("projectId") == "" else require(params, "projectId", str)
        if project_id:
            _project(runtime, project_id)
        chosen = tuple(
            (keep, value)
            for name, parse, keep in filters
            if (value := parse(params, name)) is not None
        )
        items = tables(runtime.state)(project_id) if project_id else []
        if chosen:
            key = (runtime.state.version, tables, project_id, chosen)
            cache = runtime.listing_cache
            if key not in cache:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[key] = [item for item in items if all(keep(item, v) for keep, v in chosen)]
            items = cache[key]
        shown = page(params, items, ("page", "pageSize"), 10_000, runtime.config.page_size_cap)[2]
        return {
            "total": len(items),
            "list": shown if show is None else [show(runtime.state, item) for item in shown],
        }

    return listing


def _record(request: web.Request, runtime: Runtime) -> Item:
    record = runtime.state.record(request.match_info["record_id"])
    if record is None:
        raise Reject(1000, "data not exist")
    _project(runtime, record["projectId"])
    return record


async def record_detail(request: web.Request, runtime: Runtime) -> Item:
    """``GET /task/record/{recordId}``."""
    return runtime.state.record_detail(_record(request, runtime))


async def cancel(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``DELETE /task/cancelAuthorization/{recordId}``: its rooms are released."""
    record = _record(request, runtime)
    record["authorizationStatus"] = 3
    runtime.state.set_record_rooms(record, record["roomIds"])
    return {"success": True}


def _known_values(data: dict[str, Any], key: str, kind: type, known: Container[Any]) -> list[Any]:
    """An optional list of known values of a type (not bools); missing → ``[]``."""
    values = data.get(key)
    if values is None:
        return []
    if not isinstance(values, list) or not all(
        isinstance(v, kind) and not isinstance(v, bool) and v in known for v in values
    ):
        raise Reject(1109, f"param {key} is illegal")
    return values


async def save_record(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``POST /record``: ``requestType`` 1 creates, 2 updates ``recordId``."""
    data = json_body(await request.read())
    if require(data, "requestType", int) not in (1, 2):
        raise Reject(1109, "param requestType is illegal")
    project_id = _project(runtime, require(data, "projectId", str))
    changes = {key: require(data, key, kind) for key, kind in _RECORD_FIELDS.items()}
    if changes["endTime"] <= changes["startTime"]:
        raise Reject(1109, "param endTime is illegal")
    changes["deviceTypes"] = _known_values(data, "deviceTypes", int, DEVICE_TYPE_NAMES)
    room_ids = _known_values(data, "roomIds", str, runtime.state.rooms[project_id].by_id)
    changes["taskNum"] = str(len(room_ids))
    remark = data.get("remark")
    if remark is not None:
        if not isinstance(remark, str):
            raise Reject(1109, "param remark is illegal")
        changes["remark"] = remark

    if data["requestType"] == 2:
        record = runtime.state.record(require(data, "recordId", str))
        if record is None or record["projectId"] != project_id:
            raise Reject(1000, "data not exist")
        record.update(changes)
        runtime.state.set_record_rooms(record, room_ids)
    else:
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


rooms: Handler = _listing(attrgetter("rooms"), _ROOM_FILTERS)
records: Handler = _listing(attrgetter("records"), _RECORD_FILTERS, SandboxState.record_summary)

ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", _PREFIX + "/record", save_record),
    ("GET", _PREFIX + "/task/rooms", rooms),
    ("GET", _PREFIX + "/task/records", records),
    ("GET", _PREFIX + "/task/record/{record_id}", record_detail),
    ("DELETE", _PREFIX + "/task/cancelAuthorization/{record_id}", cancel),
]
