"""The sandbox's memory: tokens, the directory (projects, workers, rooms, devices), maintenance
tasks, lighting rooms and records, and counters for tests.

Items are kept in wire form (the dicts the API returns), so listings answer without copying.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from typing import Any

import attrs

from .config import SandboxConfig

__all__ = ["Item", "SandboxState", "Table", "Tables", "TokenRecord"]

Item = dict[str, Any]
_STATUSES = ("PENDING_MAINTENANCE", "IN_MAINTENANCE", "PENDING_ACCEPTANCE", "ACCEPTANCE_COMPLETE")
DEVICE_TYPE_NAMES = {0: "smart light", 1: "gateway", 3: "switch", 4: "sensor"}
_NOT_LISTED = frozenset({"projectId", "remark", "deviceTypes", "roomIds"})
_NOT_IN_DETAIL = frozenset({"operatorUid", "deviceCount", "deviceTypes", "roomIds"})
_CONSTRUCTION = ("ACCEPTANCE_COMPLETE", "IN_CONSTRUCTION", "PENDING_ACCEPTANCE", "UNAUTHORIZED")
_PRODUCTS = (
    ("pk7zqhjm1x0uaxrb", "Ceiling light", "Light", "dj"),
    ("wkx1k4gqfdn0c1xa", "Wall switch", "Switch", "kg"),
    ("mbxjl3xaxtjmoavx", "Motion sensor", "PIR sensor", "pir"),
)
_ROOM_DETAIL_ONLY = ("project_id", "telephone")
_FIRST_WORKER = 1_306_411_812_723_001
_FIRST_ROOM = 145_267_896_505_001
_DAY_MS = 86_400_000
_SLOT_S = 0.01
_KEPT_SLOTS = 30_000  # five minutes
_MAX_TOKENS = 10_000


@attrs.define
class TokenRecord:
    """One issued token pair."""

    access_token: str
    refresh_token: str
    expires_at_ms: int
    alive: bool = True


@attrs.define(eq=False)
class Table:
    """A project's tasks, rooms or records: ``items`` in listing order, ``by_id`` by their ID."""

    items: list[Item] = attrs.field(factory=list)
    by_id: dict[str, Item] = attrs.field(factory=dict)

    def add(self, item_id: str, item: Item, *, first: bool = False) -> Item:
        """Store ``item`` last in the listing, or ``first``."""
        self.items.insert(0 if first else len(self.items), item)
        self.by_id[item_id] = item
        return item

    def remove(self, item_id: str) -> bool:
        """Remove an item; False if there was none."""
        item = self.by_id.pop(item_id, None)
        if item is not None:
            self.items.remove(item)
        return item is not None


class Tables(dict[str, Table]):
    """The ``Table`` of each project; ``tables(project_id)`` is its ``items``."""

    def __call__(self, project_id: str) -> list[Item]:
        """The project's items in listing order: the live list, do not change it."""
        return self[project_id].items


