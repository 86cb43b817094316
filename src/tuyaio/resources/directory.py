"""Where the IDs come from: projects, workers, rooms and devices: ``client.directory``.

Neither maintenance nor construction calls: they list what those calls take as arguments (a
project ID, a worker ID, room IDs, device IDs). Each method says how sure we are of its wire
form: **[doc]** read in Tuya's documentation, **[sdk]** read only in Tuya's lighting Java SDK,
**[guess]** ours (docs/protocol.md, "Directory calls").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from ..models.common import Page
from ..models.directory import (
    Device,
    LightingProject,
    Project,
    ProjectRoom,
    ProjectRoomDetail,
    Worker,
)
from ..pagination import AsyncPager
from ..routes import Route
from ..validation import check_optional_text
from ._base import CONSTRUCTION_PAGING, MAINTENANCE_PAGING, Listing, Paging, Resource

__all__ = ["DirectoryResource"]

T = TypeVar("T")

_OSAAS = "/v1.0/osaas"


def _osaas(*items_keys: str) -> Paging:
    """Smart Engineering paging (``page_no``/``page_size`` 1–99 in the query), items under the
    first of ``items_keys`` present."""
    return attrs.evolve(MAINTENANCE_PAGING, items_keys=items_keys)


_PROJECTS = Listing(Route("GET", _OSAAS + "/projects"), Project, _osaas("projects"), "project_id")
_PROJECT = Route("GET", _OSAAS + "/projects/{project_id}")
# One English field table names the list "tasks"; the examples and the Chinese page "workers".
_WORKERS = Listing(
    Route("GET", _OSAAS + "/construction/workers"), Worker, _osaas("workers", "tasks"), "worker_id"
)
_ROOMS = Listing(
    Route("GET", _OSAAS + "/projects/{project_id}/rooms"), ProjectRoom, _osaas("rooms"), "room_id"
)
_ROOM = Route("GET", _OSAAS + "/rooms/{room_id}")
_DEVICES = Listing(
    Route("GET", _OSAAS + "/projects/{project_id}/devices"), Device, _osaas("devices"), "device_id"
)
_ROOM_DEVICES = Listing(
    Route("GET", _OSAAS + "/rooms/{room_id}/devices"), Device, _osaas("devices"), "device_id"
)
_LIGHTING_PROJECTS = Listing(
    Route("GET", "/v1.0/illumination/construction/projects"),
    LightingProject,
    attrs.evolve(CONSTRUCTION_PAGING, in_body=False),  # the SDK sends these in the query
    "project_id",
)


class DirectoryResource(Resource):
    """Smart Engineering projects, workers, rooms and devices, and Smart Lighting projects:
    ``client.directory``.

    ``list_*`` returns one page (``page_no`` from 1; ``page_size`` 1–99, 1–10000 for lighting
    projects); ``iter_*`` walks every page with the paging options of ``iter_tasks``.
    """

    def _every(
        self,
        listing: Listing[T],
        path: Mapping[str, str],
        page_size: int,
        limit: int | None,
        start_page: int,
        prefetch: int,
        filters: Mapping[str, Any] | None = None,
    ) -> AsyncPager[T]:
        """A walk of ``listing`` with the options every ``iter_*`` takes."""
        return self._walk(
            listing,
            path,
            filters or {},
            page_size=page_size,
            limit=limit,
            start_page=start_page,
            prefetch=prefetch,
        )

    async def list_projects(self, *, page_no: int = 1, page_size: int = 20) -> Page[Project]:
        """One page of the Smart Engineering projects the cloud project may use. [doc]"""
        return await self._page(_PROJECTS, {}, {}, page_no=page_no, page_size=page_size)

    def iter_projects(
        self,
        *,
        page_size: int = 99,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
    ) -> AsyncPager[Project]:
        """Every Smart Engineering project, in the server's order. [doc]"""
        return self._every(_PROJECTS, {}, page_size, limit, start_page, prefetch)

    async def get_project(self, project_id: str) -> Project:
        """One Smart Engineering project. [doc]"""
        return await self._fetch(_PROJECT.build({"project_id": project_id}), Project)

    async def list_workers(self, *, page_no: int = 1, page_size: int = 20) -> Page[Worker]:
        """One page of the account's workers (account-wide: no project). [doc]"""
        return await self._page(_WORKERS, {}, {}, page_no=page_no, page_size=page_size)

    def iter_workers(
        self,
        *,
        page_size: int = 99,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
    ) -> AsyncPager[Worker]:
        """Every worker of the account, in the server's order. [doc]"""
        return self._every(_WORKERS, {}, page_size, limit, start_page, prefetch)

    async def list_rooms(
        self, project_id: str, *, page_no: int = 1, page_size: int = 20
    ) -> Page[ProjectRoom]:
        """One page of a Smart Engineering project's rooms. [doc; the paging parameter names are
        a guess from the answer, which echoes ``page_no`` and ``page_size``]"""
        path = {"project_id": project_id}
        return await self._page(_ROOMS, path, {}, page_no=page_no, page_size=page_size)

    def iter_rooms(
        self,
        project_id: str,
        *,
        page_size: int = 99,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
    ) -> AsyncPager[ProjectRoom]:
        """Every room of a Smart Engineering project. [doc; paging names a guess, as
        :meth:`list_rooms`]"""
        return self._every(
            _ROOMS, {"project_id": project_id}, page_size, limit, start_page, prefetch
        )

    async def get_room(self, room_id: str) -> ProjectRoomDetail:
        """One Smart Engineering room, with its project. [doc]"""
        return await self._fetch(_ROOM.build({"room_id": room_id}), ProjectRoomDetail)

    async def list_devices(
        self, project_id: str, *, page_no: int = 1, page_size: int = 20
    ) -> Page[Device]:
        """One page of a Smart Engineering project's devices. [doc]"""
        path = {"project_id": project_id}
        return await self._page(_DEVICES, path, {}, page_no=page_no, page_size=page_size)

    def iter_devices(
        self,
        project_id: str,
        *,
        page_size: int = 99,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
    ) -> AsyncPager[Device]:
        """Every device of a Smart Engineering project. [doc]"""
        return self._every(
            _DEVICES, {"project_id": project_id}, page_size, limit, start_page, prefetch
        )

    async def list_room_devices(
        self, room_id: str, *, page_no: int = 1, page_size: int = 20
    ) -> Page[Device]:
        """One page of a room's devices: the ``device_ids`` a task may name for this room.

        [guess] Tuya documents only the path; the paging and the answer are assumed to be those
        of :meth:`list_devices`.
        """
        path = {"room_id": room_id}
        return await self._page(_ROOM_DEVICES, path, {}, page_no=page_no, page_size=page_size)

    def iter_room_devices(
        self,
        room_id: str,
        *,
        page_size: int = 99,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
    ) -> AsyncPager[Device]:
        """Every device of a room. [guess: see :meth:`list_room_devices`]"""
        return self._every(
            _ROOM_DEVICES, {"room_id": room_id}, page_size, limit, start_page, prefetch
        )

    async def list_lighting_projects(
        self, *, page_no: int = 1, page_size: int = 20, keyword: str | None = None
    ) -> Page[LightingProject]:
        """One page of the Smart Lighting projects, maybe only those matching ``keyword``.

        [sdk] Read only in Tuya's lighting Java SDK: ``page``, ``pageSize`` and ``keyword`` in the
        query (not a GET body), the items under ``list`` (or ``records``).
        """
        filters = {"keyword": check_optional_text("keyword", keyword)}
        return await self._page(
            _LIGHTING_PROJECTS, {}, filters, page_no=page_no, page_size=page_size
        )

    def iter_lighting_projects(
        self,
        *,
        keyword: str | None = None,
        page_size: int = 1000,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
    ) -> AsyncPager[LightingProject]:
        """Every Smart Lighting project, maybe only those matching ``keyword``. [sdk: see
        :meth:`list_lighting_projects`]"""
        filters = {"keyword": check_optional_text("keyword", keyword)}
        return self._every(_LIGHTING_PROJECTS, {}, page_size, limit, start_page, prefetch, filters)
