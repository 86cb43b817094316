"""Which core the server gets and which the client gets, and pinning a process to one.

On a machine with two or more usable cores the page server (and this run's coordinating process)
goes on the first and every client worker on the second, so that the client's CPU figures are
not shared with the server's and the client never waits for a server that runs on its own core.
With one core nothing is pinned, and the report says so.
"""

from __future__ import annotations

import os

__all__ = ["Cores", "cores", "pin"]


class Cores:
    """The server's core and the client's core, or ``None`` for both where pinning is off."""

    def __init__(self, server: int | None, client: int | None) -> None:
        self.server = server
        self.client = client

    @property
    def pinned(self) -> bool:
        """True when server and client each have a core of their own."""
        return self.server is not None and self.client is not None

    def as_json(self) -> dict[str, object]:
        """For ``latest.json``."""
        return {"pinned": self.pinned, "server_core": self.server, "client_core": self.client}


def cores() -> Cores:
    """The first two usable cores, or no pinning where fewer than two are usable."""
    try:
        usable = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return Cores(None, None)
    if len(usable) < 2:
        return Cores(None, None)
    return Cores(usable[0], usable[1])


def pin(core: int | None) -> list[int] | None:
    """Pin this process (all its threads started later) to ``core``; the cores it now runs on."""
    if core is None or not hasattr(os, "sched_setaffinity"):
        return None
    os.sched_setaffinity(0, {core})
    return sorted(os.sched_getaffinity(0))
