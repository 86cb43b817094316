"""The generic pager against an in-memory listing: order, exactly-once, limits, prefetch bounds.

These drive the pager alone (its fetch function is a plain coroutine over a list); the same pager
runs against the sandbox in the maintenance and construction tests.
"""

from __future__ import annotations

import asyncio
import gc
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuyaio import AsyncPager, Page


class Listing:
    """A listing of ``total`` integers, counting fetches and how many run at once."""

    def __init__(self, total: int, *, fail_page: int | None = None, delay: float = 0.0) -> None:
        self.items = list(range(total))
        self.fetched: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_page = fail_page
        self.delay = delay

    async def fetch(self, page_no: int, page_size: int) -> Page[int]:
        self.fetched.append(page_no)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if page_no == self.fail_page:
                raise RuntimeError(f"page {page_no} failed")
            start = (page_no - 1) * page_size
            chunk = tuple(self.items[start : start + page_size])
            return Page(items=chunk, total=len(self.items), page_no=page_no, page_size=page_size)
        finally:
            self.in_flight -= 1


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(0, 300),
    page_size=st.integers(1, 40),
    prefetch=st.integers(0, 10),
    limit=st.none() | st.integers(1, 400),
)
def test_every_item_once_in_order_and_no_page_fetched_twice(
    total: int, page_size: int, prefetch: int, limit: int | None
) -> None:
    async def walk() -> tuple[list[int], Listing]:
        listing = Listing(total)
        pager = AsyncPager(listing.fetch, page_size=page_size, limit=limit, prefetch=prefetch)
        return [item async for item in pager], listing

    items, listing = asyncio.run(walk())
    expected = list(range(total))[:limit]
    assert items == expected
    assert len(listing.fetched) == len(set(listing.fetched))
    needed = max(1, math.ceil(len(expected) / page_size))
    assert len(listing.fetched) == needed


async def test_prefetch_keeps_at_most_n_requests_ahead_and_memory_bounded() -> None:
    listing = Listing(1000, delay=0.001)
    pager = AsyncPager(listing.fetch, page_size=10, prefetch=4)
    seen = 0
    async for _ in pager:
        seen += 1
        await asyncio.sleep(0)  # a consumer slower than the fetches
        in_memory_pages = len(listing.fetched) - (seen - 1) // 10
        assert in_memory_pages <= 4 + 1
    assert seen == 1000
    assert listing.max_in_flight <= 4


async def test_breaking_out_cancels_in_flight_pages_and_leaves_no_task() -> None:
    listing = Listing(10_000, delay=0.05)
    before = asyncio.all_tasks()
    async with AsyncPager(listing.fetch, page_size=10, prefetch=6) as pager:
        async for item in pager:
            if item == 15:
                break
    assert asyncio.all_tasks() - before == set()
    assert len(listing.fetched) <= 2 + 6


async def test_a_plain_break_cancels_in_flight_pages_without_the_cycle_collector() -> None:
    listing = Listing(10_000, delay=0.05)
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    before = asyncio.all_tasks()
    gc.disable()
    try:
        async for item in AsyncPager(listing.fetch, page_size=10, prefetch=6):
            if item == 15:
                break
        for _ in range(10):
            await asyncio.sleep(0)
        assert asyncio.all_tasks() - before == set()
    finally:
        gc.enable()
        loop.set_exception_handler(None)
    gc.collect()
    await asyncio.sleep(0)
    assert reported == []
    assert listing.in_flight == 0
    assert len(listing.fetched) <= 2 + 6


async def test_a_failing_page_surfaces_after_the_items_before_it() -> None:
    listing = Listing(100, fail_page=4)
    got: list[int] = []

    async def consume() -> None:
        async for item in AsyncPager(listing.fetch, page_size=10, prefetch=3):
            got.append(item)

    with pytest.raises(RuntimeError, match="page 4"):
        await consume()
    assert got == list(range(30))


async def test_a_listing_that_shrinks_ends_and_one_that_grows_stays_bounded() -> None:
    shrinking = Listing(100)

    async def shrink(page_no: int, page_size: int) -> Page[int]:
        del shrinking.items[:15]
        return await shrinking.fetch(page_no, page_size)

    items = [item async for item in AsyncPager(shrink, page_size=10, prefetch=0)]
    assert len(items) == len(set(items))
    assert len(shrinking.fetched) < 10

    growing = Listing(50)

    async def grow(page_no: int, page_size: int) -> Page[int]:
        if page_no > 1:
            growing.items.extend(range(1000, 1020))
        return await growing.fetch(page_no, page_size)

    walked = [item async for item in AsyncPager(grow, page_size=10, prefetch=2)]
    assert len(growing.fetched) == 5
    assert len(walked) == 50


async def test_reiterating_starts_again_and_pages_view_trims_to_limit() -> None:
    listing = Listing(25)
    pager = AsyncPager(listing.fetch, page_size=10, limit=15)
    assert [item async for item in pager] == list(range(15))
    assert [item async for item in pager] == list(range(15))
    assert [len(page) async for page in pager.pages()] == [10, 5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 10_001}, "page_size"),
        ({"page_size": 10, "start_page": 0}, "start_page"),
        ({"page_size": 10, "limit": 0}, "limit"),
        ({"page_size": 10, "prefetch": -1}, "prefetch"),
        ({"page_size": "10"}, "page_size"),
    ],
)
def test_bad_arguments_are_refused_before_any_fetch(
    kwargs: dict[str, object], message: str
) -> None:
    listing = Listing(10)
    with pytest.raises((ValueError, TypeError), match=message):
        AsyncPager(listing.fetch, **kwargs)  # type: ignore[arg-type]
    assert listing.fetched == []
