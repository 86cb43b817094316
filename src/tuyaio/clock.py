"""The client's view of the server's clock: local time plus an offset learned from the server."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["DRIFT_TOLERANCE_MS", "ServerClock"]

DRIFT_TOLERANCE_MS = 2_000
"""How far our clock may be from the server's before a token answer corrects it."""


class ServerClock:
    """Millisecond time on the server's clock, corrected when the server says ours is off (1013)."""

    def __init__(self, time_source: Callable[[], float] = time.time) -> None:
        self._time = time_source
        self.offset_ms: int = 0

    def now_ms(self) -> int:
        """Server time in milliseconds since the epoch, as best we know it."""
        return int(self._time() * 1000) + self.offset_ms

    def observe(self, server_ms: int) -> bool:
        """Adopt the server's time when ours is off by more than :data:`DRIFT_TOLERANCE_MS` (token
        expiry is judged on its clock); True when the offset changed."""
        if abs(server_ms - self.now_ms()) <= DRIFT_TOLERANCE_MS:
            return False
        self.correct(server_ms)
        return True

    def correct(self, server_ms: int) -> None:
        """Adopt the server's time, read from an answer that was just received."""
        self.offset_ms = server_ms - int(self._time() * 1000)
