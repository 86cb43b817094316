"""Smart Engineering maintenance tasks (v1.0): create, list, detail, reopen, accept, delete.

The list shows ``maintenance_status`` and the detail ``construction_status``, as Tuya's pages do.
Accepting needs ``PENDING_ACCEPTANCE``, reopening ``PENDING_ACCEPTANCE`` or ``ACCEPTANCE_COMPLETE``
(back to ``PENDING_MAINTENANCE``); another status is 1109, so a repeat is refused. Deleting works in
any status; a deleted or unknown task is 1000 (docs/protocol.md, "What the sandbox assumes"). A task
names a worker, rooms of the project and devices of each room from the directory
(:mod:`.directory`); another is 1109, as for a construction record's unknown ``roomIds``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .framework import Handler, Reject, Runtime, json_body, page, query, require
from .state import Item, Table

__all__ = ["ROUTES"]

_PREFIX = "/v1.0/osaas/projects/{project_id}/maintenance"
_SUMMARY_KEYS = ("task_id", "worker_username", "worker_nickname", "gmt_create")
_TRANSITIONS = {
    "acceptance": ({"PENDING_ACCEPTANCE"}, "ACCEPTANCE_COMPLETE"),
    "reopen": ({"PENDING_ACCEPTANCE", "ACCEPTANCE_COMPLETE"}, "PENDING_MAINTENANCE"),
}


def _tasks(request: web.Request, runtime: Runtime) -> Table:
    tasks = runtime.state.tasks.get(request.match_info["project_id"])
    if tasks is None:
        raise Reject(1106, "permission deny")
    return tasks


def _task(request: web.Request, runtime: Runtime) -> tuple[Table, Item]:
    tasks = _tasks(request, runtime)
    task = tasks.by_id.get(request.match_info["task_id"])
    if task is None:
        raise Reject(1000, "data not exist")
    return tasks, task


def _summary(task: Item) -> Item:
    return {key: task[key] for key in _SUMMARY_KEYS}


async def create(request: web.Request, runtime: Runtime) -> str:
    """``POST …/task`` → the new task ID."""
    _tasks(request, runtime)
    data = json_body(await request.read())
    state, project_id = runtime.state, request.match_info["project_id"]
    worker_id = require(data, "worker_id", str)
    if worker_id not in state.workers.by_id:
        raise Reject(1109, "param worker_id is illegal")
    relations = []
    for relation in require(data, "room_device_relations", list):
        if not isinstance(relation, dict):
            raise Reject(1109, "param room_device_relations is illegal")
        room_id = require(relation, "room_id", str)
        if room_id not in state.project_rooms[project_id].by_id:
            raise Reject(1109, "param room_id is illegal")
        device_ids = require(relation, "device_ids", list)
        in_room = state.room_devices[room_id].by_id
        if not all(isinstance(device, str) and device in in_room for device in device_ids):
            raise Reject(1109, "param device_ids is illegal")
        relations.append({"room_id": room_id, "device_ids": device_ids})
    task = runtime.state.add_task(project_id, worker_id, relations, runtime.now_ms())
    return str(task["task_id"])


async def listing(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET …/tasks?page_no&page_size``."""
    tasks = _tasks(request, runtime).items
    page_no, page_size, shown = page(
        query(request), tasks, ("page_no", "page_size"), 99, runtime.config.page_size_cap
    )
    return {
        "total": len(tasks),
        "page_no": page_no,
        "page_size": page_size,
        "tasks": [{"maintenance_status": task["status"], **_summary(task)} for task in shown],
    }


async def detail(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET …/tasks/{task_id}``."""
    _, task = _task(request, runtime)
    return {
        "construction_status": task["status"],
        "room_device_relations": task["room_device_relations"],
        **_summary(task),
    }


def _transition(action: str) -> Handler:
    allowed, target = _TRANSITIONS[action]

    async def move(request: web.Request, runtime: Runtime) -> bool:
        _, task = _task(request, runtime)
        if task["status"] not in allowed:
            # Tuya publishes no code for "not in this state"; 1109 is its generic refusal of a
            # request's parameters (2001, used before, is "device is offline" in Tuya's list).
            raise Reject(
                1109,
                f"param is illegal, please check it (a {task['status']} task allows no {action})",
            )
        task["status"] = target
        return True

    move.__doc__ = f"``POST …/tasks/{{task_id}}/{action}``."
    return move


async def delete(request: web.Request, runtime: Runtime) -> bool:
    """``DELETE …/tasks/{task_id}``."""
    tasks, task = _task(request, runtime)
    return tasks.remove(task["task_id"])


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", _PREFIX + "/task", create),
    ("GET", _PREFIX + "/tasks", listing),
    ("GET", _PREFIX + "/tasks/{task_id}", detail),
    ("POST", _PREFIX + "/tasks/{task_id}/acceptance", _transition("acceptance")),
    ("POST", _PREFIX + "/tasks/{task_id}/reopen", _transition("reopen")),
    ("DELETE", _PREFIX + "/tasks/{task_id}", delete),
]
