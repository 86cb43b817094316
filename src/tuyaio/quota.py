"""Quota accounting: what each route has cost (every request counts, retries and token calls
included), and an optional budget of requests that refuses one before it is sent once spent.
"""

from __future__ import annotations

import time
from collections import Counter
from functools import partial
from typing import Protocol, runtime_checkable

import attrs

from .validation import check_count, check_positive_number, field_check

__all__ = ["CallQuota", "LocalCallQuota", "RouteUsage", "Usage"]


@attrs.define
class RouteUsage:
    """What one route (``"GET /v1.0/…/tasks/{task_id}"``) has cost so far."""

    calls: int = 0
    """Calls finished (each may have made several attempts)."""
    attempts: int = 0
    """Requests sent: what the project's quota counts."""
    succeeded: int = 0
    failed: Counter[str] = attrs.field(factory=Counter)
    """Failed calls by Tuya code (``"1106"``), HTTP status (``"HTTP 502"``) or error class."""


@attrs.define(eq=False)
class Usage:
    """Per-route counts of one client (``client.usage``); read it, or ``report()`` it."""

    routes: dict[str, RouteUsage] = attrs.field(factory=dict, init=False)

    def __repr__(self) -> str:
        return f"Usage(calls={self.calls}, attempts={self.attempts})"

    @property
    def calls(self) -> int:
        """Calls finished, over every route."""
        return sum(route.calls for route in self.routes.values())

    @property
    def attempts(self) -> int:
        """Requests sent, over every route: what the project's quota counts."""
        return sum(route.attempts for route in self.routes.values())

    def route(self, key: str) -> RouteUsage:
        """The counts of one route, made on first use."""
        usage = self.routes.get(key)
        if usage is None:
            usage = self.routes[key] = RouteUsage()
        return usage

    def report(self) -> list[tuple[str, int, int, int, int]]:
        """Rows of (route, calls, attempts, succeeded, failed), most attempts first."""
        rows = [
            (key, u.calls, u.attempts, u.succeeded, sum(u.failed.values()))
            for key, u in self.routes.items()
        ]
        return sorted(rows, key=lambda row: -row[2])


@runtime_checkable
class CallQuota(Protocol):
    """A budget of requests, checked before each one is sent."""

    async def take(self) -> bool:
        """Spend one request; False when the budget is spent (the request is then not sent)."""
        ...


@attrs.define(eq=False)
class LocalCallQuota:
    """At most ``limit`` requests from this process, in all or per ``window`` seconds."""

    limit: int = attrs.field(validator=field_check(partial(check_count, minimum=1)))
    window: float | None = attrs.field(
        default=None,
        kw_only=True,
        validator=attrs.validators.optional(field_check(check_positive_number)),
    )
    used: int = attrs.field(default=0, init=False)
    _started: float = attrs.field(factory=time.monotonic, init=False, repr=False)

    async def take(self) -> bool:
        """Spend one request; False when ``limit`` are spent (in this window)."""
        if self.window is not None and time.monotonic() - self._started >= self.window:
            self._started, self.used = time.monotonic(), 0
        if self.used >= self.limit:
            return False
        self.used += 1
        return True
