"""Small asyncio helpers: cancelling a group of tasks, and connection slots."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection
from typing import Any

__all__ = ["Slots", "cancel_all"]


async def cancel_all(tasks: Collection[asyncio.Future[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has finished (their errors are dropped)."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


class Slots:
    """At most ``size`` holders at a time, served in order; a free slot is taken without an await.

    ``if not slots.take(): await slots.wait()``, then ``slots.release()`` once done (also after a
    failure; not after a ``wait()`` that raised).
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take(self) -> bool:
        """Take a slot if one is free and nobody waits for one."""
        if self._free and not self._waiters:
            self._free -= 1
            return True
        return False

    async def wait(self) -> None:
        """Wait for a slot, which a release hands over to the longest waiter."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as the wait was cancelled: pass it on
            raise

    def release(self) -> None:
        """Give the slot to the longest waiter still waiting, else free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
