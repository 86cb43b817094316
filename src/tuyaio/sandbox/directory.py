"""The directory: Smart Engineering projects, workers, rooms and devices, and lighting projects.

Served from the same seeded data as the other calls: the workers, rooms and devices listed here
are exactly the ones a maintenance task may name, the lighting projects exactly the ones the
construction calls accept. Smart Engineering listings page by ``page_no``/``page_size`` (1–99) in
the query, the lighting projects by ``page``/``pageSize`` (1–10000) and ``keyword`` in the query;
out of range is 1101, and ``page_size_cap`` caps them as it does the others. An unknown project
is 1106 (as for the tasks), an unknown room 1000.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .framework import Handler, Reject, Runtime, page, query
from .state import Item, Table

__all__ = ["ROUTES"]

_OSAAS = "/v1.0/osaas"


def _page(request: web.Request, runtime: Runtime, items: list[Item], key: str) -> dict[str, Any]:
    cap = runtime.config.page_size_cap
    page_no, page_size, shown = page(query(request), items, ("page_no", "page_size"), 99, cap)
    return {"total": len(items), "page_no": page_no, "page_size": page_size, key: shown}


def _project(request: web.Request, runtime: Runtime) -> str:
    project_id = request.match_info["project_id"]
    if project_id not in runtime.state.projects.by_id:
        raise Reject(1106, "permission deny")
    return project_id


def _room(request: web.Request, runtime: Runtime) -> Item:
    room = runtime.state.room(request.match_info["room_id"])
    if room is None:
        raise Reject(1000, "data not exist")
    return room


async def projects(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /v1.0/osaas/projects?page_no&page_size``."""
    return _page(request, runtime, runtime.state.projects.items, "projects")


async def project(request: web.Request, runtime: Runtime) -> Item:
    """``GET /v1.0/osaas/projects/{project_id}``."""
    return runtime.state.projects.by_id[_project(request, runtime)]


async def workers(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /v1.0/osaas/construction/workers?page_no&page_size``."""
    return _page(request, runtime, runtime.state.workers.items, "workers")


async def rooms(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /v1.0/osaas/projects/{project_id}/rooms?page_no&page_size``."""
    state = runtime.state
    listing = _page(request, runtime, state.project_rooms(_project(request, runtime)), "rooms")
    listing["rooms"] = [state.room_summary(room) for room in listing["rooms"]]
    return listing


async def room(request: web.Request, runtime: Runtime) -> Item:
    """``GET /v1.0/osaas/rooms/{room_id}``."""
    return _room(request, runtime)


async def devices(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /v1.0/osaas/projects/{project_id}/devices?page_no&page_size``."""
    return _page(
        request, runtime, runtime.state.project_devices(_project(request, runtime)), "devices"
    )


async def room_devices(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /v1.0/osaas/rooms/{room_id}/devices?page_no&page_size``."""
    return _page(
        request, runtime, runtime.state.room_devices(_room(request, runtime)["room_id"]), "devices"
    )


async def lighting_projects(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /v1.0/illumination/construction/projects?page&pageSize&keyword``: ``keyword``
    keeps the projects whose name contains it."""
    params = query(request)
    table: Table = runtime.state.lighting
    keyword = params.get("keyword")
    items = [p for p in table.items if keyword in p["name"]] if keyword else table.items
    shown = page(params, items, ("page", "pageSize"), 10_000, runtime.config.page_size_cap)[2]
    return {"total": len(items), "list": shown}


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", _OSAAS + "/projects", projects),
    ("GET", _OSAAS + "/projects/{project_id}", project),
    ("GET", _OSAAS + "/construction/workers", workers),
    ("GET", _OSAAS + "/projects/{project_id}/rooms", rooms),
    ("GET", _OSAAS + "/rooms/{room_id}", room),
    ("GET", _OSAAS + "/projects/{project_id}/devices", devices),
    ("GET", _OSAAS + "/rooms/{room_id}/devices", room_devices),
    ("GET", "/v1.0/illumination/construction/projects", lighting_projects),
]
