"""Smart Engineering maintenance tasks (v1.0): ``client.maintenance``."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from .._converter import encode
from ..errors import NotFoundError, OutcomeUnknownError, TuyaError, WaitTimeoutError
from ..models.common import Page
from ..models.maintenance import (
    MaintenanceStatus,
    MaintenanceTask,
    MaintenanceTaskDetail,
    RoomDevices,
    TaskCreation,
)
from ..options import Options
from ..pagination import AsyncPager
from ..routes import Call, Route
from ..transport import Reconcile
from ..validation import check_ids, check_positive_number, check_unique
from ._base import MAINTENANCE_PAGING, SETTLE_S, Listing, Resource, _window

__all__ = ["MaintenanceResource"]

_PREFIX = "/v1.0/osaas/projects/{project_id}/maintenance"
_CREATE = Route("POST", _PREFIX + "/task")
_TASKS = Listing(Route("GET", _PREFIX + "/tasks"), MaintenanceTask, MAINTENANCE_PAGING, "task_id")
_TASK = Route("GET", _PREFIX + "/tasks/{task_id}")
_REOPEN = Route("POST", _PREFIX + "/tasks/{task_id}/reopen", idempotent=True)
_ACCEPT = Route("POST", _PREFIX + "/tasks/{task_id}/acceptance", idempotent=True)
_DELETE = Route("DELETE", _PREFIX + "/tasks/{task_id}")

_ACCEPTED = frozenset({MaintenanceStatus.ACCEPTANCE_COMPLETE})
_REOPENED = frozenset({MaintenanceStatus.PENDING_MAINTENANCE, MaintenanceStatus.IN_MAINTENANCE})

RoomsArg = Mapping[str, Iterable[str]] | Iterable[RoomDevices]


def _rooms(rooms: RoomsArg) -> tuple[RoomDevices, ...]:
    pairs = (
        rooms.items() if isinstance(rooms, Mapping) else ((r.room_id, r.device_ids) for r in rooms)
    )
    checked = tuple(
        RoomDevices(
            room_id=check_ids("rooms: room ID", (room_id,))[0],
            device_ids=check_ids(f"rooms[{room_id!r}]", device_ids, unique=True),
        )
        for room_id, device_ids in pairs
    )
    if not checked:
        raise ValueError("rooms must name at least one room")
    check_unique("rooms", tuple(room.room_id for room in checked))
    return checked


class MaintenanceResource(Resource):
    """Maintenance tasks of Smart Engineering projects: ``client.maintenance``."""

    async def create_task(self, project_id: str, *, worker_id: str, rooms: RoomsArg) -> str:
        """Create a task for ``worker_id`` over ``rooms`` and return its ID.

        ``rooms`` maps room IDs to the device IDs in them (or is a list of :class:`RoomDevices`);
        a room, or a device within a room, listed twice is refused.
        Never retried once it may have reached the server: see :class:`OutcomeUnknownError`.
        """
        body = TaskCreation(worker_id=worker_id, rooms=_rooms(rooms))
        relations = {room.room_id: list(room.device_ids) for room in body.rooms}
        call = _CREATE.build(
            {"project_id": project_id},
            body=encode(body),
            identifiers={
                "project_id": project_id,
                "worker_id": worker_id,
                "rooms": json.dumps(relations, separators=(",", ":")),
            },
        )
        return await self._fetch(call, str)

    async def find_created(
        self,
        error: OutcomeUnknownError,
        *,
        margin: float = 120.0,
        settle: float = SETTLE_S,
        interval: float = 2.0,
    ) -> MaintenanceTaskDetail | None:
        """The task that a :meth:`create_task` which raised ``error`` created, or ``None``.

        Looks through the project's tasks created between ``margin`` seconds before the first
        attempt was sent and ``margin`` (at least ``settle``) seconds after the last (on the
        server's clock) for one with exactly the requested rooms and devices. Certain when no
        other task with those rooms and devices was created in that window (a listing does not
        name the worker). The server may still be processing the create: until ``settle``
        seconds have passed since it was last sent, a search that finds nothing is repeated
        every ``interval`` seconds. ``None`` means a search that began ``settle`` seconds or more
        after the last send found nothing: the create did not happen. See docs/errors.md,
        "Outcome unknown".
        """
        ids = error.identifiers
        if error.route != _CREATE.template or "rooms" not in ids:
            raise ValueError("find_created takes the OutcomeUnknownError of a create_task")
        wanted = {room: sorted(devices) for room, devices in json.loads(ids["rooms"]).items()}
        window = _window(error, max(margin, settle))
        search = functools.partial(self._search_created, ids["project_id"], wanted, window)
        return await self._find_settled(error, search, settle, interval)

    async def _search_created(
        self, project_id: str, wanted: dict[str, list[str]], window: tuple[datetime, datetime]
    ) -> MaintenanceTaskDetail | None:
        newest_first, previous = True, None
        async with self.iter_tasks(project_id) as tasks:  # leaving cancels the prefetch
            async for task in tasks:
                created = task.created_at
                if created is None:
                    continue
                newest_first = newest_first and (previous is None or created <= previous)
                previous = created
                if newest_first and created < window[0]:
                    break
                if window[0] <= created <= window[1]:
                    detail = await self.get_task(project_id, task.task_id)
                    if {r.room_id: sorted(r.device_ids) for r in detail.rooms} == wanted:
                        return detail
        return None

    async def wait_for_status(
        self,
        project_id: str,
        task_id: str,
        statuses: MaintenanceStatus | str | Iterable[MaintenanceStatus | str],
        *,
        interval: float = 5.0,
        max_wait: float = 300.0,
    ) -> MaintenanceTaskDetail:
        """Poll the task every ``interval`` seconds until its status is one of ``statuses``.

        Returns the task as last read; raises :class:`WaitTimeoutError` (with the last status
        seen) when ``max_wait`` seconds pass first. Each read is an ordinary call (retried,
        rate-limited); the wait between reads is never longer than what is left.
        """
        wanted = frozenset(
            MaintenanceStatus(s) for s in ([statuses] if isinstance(statuses, str) else statuses)
        )
        interval = check_positive_number("interval", interval)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + check_positive_number("max_wait", max_wait)
        while True:
            task = await self.get_task(project_id, task_id)
            if task.status in wanted:
                return task
            left = deadline - loop.time()
            if left <= 0:
                raise WaitTimeoutError(
                    method=_TASK.method,
                    route=_TASK.template,
                    path_args={"project_id": project_id, "task_id": task_id},
                    last_status=None if task.status is None else str(task.status.value),
                    waited_s=max_wait,
                )
            await asyncio.sleep(min(interval, left))

    async def list_tasks(
        self, project_id: str, *, page_no: int = 1, page_size: int = 20
    ) -> Page[MaintenanceTask]:
        """One page of the project's tasks, newest first (``page_size`` 1–99)."""
        path = {"project_id": project_id}
        return await self._page(_TASKS, path, {}, page_no=page_no, page_size=page_size)

    def iter_tasks(
        self,
        project_id: str,
        *,
        page_size: int = 99,
        limit: int | None = None,
        start_page: int = 1,
        prefetch: int = 8,
    ) -> AsyncPager[MaintenanceTask]:
        """Every task of the project, in order: ``async for task in maintenance.iter_tasks(p)``.

        Stops at ``total``, at an empty page, or after ``limit`` tasks; up to ``prefetch`` pages
        (0 to 64) are requested ahead of the loop (0: one at a time).
        """
        return self._walk(
            _TASKS,
            {"project_id": project_id},
            {},
            page_size=page_size,
            limit=limit,
            start_page=start_page,
            prefetch=prefetch,
        )

    async def get_task(self, project_id: str, task_id: str) -> MaintenanceTaskDetail:
        """One task with its rooms and devices."""
        call = _TASK.build({"project_id": project_id, "task_id": task_id})
        return await self._fetch(call, MaintenanceTaskDetail)

    async def reopen_task(self, project_id: str, task_id: str) -> bool:
        """Send a task pending or past acceptance back to maintenance; the server's answer.

        Safe to repeat: a repeat refused after an attempt whose outcome was unknown returns True
        if the task is back in maintenance (see docs/protocol.md, "Repeated actions").
        """
        call = _REOPEN.build({"project_id": project_id, "task_id": task_id})
        return await self._fetch(call, bool, reconcile=self._status_check(call, _REOPENED))

    async def accept_task(self, project_id: str, task_id: str) -> bool:
        """Accept a task that is pending acceptance; the server's answer (True).

        Safe to repeat, reconciled like :meth:`reopen_task`: True if the task is accepted.
        """
        call = _ACCEPT.build({"project_id": project_id, "task_id": task_id})
        return await self._fetch(call, bool, reconcile=self._status_check(call, _ACCEPTED))

    async def delete_task(self, project_id: str, task_id: str) -> bool:
        """Delete a task; the server's answer (True).

        Safe to repeat, reconciled like :meth:`reopen_task`: True if the task is gone.
        """
        call = _DELETE.build({"project_id": project_id, "task_id": task_id})
        return await self._fetch(call, bool, reconcile=self._status_check(call, None))

    def _status_check(self, action: Call, wanted: frozenset[MaintenanceStatus] | None) -> Reconcile:
        """True when the task is in one of the ``wanted`` states (``None``: deleted), else None."""
        detail = _TASK.build(action.path_args)

        async def check(options: Options) -> bool | None:
            try:
                task = await self._within(options)._fetch(detail, MaintenanceTaskDetail)
            except NotFoundError:
                return True if wanted is None else None
            except TuyaError:
                return None
            return True if wanted is not None and task.status in wanted else None

        return check
