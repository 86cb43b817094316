"""The client's view of the server's clock: local time plus an offset learned from the server."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["ServerClock"]


class ServerClock:
    """Millisecond time on the server's clock, corrected when the server says ours is off (1013)."""

    def __init__(self, time_source: Callable[[], float] = time.time) -> None:
        self._time = time_source
        self.offset_ms = 0

    def local_ms(self) -> int:
        """Local time in milliseconds since the epoch."""
        return int(self._time() * 1000)

    def now_ms(self) -> int:
        """Server time in milliseconds since the epoch, as best we know it."""
        return self.local_ms() + self.offset_ms

    def correct(self, server_ms: int) -> None:
        """Adopt the server's time, read from an answer that was just received."""
        self.offset_ms = server_ms - self.local_ms()
