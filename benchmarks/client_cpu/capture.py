"""What the page server answers, taken once from the real sandbox (``tuyaio sandbox serve``).

The sandbox runs for a few seconds in its own process; the raw baseline reads task details and
two pages of 10,000 rooms from it, which are written to a JSON file for
:mod:`benchmarks.client_cpu.page_server`. So the page server sends exactly the shapes the sandbox
sends, without the sandbox's cost per request.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from ..raw import RawClient
from ..sandbox_proc import SandboxProcess
from .page_server import ROOMS_PATH

__all__ = ["MAX_PAGE_SIZE", "capture"]

MAX_PAGE_SIZE = 10_000
"""The construction listings' largest page (and the largest page size measured)."""
TASKS = 64
"""Distinct task details served (the clients ask for them round robin)."""


async def _read(info: Any) -> dict[str, Any]:
    project = info.project_id
    tasks_path = f"/v1.0/osaas/projects/{project}/maintenance/tasks"
    async with RawClient(info.base_url, info.client_id, info.secret) as raw:
        listing = await raw.get(tasks_path, {"page_no": 1, "page_size": TASKS})
        ids = [task["task_id"] for task in listing["tasks"]]
        details = {task_id: await raw.get(f"{tasks_path}/{task_id}") for task_id in ids}
        rooms: list[dict[str, Any]] = []
        for page in (1, 2):
            body = {"page": page, "pageSize": MAX_PAGE_SIZE, "projectId": info.lighting_project_id}
            rooms += (await raw.get(ROOMS_PATH, body=body))["list"]
    if len(details) != TASKS or len(rooms) != 2 * MAX_PAGE_SIZE:
        raise RuntimeError(f"captured {len(details)} tasks and {len(rooms)} rooms")
    return {"project_id": project, "details": details, "rooms": rooms}


def capture(path: Path, *, max_seconds: float = 120.0) -> dict[str, Any]:
    """Start a sandbox, read what the page server will serve, stop it, write ``path``."""
    process = SandboxProcess(
        latency_ms=0, tasks=TASKS, rooms=2 * MAX_PAGE_SIZE, max_seconds=max_seconds
    )
    with process as info:
        captured = asyncio.run(_read(info))
    path.write_text(json.dumps(captured, separators=(",", ":")))
    return captured
