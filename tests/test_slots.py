"""The connection slots a client's calls take: order, cancellation, and no slot ever lost."""

from __future__ import annotations

import asyncio

import pytest

from tuyaio._aio import Slots


async def waiting(slots: Slots, order: list[str], name: str) -> None:
    await slots.wait()
    order.append(name)


async def test_a_freed_slot_goes_to_the_longest_waiter_and_a_newcomer_queues() -> None:
    slots = Slots(2)
    assert (slots.take(), slots.take(), slots.take()) == (True, True, False)
    order: list[str] = []
    first = asyncio.create_task(waiting(slots, order, "first"))
    second = asyncio.create_task(waiting(slots, order, "second"))
    await asyncio.sleep(0)
    slots.release()
    assert not slots.take()  # the freed slot is the first waiter's, not a newcomer's
    await first
    slots.release()
    await second
    assert order == ["first", "second"]
    slots.release()
    slots.release()
    assert (slots.take(), slots.take(), slots.take()) == (True, True, False)


@pytest.mark.parametrize("handed_over", [False, True])
async def test_a_cancelled_waiter_loses_no_slot(handed_over: bool) -> None:
    slots = Slots(1)
    assert slots.take()
    order: list[str] = []
    cancelled = asyncio.create_task(waiting(slots, order, "cancelled"))
    await asyncio.sleep(0)
    if handed_over:
        slots.release()  # handed to the waiter, which is cancelled before it runs
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    if not handed_over:
        slots.release()
    assert order == []
    assert slots.take()
    assert not slots.take()
