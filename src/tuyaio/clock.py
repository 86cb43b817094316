"""Time, read through one seam: :class:`Clock` (monotonic time, wall time, sleeping) and the
client's view of the server's clock, :class:`ServerClock`.

Everything in the core that measures, waits or stamps reads a :class:`Clock`; tests hand the core a
virtual one and drive retries, deadlines, tokens and throttles in milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import attrs

__all__ = ["DRIFT_TOLERANCE_MS", "SYSTEM_CLOCK", "Clock", "ServerClock", "loop_time"]

DRIFT_TOLERANCE_MS = 2_000
"""How far a token answer's time may be from ours before it is reported as a clock offset."""


def loop_time() -> float:
    """The running event loop's clock (monotonic seconds; :func:`time.monotonic` outside one):
    the monotonic clock of a :class:`Clock` for a loop with virtual time."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


@attrs.frozen
class Clock:
    """Where the core reads the time and sleeps: ``monotonic`` (seconds, never steps), ``time``
    (seconds since the epoch, may step) and ``sleep``."""

    monotonic: Callable[[], float] = time.monotonic
    time: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


SYSTEM_CLOCK = Clock()
"""The process's clocks and :func:`asyncio.sleep` (an event loop's ``time()`` is
:func:`time.monotonic` too)."""


class ServerClock:
    """Millisecond time on the server's clock, learned from the server's answers.

    Every successful answer's ``t`` anchors the estimate to the monotonic clock, so a step of the
    local wall clock after that changes nothing; :attr:`uncertainty_ms` is how far off the
    estimate may be (the round trip of the answer it was learned from). Before any answer the
    local wall clock is all there is.
    """

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.source: Clock = clock
        """The clocks read."""
        self._server_ms: int | None = None
        self._at: float = 0.0
        self._wall_offset_ms = 0
        self.uncertainty_ms: int = 0

    @property
    def offset_ms(self) -> int:
        """How far the server's clock is ahead of the local wall clock (ms)."""
        if self._server_ms is None:
            return self._wall_offset_ms
        return self.now_ms() - int(self.source.time() * 1000)

    def now_ms(self) -> int:
        """Server time in milliseconds since the epoch, as best we know it."""
        if self._server_ms is None:
            return int(self.source.time() * 1000) + self._wall_offset_ms
        return self._server_ms + int((self.source.monotonic() - self._at) * 1000)

    def observe(self, server_ms: int, sent_at: float | None = None) -> None:
        """Anchor to ``server_ms``, the time of an answer received just now to a request sent at
        ``sent_at`` (monotonic seconds; ``None``: just now, e.g. a 1013's server time)."""
        at = self.source.monotonic()
        self._server_ms, self._at = server_ms, at
        self.uncertainty_ms = 1 if sent_at is None else int((at - sent_at) * 1000) + 1