@attrs.define(eq=False)
class SandboxState:
    """Everything the sandbox remembers: counters for tests, tokens, and the ``Tables`` of
    ``tasks``, ``rooms`` and ``records``: ``state.tasks(project_id)`` lists a project's tasks,
    ``state.tasks[project_id].by_id`` finds one."""

    grants: int = 0
    refreshes: int = 0
    requests: int = 0
    by_route: Counter[str] = attrs.field(factory=Counter)
    codes: Counter[int] = attrs.field(factory=Counter)
    faults: Counter[str] = attrs.field(factory=Counter)
    rate_limited: int = 0
    first_request_at: float | None = None
    """When the first request since the last reset passed the checks (``time.monotonic()``)."""
    last_request_at: float | None = None
    """When the latest request passed the checks (``time.monotonic()``), or ``None``."""
    tasks: Tables = attrs.field(factory=Tables, repr=False)
    rooms: Tables = attrs.field(factory=Tables, repr=False)
    records: Tables = attrs.field(factory=Tables, repr=False)
    projects: Table = attrs.field(factory=Table, repr=False)
    """The maintenance (Smart Engineering) projects, as ``GET /v1.0/osaas/projects`` lists them."""
    lighting: Table = attrs.field(factory=Table, repr=False)
    """The lighting projects, as ``GET /v1.0/illumination/construction/projects`` lists them."""
    workers: Table = attrs.field(factory=Table, repr=False)
    """The account's workers: the ones a task may name."""
    project_rooms: Tables = attrs.field(factory=Tables, repr=False)
    """Each maintenance project's rooms, in detail form (``project_id``, ``telephone``)."""
    project_devices: Tables = attrs.field(factory=Tables, repr=False)
    """Each maintenance project's devices, room by room."""
    room_devices: Tables = attrs.field(factory=Tables, repr=False)
    """Each maintenance room's devices: the ones a task may name for that room."""
    version: int = 0
    """Bumped on every change to rooms or records (listing caches key on it)."""
    _slots: deque[list[int]] = attrs.field(factory=deque, repr=False)
    _rng: random.Random = attrs.field(factory=random.Random, repr=False)
    _ids: int = 0
    _tokens: dict[str, TokenRecord] = attrs.field(factory=dict, repr=False)
    _refresh: dict[str, TokenRecord] = attrs.field(factory=dict, repr=False)

    @classmethod
    def seeded(cls, config: SandboxConfig, now_ms: int) -> SandboxState:
        """A state with the configured projects and deterministic seeded data."""
        state = cls(
            tasks=Tables((project, Table()) for project in config.maintenance_projects),
            rooms=Tables((project, Table()) for project in config.lighting_projects),
            records=Tables((project, Table()) for project in config.lighting_projects),
            rng=random.Random(config.seed),
        )
        state._seed_directory(config, now_ms)
        state._seed_tasks(config.maintenance_projects[0], config.tasks, now_ms)
        state._seed_lighting(config.lighting_projects[0], config.rooms, config.records, now_ms)
        return state

    # --- counters -------------------------------------------------------------------------

    def reset_counters(self) -> None:
        """Zero every counter; the data stays."""
        self.grants = self.refreshes = self.requests = self.rate_limited = 0
        self.first_request_at = self.last_request_at = None
        self.by_route.clear()
        self.codes.clear()
        self.faults.clear()
        self._slots.clear()

    def note_request(self, at: float) -> None:
        """Count a request that passed the checks, at ``at`` (``time.monotonic()``): per 10 ms
        slot, keeping only the slots of the last five minutes that saw a request."""
        slot = math.floor(at / _SLOT_S)
        if self._slots and slot <= self._slots[-1][0]:
            self._slots[-1][1] += 1
        else:
            self._slots.append([slot, 1])
        while self._slots[0][0] <= slot - _KEPT_SLOTS:
            self._slots.popleft()
        if self.first_request_at is None:
            self.first_request_at = at
        self.last_request_at = at

    def _slots_between(self, since: float | None, until: float | None) -> list[list[int]]:
        low = -math.inf if since is None else math.floor(since / _SLOT_S)
        high = math.inf if until is None else math.floor(until / _SLOT_S)
        return [entry for entry in self._slots if low <= entry[0] <= high]

    def requests_between(self, since: float | None = None, until: float | None = None) -> int:
        """How many requests passed the checks from ``since`` to ``until`` (``time.monotonic()``,
        either end open when ``None``), to the 10 ms; only the last five minutes are kept."""
        return sum(count for _, count in self._slots_between(since, until))

    def busiest_window(
        self, seconds: float = 1.0, *, since: float | None = None, until: float | None = None
    ) -> int:
        """The most requests that passed the checks within any span of ``seconds`` lying from
        ``since`` to ``until`` (``time.monotonic()``; either end open when ``None``).

        Counted in 10 ms slots over the last five minutes: never less than the exact figure, and
        at most one slot's requests more. A range shorter than ``seconds`` counts all of it.
        """
        width = math.ceil(seconds / _SLOT_S)
        entries = self._slots_between(since, until)
        best = total = first = 0
        # Each span worth counting ends in a slot that saw requests: one that ends elsewhere
        # counts no more than the span moved back to end in the last such slot.
        for slot, count in entries:
            total += count
            while entries[first][0] < slot - width:
                total -= entries[first][1]
                first += 1
            best = max(best, total)
        return best

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
            for old in [r for r in self._tokens.values() if r.expires_at_ms + _DAY_MS <= now_ms]:
                self._forget(old)
        while len(self._tokens) >= _MAX_TOKENS:
            self._forget(next(iter(self._tokens.values())))
        record = TokenRecord(self.hex_token(), self.hex_token(), expires_at_ms)
        self._tokens[record.access_token] = self._refresh[record.refresh_token] = record
        return record

    def _forget(self, record: TokenRecord) -> None:
        del self._tokens[record.access_token], self._refresh[record.refresh_token]

    def token(self, access_token: str) -> TokenRecord | None:
        """The record of an access token, if it is still known (a refreshed one is not)."""
        return self._tokens.get(access_token)

    def redeem_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        """Use a refresh token once: it and its access token die (and are forgotten, which a
        request answers in the same way: 1010); ``None`` if unknown or used."""
        record = self._refresh.get(refresh_token)
        if record is not None:
            self._forget(record)
            record.alive = False
        return record

    def revoke_access_tokens(self) -> None:
        """Kill every access token (their refresh tokens still work), as if revoked by Tuya."""
        for record in self._tokens.values():
            record.alive = False

    def live_tokens(self, now_ms: int) -> int:
        """How many access tokens would be accepted now."""
        return sum(1 for r in self._tokens.values() if r.alive and r.expires_at_ms > now_ms)

    # --- data -------------------------------------------------------------------------------

    def room(self, room_id: str) -> Item | None:
        """A maintenance room of any project, in detail form, or ``None``."""
        tables = self.project_rooms.values()
        return next((table.by_id[room_id] for table in tables if room_id in table.by_id), None)

    def room_summary(self, room: Item) -> Item:
        """A maintenance room as its project's listing shows it."""
        return {key: value for key, value in room.items() if key not in _ROOM_DETAIL_ONLY}

    def add_task(self, project_id: str, worker_id: str, relations: list[Item], now_ms: int) -> Item:
        """Create a task pending maintenance, first in the listing (the worker is one of
        ``workers``)."""
        task_id = self.new_id()
        worker = self.workers.by_id[worker_id]
        task = {
            "task_id": task_id,
            "status": _STATUSES[0],
            "worker_username": worker["username"],
            "worker_nickname": worker["nickname"],
            "gmt_create": now_ms,
            "room_device_relations": relations,
        }
        return self.tasks[project_id].add(task_id, task, first=True)

    def set_task_status(self, project_id: str, task_id: str, status: str) -> None:
        """Move a task to any status (what the maintenance worker's app would do)."""
        self.tasks[project_id].by_id[task_id]["status"] = status

    def record(self, record_id: str) -> Item | None:
        """A record of any project, in stored form, or ``None``."""
        tables = self.records.values()
        return next((table.by_id[record_id] for table in tables if record_id in table.by_id), None)

    def save_record(self, record: Item) -> None:
        """Store a new record, first in the listing, and authorise its ``roomIds``."""
        self.records[record["projectId"]].add(record["recordId"], record, first=True)
        self.set_record_rooms(record, record["roomIds"])

    def set_record_rooms(self, record: Item, room_ids: list[str]) -> None:
        """Point a record at these rooms: the rooms it authorised are released, and these are
        authorised while the record is (``authorizationStatus`` 1)."""
        rooms = self.rooms[record["projectId"]].by_id
        for room in (rooms[room_id] for room_id in record["roomIds"]):
            if room.get("recordId") == record["recordId"]:
                room.update(authorizationStatus=0, taskStatus=0)
                del room["recordId"], room["taskId"]
        record["roomIds"] = room_ids
        if record["authorizationStatus"] == 1:
            for room_id in room_ids:
                rooms[room_id].update(
                    authorizationStatus=1,
                    taskStatus=1,
                    recordId=record["recordId"],
                    taskId=self.new_id(),
                )
        self.version += 1

    def record_summary(self, record: Item) -> Item:
        """A record as listings show it."""
        rooms = self.rooms[record["projectId"]].by_id
        summary = {key: value for key, value in record.items() if key not in _NOT_LISTED}
        summary["roomName"] = [rooms[room_id]["roomName"] for room_id in record["roomIds"]]
        return summary

    def record_detail(self, record: Item) -> Item:
        """A record as its detail page shows it."""
        rooms = [self.rooms[record["projectId"]].by_id[room_id] for room_id in record["roomIds"]]
        return {
            **{key: value for key, value in record.items() if key not in _NOT_IN_DETAIL},
            "deviceCountTotal": sum(room["deviceCountOnline"] for room in rooms),
            "roomCountFinish": sum(1 for room in rooms if room["taskStatus"] == 3),
            "roomCountTotal": len(rooms),
            "rooms": rooms,
            "deviceTypes": [{"id": t, "name": DEVICE_TYPE_NAMES[t]} for t in record["deviceTypes"]],
        }

    # --- seed data --------------------------------------------------------------------------

    def _seed_directory(self, config: SandboxConfig, now_ms: int) -> None:
        """Workers, and each project with its rooms and devices: IDs by position, no random
        draw (the samples of Tuya's pages come first: worker ``1306411812723001``, room
        ``145267896505001``, device ``00122433001``)."""
        for index in range(config.workers):
            worker_id = str(_FIRST_WORKER + index)
            username = f"worker{index + 1:02d}@example.com"
            item = {"worker_id": worker_id, "username": username, "nickname": f"Worker {index + 1}"}
            self.workers.add(worker_id, item)
        devices = 0
        for number, project_id in enumerate(config.maintenance_projects):
            created = now_ms - (number + 30) * _DAY_MS
            self.projects.add(
                project_id,
                {
                    "project_id": project_id,
                    "project_name": f"Hotel {number + 1}",
                    "location_id": str(1_000_000 + number),
                    "address": f"{number + 1} Engineering Road",
                    "time_zone_id": "Asia/Shanghai",
                    "authorization_status": "AUTHORIZED",
                    "gmt_create": created,
                    "gmt_modified": created + _DAY_MS,
                },
            )
            rooms, in_project = self.project_rooms.setdefault(project_id, Table()), Table()
            self.project_devices[project_id] = in_project
            for index in range(config.maintenance_rooms):
                room_id = str(_FIRST_ROOM + number * 100_000 + index)
                floor, door = divmod(index, 20)
                room = {
                    "room_id": room_id,
                    "room_name": f"Room {floor + 1}{door + 1:02d}",
                    "room_no": f"{floor + 1}{door + 1:02d}",
                    "description": f"floor {floor + 1}",
                    "construction_status": _CONSTRUCTION[index % len(_CONSTRUCTION)],
                    "gmt_create": created + index,
                    "gmt_modified": created + _DAY_MS + index,
                    "project_id": project_id,
                    "telephone": f"0571-8800{index:04d}",
                }
                rooms.add(room_id, room)
                in_room = self.room_devices.setdefault(room_id, Table())
                for _ in range(config.devices_per_room):
                    devices += 1
                    product_id, product, category, code = _PRODUCTS[(devices - 1) % len(_PRODUCTS)]
                    device_id = f"00122433{devices:03d}"
                    device = {
                        "device_id": device_id,
                        "product_id": product_id,
                        "product_name": product,
                        "category": category,
                        "category_code": code,
                    }
                    in_room.add(device_id, device)
                    in_project.add(device_id, device)
        for number, project_id in enumerate(config.lighting_projects):
            self.lighting.add(
                project_id,
                {
                    "projectId": project_id,
                    "name": f"Office Tower {number + 1}",
                    "address": f"{number + 1} Lighting Avenue",
                    "ownerId": f"owner{number + 1}",
                    "leaderName": "Chen",
                    "leaderMobile": f"1865528{number:04d}",
                    "timeZoneId": "Asia/Shanghai",
                    "gmtCreate": now_ms - (number + 60) * _DAY_MS,
                },
            )

    def _seed_tasks(self, project_id: str, count: int, now_ms: int) -> None:
        workers, rooms = self.workers.items, self.project_rooms(project_id)
        for index in reversed(range(count)):  # the oldest first: each new task goes first
            worker = workers[self._rng.randrange(10**4) % len(workers)]["worker_id"]
            room_id = rooms[self._rng.randrange(1000) % len(rooms)]["room_id"]
            in_room = self.room_devices(room_id)
            picked = {in_room[self._rng.randrange(10**6) % len(in_room)]["device_id"]: None}
            picked[in_room[self._rng.randrange(10**6) % len(in_room)]["device_id"]] = None
            relations = [{"room_id": room_id, "device_ids": list(picked)}]
            task = self.add_task(project_id, worker, relations, now_ms - (index + 1) * 60_000)
            task["status"] = _STATUSES[self._rng.randrange(4)]

    def _seed_lighting(self, project_id: str, rooms: int, records: int, now_ms: int) -> None:
        for index in range(rooms):
            floor, number = divmod(index, 25)
            room_id = str(1_358_619_971_592_130_000 + index)
            room = {
                "roomId": room_id,
                "roomName": f"Room {floor + 1}-{number}" if number else f"Floor {floor + 1}",
                "roomType": 4 if number else 2,
                "deviceCountOnline": self._rng.randrange(20),
                "taskStatus": 0,
                "authorizationStatus": 0,
                "deviceCountConstruction": 0,
                "deviceCountFinish": 0,
                "roomExtendId": 100_000 + index,
            }
            self.rooms[project_id].add(room_id, room)
        listed = self.rooms[project_id].items
        operators = ("James", "Mia", "Chen", "Amara")
        for index in range(records):
            status = (1, 1, 2, 3)[index % 4]
            start = now_ms - (records - index) * _DAY_MS // 2
            room_ids = [listed[(index * 7 + k) % len(listed)]["roomId"] for k in range(3) if listed]
            record: Item = {
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
                "roomIds": room_ids,
            }
            if index % 3:
                record["address"] = f"{index} Lighting Street"
            if index % 5 == 0:
                record["remark"] = "" if index % 10 else "seeded"
            self.save_record(record)
            if status == 2:  # pending: its free rooms show as pending too
                for room_id in room_ids:
                    room = self.rooms[project_id].by_id[room_id]
                    room["authorizationStatus"] = room["authorizationStatus"] or 2
