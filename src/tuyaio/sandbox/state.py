"""The sandbox's memory: tokens, maintenance tasks, rooms and records, and counters for tests.

Records are kept in wire form (the dicts the API returns), so listings answer without copying.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import attrs

from .config import SandboxConfig

__all__ = ["SandboxState", "TokenRecord"]

MAINTENANCE_STATUSES = (
    "PENDING_MAINTENANCE",
    "IN_MAINTENANCE",
    "PENDING_ACCEPTANCE",
    "ACCEPTANCE_COMPLETE",
)
DEVICE_TYPE_NAMES = {0: "smart light", 1: "gateway", 3: "switch", 4: "sensor"}
_ROOM_ONLY_WHILE_AUTHORISED = ("recordId", "taskId")
_DAY_MS = 86_400_000
_SLOT_S = 0.01
_KEEP_S = 300.0
_MAX_TOKENS = 10_000
_FORGET_EXPIRED_MS = _DAY_MS


@attrs.define
class TokenRecord:
    """One issued token pair."""

    access_token: str
    refresh_token: str
    expires_at_ms: int
    alive: bool = True


@attrs.define(eq=False)
class _RequestCounts:
    """How many requests arrived in each 10 ms slot of the last five minutes.

    Only slots that saw a request are kept, oldest first, as ``[slot, count]``: at most 30,000,
    however long the sandbox runs.
    """

    first_at: float | None = None
    last_at: float | None = None
    _slots: deque[list[int]] = attrs.field(factory=deque)

    def add(self, at: float) -> None:
        slot = math.floor(at / _SLOT_S)
        if self._slots and slot <= self._slots[-1][0]:
            self._slots[-1][1] += 1
        else:
            self._slots.append([slot, 1])
        oldest_kept = slot - round(_KEEP_S / _SLOT_S)
        while self._slots[0][0] <= oldest_kept:
            self._slots.popleft()
        if self.first_at is None:
            self.first_at = at
        self.last_at = at

    def clear(self) -> None:
        self._slots.clear()
        self.first_at = self.last_at = None

    def between(self, since: float | None, until: float | None) -> list[list[int]]:
        low = -math.inf if since is None else math.floor(since / _SLOT_S)
        high = math.inf if until is None else math.floor(until / _SLOT_S)
        return [entry for entry in self._slots if low <= entry[0] <= high]

    def busiest(self, seconds: float, since: float | None, until: float | None) -> int:
        entries = self.between(since, until)
        if not entries:
            return 0
        # A span of `seconds` starting inside slot k ends at the latest in slot k + width.
        width = math.ceil(seconds / _SLOT_S)
        slots = [slot for slot, _ in entries]
        totals = [0, *itertools.accumulate(count for _, count in entries)]
        last_start = slots[-1] if until is None else math.floor((until - seconds) / _SLOT_S)
        # The busiest span can be moved to start at a slot that saw a request, or at the last
        # start that still fits; those are the only spans worth counting.
        starts = [slot for slot in slots if slot <= last_start] + [last_start]
        return max(
            totals[bisect.bisect_right(slots, start + width)]
            - totals[bisect.bisect_left(slots, start)]
            for start in starts
        )


@attrs.define(eq=False)
class SandboxState:
    """Everything the sandbox remembers: public counters for tests, data behind methods."""

    grants: int = 0
    refreshes: int = 0
    requests: int = 0
    by_route: Counter[str] = attrs.field(factory=Counter)
    codes: Counter[int] = attrs.field(factory=Counter)
    faults: Counter[str] = attrs.field(factory=Counter)
    rate_limited: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    _request_counts: _RequestCounts = attrs.field(factory=_RequestCounts, repr=False)

    _rng: random.Random = attrs.field(factory=random.Random, repr=False)
    _ids: int = 0
    _tokens: dict[str, TokenRecord] = attrs.field(factory=dict, repr=False)
    _refresh: dict[str, str] = attrs.field(factory=dict, repr=False)
    _tasks: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict, repr=False)
    _task_index: dict[str, dict[str, dict[str, Any]]] = attrs.field(factory=dict, repr=False)
    _rooms: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict, repr=False)
    _room_index: dict[str, dict[str, dict[str, Any]]] = attrs.field(factory=dict, repr=False)
    _records: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict, repr=False)
    _record_index: dict[str, dict[str, Any]] = attrs.field(factory=dict, repr=False)
    version: int = 0
    """Bumped on every change to rooms or records (listing caches key on it)."""

    @classmethod
    def seeded(cls, config: SandboxConfig, now_ms: int) -> SandboxState:
        """A state with the configured projects and deterministic seeded data."""
        state = cls(rng=random.Random(config.seed))
        for project in config.maintenance_projects:
            state._tasks[project], state._task_index[project] = [], {}
        for project in config.lighting_projects:
            state._rooms[project], state._room_index[project] = [], {}
            state._records[project] = []
        if config.maintenance_projects:
            state._seed_tasks(config.maintenance_projects[0], config.tasks, now_ms)
        if config.lighting_projects:
            project = config.lighting_projects[0]
            state._seed_rooms(project, config.rooms)
            state._seed_records(project, config.records, now_ms)
        return state

    # --- counters -------------------------------------------------------------------------

    def reset_counters(self) -> None:
        """Zero every counter; the data stays."""
        self.grants = self.refreshes = self.requests = self.rate_limited = 0
        self.in_flight = self.max_in_flight = 0
        self.by_route.clear()
        self.codes.clear()
        self.faults.clear()
        self._request_counts.clear()

    def note_request(self, at: float) -> None:
        """Count a request that passed the checks, at ``at`` (``time.monotonic()``)."""
        self._request_counts.add(at)

    @property
    def first_request_at(self) -> float | None:
        """When the first request since the last reset passed the checks (``time.monotonic()``)."""
        return self._request_counts.first_at

    @property
    def last_request_at(self) -> float | None:
        """When the latest request passed the checks (``time.monotonic()``), or ``None``."""
        return self._request_counts.last_at

    def requests_between(self, since: float | None = None, until: float | None = None) -> int:
        """How many requests passed the checks from ``since`` to ``until`` (``time.monotonic()``,
        either end open when ``None``), to the 10 ms; only the last five minutes are kept."""
        return sum(count for _, count in self._request_counts.between(since, until))

    def busiest_window(
        self, seconds: float = 1.0, *, since: float | None = None, until: float | None = None
    ) -> int:
        """The most requests that passed the checks within any span of ``seconds`` lying from
        ``since`` to ``until`` (``time.monotonic()``; either end open when ``None``).

        Counted in 10 ms slots over the last five minutes: never less than the exact figure, and
        at most one slot's requests more. A range shorter than ``seconds`` counts all of it.
        """
        return self._request_counts.busiest(seconds, since, until)

    # --- ids and tokens ---------------------------------------------------------------------

    def new_id(self) -> str:
        """A fresh 19-digit ID, increasing."""
        self._ids += 1
        return str(1_400_000_000_000_000_000 + self._ids * 1_000 + self._rng.randrange(1_000))

    def hex_token(self) -> str:
        """A random 32-hex-digit string (deterministic for the seed)."""
        return f"{self._rng.getrandbits(128):032x}"

    def issue_token(self, expires_at_ms: int, *, now_ms: int | None = None) -> TokenRecord:
        """Issue a new token pair; pairs expired for a day (as of ``now_ms``) are forgotten, and
        beyond 10,000 pairs the oldest issued go, so the memory stays bounded."""
        if now_ms is not None:
            self._forget_tokens(lambda record: record.expires_at_ms + _FORGET_EXPIRED_MS <= now_ms)
        while len(self._tokens) >= _MAX_TOKENS:
            self._forget_token(next(iter(self._tokens.values())))
        record = TokenRecord(self.hex_token(), self.hex_token(), expires_at_ms)
        self._tokens[record.access_token] = record
        self._refresh[record.refresh_token] = record.access_token
        return record

    def token(self, access_token: str) -> TokenRecord | None:
        """The record of an access token, if it is still known (a refreshed one is not)."""
        return self._tokens.get(access_token)

    def redeem_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        """Use a refresh token once: it and its access token die (and are forgotten, which a
        request answers in the same way: 1010); ``None`` if unknown or used."""
        access = self._refresh.pop(refresh_token, None)
        if access is None:
            return None
        record = self._tokens.pop(access)
        record.alive = False
        return record

    def _forget_tokens(self, stale: Callable[[TokenRecord], bool]) -> None:
        for record in [record for record in self._tokens.values() if stale(record)]:
            self._forget_token(record)

    def _forget_token(self, record: TokenRecord) -> None:
        del self._tokens[record.access_token]
        self._refresh.pop(record.refresh_token, None)

    def revoke_access_tokens(self) -> None:
        """Kill every access token (their refresh tokens still work), as if revoked by Tuya."""
        for record in self._tokens.values():
            record.alive = False

    def live_tokens(self, now_ms: int) -> int:
        """How many access tokens would be accepted now."""
        return sum(1 for r in self._tokens.values() if r.alive and r.expires_at_ms > now_ms)

    # --- maintenance tasks ------------------------------------------------------------------

    def owns_task_project(self, project_id: str) -> bool:
        """True for a maintenance project of these credentials."""
        return project_id in self._tasks

    def tasks(self, project_id: str) -> list[dict[str, Any]]:
        """The project's tasks in listing order (newest first); the live list, do not mutate."""
        return self._tasks[project_id]

    def task(self, project_id: str, task_id: str) -> dict[str, Any] | None:
        """One task, or ``None``."""
        return self._task_index[project_id].get(task_id)

    def add_task(
        self,
        project_id: str,
        worker_id: str,
        relations: list[dict[str, Any]],
        now_ms: int,
        *,
        newest: bool = True,
    ) -> dict[str, Any]:
        """Create a task pending maintenance, at the front of the listing (or at its end)."""
        task: dict[str, Any] = {
            "task_id": self.new_id(),
            "status": MAINTENANCE_STATUSES[0],
            "worker_username": f"worker{worker_id[-4:]}@example.com",
            "worker_nickname": f"Worker {worker_id[-4:]}",
            "gmt_create": now_ms,
            "room_device_relations": relations,
        }
        tasks = self._tasks[project_id]
        if newest:
            tasks.insert(0, task)
        else:
            tasks.append(task)
        self._task_index[project_id][task["task_id"]] = task
        return task

    def set_task_status(self, project_id: str, task_id: str, status: str) -> None:
        """Move a task to any status (what the maintenance worker's app would do)."""
        self._task_index[project_id][task_id]["status"] = status

    def delete_task(self, project_id: str, task_id: str) -> bool:
        """Delete a task; False if there was none."""
        task = self._task_index[project_id].pop(task_id, None)
        if task is None:
            return False
        self._tasks[project_id].remove(task)
        return True

    def _seed_tasks(self, project_id: str, count: int, now_ms: int) -> None:
        for index in reversed(range(count)):
            worker = f"13064118127{self._rng.randrange(10**4):04d}"
            relations = [
                {
                    "room_id": str(145267896505000 + self._rng.randrange(1000)),
                    "device_ids": [f"dev{self._rng.randrange(10**6):06d}" for _ in range(2)],
                }
            ]
            created = now_ms - (count - index) * 60_000
            task = self.add_task(project_id, worker, relations, created, newest=False)
            task["status"] = MAINTENANCE_STATUSES[self._rng.randrange(4)]

    # --- rooms and records ------------------------------------------------------------------

    def owns_lighting_project(self, project_id: str) -> bool:
        """True for a lighting project of these credentials."""
        return project_id in self._rooms

    def rooms(self, project_id: str) -> list[dict[str, Any]]:
        """The project's rooms in listing order; the live list, do not mutate."""
        return self._rooms[project_id]

    def room(self, project_id: str, room_id: str) -> dict[str, Any] | None:
        """One room, or ``None``."""
        return self._room_index[project_id].get(room_id)

    def records(self, project_id: str) -> list[dict[str, Any]]:
        """The project's records, newest first, in list form."""
        return [self.record_summary(record) for record in self._records[project_id]]

    def record(self, record_id: str) -> dict[str, Any] | None:
        """A record's stored form, or ``None``."""
        return self._record_index.get(record_id)

    def all_records(self, project_id: str) -> list[dict[str, Any]]:
        """The stored records of a project, newest first; the live list, do not mutate."""
        return self._records[project_id]

    def save_record(self, record: dict[str, Any]) -> None:
        """Store a new record (newest first) and authorise its rooms."""
        self._records[record["projectId"]].insert(0, record)
        self._record_index[record["recordId"]] = record
        self.set_record_rooms(record, record["roomIds"])

    def set_record_rooms(self, record: dict[str, Any], room_ids: list[str]) -> None:
        """Point a record at these rooms, releasing the ones it no longer covers."""
        self._release_rooms(record)
        record["roomIds"] = room_ids
        if record["authorizationStatus"] == 1:
            for room_id in room_ids:
                room = self._room_index[record["projectId"]][room_id]
                room.update(
                    authorizationStatus=1,
                    taskStatus=1,
                    recordId=record["recordId"],
                    taskId=self.new_id(),
                )
        self.version += 1

    def cancel_record(self, record: dict[str, Any]) -> None:
        """Cancel a record's authorization and release its rooms."""
        self._release_rooms(record)
        record["authorizationStatus"] = 3
        self.version += 1

    def _release_rooms(self, record: dict[str, Any]) -> None:
        rooms = self._room_index[record["projectId"]]
        for room_id in record.get("roomIds", ()):
            room = rooms[room_id]
            if room.get("recordId") == record["recordId"]:
                room.update(authorizationStatus=0, taskStatus=0)
                for key in _ROOM_ONLY_WHILE_AUTHORISED:
                    room.pop(key, None)

    def record_summary(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record as listings show it."""
        rooms = self._room_index[record["projectId"]]
        summary: dict[str, Any] = {
            key: record[key]
            for key in (
                "recordId",
                "taskNum",
                "userAccount",
                "countryCode",
                "operatorName",
                "operatorUid",
                "address",
                "startTime",
                "endTime",
                "deviceCount",
                "taskStatus",
                "authorizationStatus",
                "deviceCountFinish",
            )
            if key in record
        }
        summary["roomName"] = [rooms[room_id]["roomName"] for room_id in record["roomIds"]]
        return summary

    def record_detail(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record as its detail page shows it."""
        rooms = [self._room_index[record["projectId"]][room_id] for room_id in record["roomIds"]]
        detail: dict[str, Any] = {
            key: record[key]
            for key in (
                "projectId",
                "recordId",
                "taskNum",
                "userAccount",
                "countryCode",
                "operatorName",
                "address",
                "startTime",
                "endTime",
                "deviceCountFinish",
                "taskStatus",
                "authorizationStatus",
                "remark",
            )
            if key in record
        }
        detail.update(
            deviceCountTotal=sum(room["deviceCountOnline"] for room in rooms),
            roomCountFinish=sum(1 for room in rooms if room["taskStatus"] == 3),
            roomCountTotal=len(rooms),
            rooms=rooms,
            deviceTypes=[{"id": t, "name": DEVICE_TYPE_NAMES[t]} for t in record["deviceTypes"]],
        )
        return detail

    def _seed_rooms(self, project_id: str, count: int) -> None:
        floor = 0
        for index in range(count):
            is_floor = index % 25 == 0
            floor += is_floor
            room: dict[str, Any] = {
                "roomId": str(1_358_619_971_592_130_000 + index),
                "roomName": f"Floor {floor}" if is_floor else f"Room {floor}-{index % 25}",
                "roomType": 2 if is_floor else 4,
                "deviceCountOnline": self._rng.randrange(20),
                "taskStatus": 0,
                "authorizationStatus": 0,
                "deviceCountConstruction": 0,
                "deviceCountFinish": 0,
                "roomExtendId": 100_000 + index,
            }
            self._rooms[project_id].append(room)
            self._room_index[project_id][room["roomId"]] = room

    def _seed_records(self, project_id: str, count: int, now_ms: int) -> None:
        rooms = self._rooms[project_id]
        operators = ("James", "Mia", "Chen", "Amara")
        for index in range(count):
            status = (1, 1, 2, 3)[index % 4]
            start = now_ms - (count - index) * _DAY_MS // 2
            room_ids = [
                rooms[(index * 7 + offset) % len(rooms)]["roomId"] for offset in range(3) if rooms
            ]
            record = {
                "recordId": self.new_id(),
                "projectId": project_id,
                "taskNum": str(len(room_ids)),
                "userAccount": f"1865528{index:04d}",
                "countryCode": "86",
                "operatorName": operators[index % len(operators)],
                "operatorUid": f"uid{index}",
                "startTime": start,
                "endTime": start + 7 * _DAY_MS,
                "deviceCount": 10,
                "deviceCountFinish": 0,
                "taskStatus": 1,
                "authorizationStatus": status,
                "deviceTypes": [0, 1],
                "roomIds": [],
            }
            if index % 3:
                record["address"] = f"{index} Lighting Street"
            if index % 5 == 0:
                record["remark"] = "" if index % 10 else "seeded"
            self.save_record(record)
            if status == 2:
                for room_id in room_ids:
                    room = self._room_index[project_id][room_id]
                    if room["authorizationStatus"] == 0:
                        room["authorizationStatus"] = 2
                record["roomIds"] = room_ids
            else:
                self.set_record_rooms(record, room_ids)
