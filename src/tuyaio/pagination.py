"""One pager for every listing, walking pages in order with bounded prefetch (docs/listings.md).

Pages are planned from the first page's ``total`` (shrinking if a later page reports less); the
walk stops at an empty page or one that repeats the page before, so it always ends.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, Generic, TypeVar

import attrs

from ._aio import cancel_all
from .models.common import Page
from .validation import MAX_PREFETCH, check_count, check_page, check_page_size

__all__ = ["AsyncPager", "PageFetcher"]

T = TypeVar("T")

PageFetcher = Callable[[int, int], Awaitable[Page[T]]]
"""Fetches one page: ``(page_no, page_size) -> Page``."""


def _last_page(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


class AsyncPager(Generic[T]):
    """Every item of a listing, in order: ``async for item in pager`` (each starts a new walk).

    Leaving a loop early cancels its requests once the pager is dropped; ``async with pager:`` (or
    :meth:`aclose`) does it at once.
    """

    def __init__(
        self,
        fetch: PageFetcher[T],
        *,
        page_size: int,
        start_page: int = 1,
        limit: int | None = None,
        prefetch: int = 8,
        max_page_size: int = 10_000,
    ) -> None:
        check_page("start_page", start_page)
        check_page_size("page_size", page_size, max_page_size)
        if limit is not None:
            check_count("limit", limit, minimum=1)
        check_count("prefetch", prefetch, minimum=0, maximum=MAX_PREFETCH)
        self._fetch = fetch
        self._page_size = page_size
        self._start_page = start_page
        self._limit = limit
        self._prefetch = prefetch
        self._walks: list[AsyncGenerator[Any, None]] = []

    def __repr__(self) -> str:
        return (
            f"AsyncPager(page_size={self._page_size}, start_page={self._start_page}, "
            f"limit={self._limit}, prefetch={self._prefetch})"
        )

    def __aiter__(self) -> AsyncGenerator[T, None]:
        return self._track(_items(self._pages()))

    def pages(self) -> AsyncGenerator[Page[T], None]:
        """Walk page by page (with ``limit``, the last page is cut short)."""
        return self._track(self._pages())

    async def to_list(self) -> list[T]:
        """Collect every item (mind the memory on large listings)."""
        return [item async for item in self]

    async def aclose(self) -> None:
        """Stop every walk of this pager that is still open, cancelling its requests."""
        walks, self._walks = self._walks, []
        for walk in walks:
            await walk.aclose()

    async def __aenter__(self) -> AsyncPager[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _track(self, walk: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
        self._walks = [w for w in self._walks if getattr(w, "ag_frame", None) is not None]
        self._walks.append(walk)
        return walk

    def _pages(self) -> AsyncGenerator[Page[T], None]:
        # A walk must not hold the pager: the pager holds its walks, and a cycle would keep a
        # dropped walk (and its page requests) alive until the cycle collector runs.
        return _walk(self._fetch, self._page_size, self._start_page, self._limit, self._prefetch)


async def _items(pages: AsyncGenerator[Page[T], None]) -> AsyncGenerator[T, None]:
    async with aclosing(pages):
        async for page in pages:
            for item in page.items:
                yield item


def _repeats(page: Page[Any], previous: Page[Any]) -> bool:
    items, before = page.items, previous.items
    return len(items) == len(before) > 0 and items[0] == before[0] and items[-1] == before[-1]


async def _walk(
    fetch: PageFetcher[T], size: int, page_no: int, remaining: int | None, prefetch: int
) -> AsyncGenerator[Page[T], None]:
    page = await fetch(page_no, size)
    last = _last_page(page.total, size)
    if remaining is not None:
        last = min(last, page_no + _last_page(remaining, size) - 1)
    ahead: deque[asyncio.Task[Page[T]]] = deque()
    next_no = page_no + 1
    try:
        while True:
            last = min(last, _last_page(page.total, size))
            while len(ahead) < prefetch and next_no <= last:
                ahead.append(asyncio.ensure_future(fetch(next_no, size)))
                next_no += 1
            if not page.items:
                return
            if remaining is not None:
                if len(page.items) >= remaining:
                    yield attrs.evolve(page, items=page.items[:remaining])
                    return
                remaining -= len(page.items)
            yield page
            if page_no >= last:
                return
            page_no += 1
            previous = page
            if ahead:
                page = await ahead[0]
                ahead.popleft()
            else:
                page = await fetch(page_no, size)
            if _repeats(page, previous):
                return
    finally:
        await cancel_all(ahead)
