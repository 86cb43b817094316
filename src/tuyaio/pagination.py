"""One pager for every listing, walking pages in order with bounded prefetch (docs/listings.md).

Pages are planned from the first page's ``total`` (shrinking if a later page reports less). A walk
yields every item once or raises :class:`~tuyaio.errors.IncompleteListingError`: each page is
checked against its own ``total`` (a first page cut short by a server's page-size cap re-plans
the walk at the size served) and against what the walk remembers of the items it yielded.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Mapping
from contextlib import aclosing
from typing import Any, Generic, TypeVar

import attrs

from ._aio import cancel_all
from .errors import IncompleteListingError
from .models.common import Page
from .validation import MAX_PREFETCH, check_count, check_page, check_page_size

__all__ = ["ITEMS_REMEMBERED", "PAGES_REMEMBERED", "AsyncPager", "PageFetcher"]

T = TypeVar("T")

PageFetcher = Callable[[int, int], Awaitable[Page[T]]]
"""Fetches one page: ``(page_no, page_size) -> Page``."""

ITEMS_REMEMBERED = 4_096
"""A walk keeps the keys of its last ``max(ITEMS_REMEMBERED, 2 × page_size)`` items: an item
served again within them is noticed."""
PAGES_REMEMBERED = 16_384
"""A walk keeps a fingerprint (one int) of each of its last ``PAGES_REMEMBERED`` pages: a page
that serves again the same items as one of them, in any order, is noticed."""


def _last_page(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


def _expected(page: Page[Any], page_no: int, size: int) -> int:
    """How many items a page must hold by its own ``total``."""
    return min(size, max(0, page.total - (page_no - 1) * size))


class AsyncPager(Generic[T]):
    """Every item of a listing, in order: ``async for item in pager`` (each starts a new walk).

    A walk yields each item once, or raises :class:`~tuyaio.errors.IncompleteListingError` where
    it cannot (docs/listings.md, "Exactly once, or an error"). ``key`` gives an item's identity
    (default: the item itself, or its ``repr`` when it is not hashable); ``error_fields`` (method,
    route, path_args) name the listing in that error. Leaving a loop early cancels its requests
    once the pager is dropped; ``async with pager:`` (or :meth:`aclose`) does it at once.
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
        key: Callable[[T], Hashable] | None = None,
        error_fields: Mapping[str, Any] | None = None,
    ) -> None:
        check_page("start_page", start_page)
        check_page_size("page_size", page_size, max_page_size)
        if limit is not None:
            check_count("limit", limit, minimum=1)
        check_count("prefetch", prefetch, minimum=0, maximum=MAX_PREFETCH)
        if key is not None and not callable(key):
            raise TypeError(f"key must be callable, got {type(key).__name__}")
        self._fetch = fetch
        self._page_size = page_size
        self._start_page = start_page
        self._limit = limit
        self._prefetch = prefetch
        self._key = key
        self._error_fields = dict(error_fields or {})
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
        plan = _Plan(self._page_size, self._start_page, self._limit, self._prefetch)
        return _walk(self._fetch, plan, _Seen(self._key, self._error_fields, self._page_size))


async def _items(pages: AsyncGenerator[Page[T], None]) -> AsyncGenerator[T, None]:
    async with aclosing(pages):
        async for page in pages:
            for item in page.items:
                yield item


@attrs.frozen
class _Plan:
    size: int
    page_no: int
    limit: int | None
    prefetch: int


class _Seen:
    """What a walk remembers of the items it yielded: the keys of the last items, in a window of
    whole pages, and a fingerprint of each recent page (the bounds above)."""

    def __init__(
        self, key: Callable[[Any], Hashable] | None, fields: Mapping[str, Any], size: int
    ) -> None:
        self._key = key
        self.fields = fields
        self.yielded = 0
        self._limit = max(ITEMS_REMEMBERED, 2 * size)
        self._window: set[Hashable] = set()
        self._pages: deque[frozenset[Hashable]] = deque()
        self._fingerprints: set[int] = set()
        self._fingerprint_order: deque[int] = deque()

    def error(self, page: Page[Any], page_no: int, size: int, detail: str) -> Exception:
        """The error for ``page``, asked for as page ``page_no`` of size ``size``."""
        return IncompleteListingError(
            page_no=page_no,
            page_size=size,
            total=page.total,
            served=len(page.items),
            expected=_expected(page, page_no, size),
            yielded=self.yielded,
            detail=detail,
            **self.fields,
        )

    def _keys(self, items: tuple[Any, ...]) -> frozenset[Hashable]:
        if self._key is not None:
            return frozenset(map(self._key, items))
        try:
            return frozenset(items)
        except TypeError:
            return frozenset(map(repr, items))

    def admit(self, page: Page[T], page_no: int, size: int, grown: int) -> tuple[T, ...]:
        """The items of ``page`` to yield; raises when it serves again items already yielded,
        unless they are its first ones and the listing grew by at least as many since the page
        before (items inserted ahead push the end of one page onto the next)."""
        items = page.items
        if not items:
            return items
        keys = self._keys(items)
        if len(keys) < len(items):
            raise self.error(page, page_no, size, "the page holds an item twice")
        fingerprint = hash(keys)
        if not self._window.isdisjoint(keys):
            repeated = keys & self._window
            shift = len(repeated)
            if shift > grown or self._keys(items[:shift]) != repeated:
                raise self.error(page, page_no, size, f"{shift} items on it were already yielded")
            items = items[shift:]
            keys = keys - repeated
        elif fingerprint in self._fingerprints:
            raise self.error(page, page_no, size, "it repeats an earlier page")
        self._remember(keys, fingerprint)
        return items

    def _remember(self, keys: frozenset[Hashable], fingerprint: int) -> None:
        self._window |= keys
        self._pages.append(keys)
        while len(self._window) > self._limit and len(self._pages) > 2:
            self._window -= self._pages.popleft()
        self._fingerprints.add(fingerprint)
        self._fingerprint_order.append(fingerprint)
        if len(self._fingerprint_order) > PAGES_REMEMBERED:
            self._fingerprints.discard(self._fingerprint_order.popleft())


async def _first_page(fetch: PageFetcher[T], plan: _Plan, seen: _Seen) -> tuple[Page[T], int, int]:
    """The first page, and the page number and size the walk goes on with: a page short of its
    own total is a server's page-size cap, and the walk goes on at the size served (from the same
    position, when the position is a whole number of such pages)."""
    page_no, size = plan.page_no, plan.size
    page = await fetch(page_no, size)
    served = len(page.items)
    if not 0 < served < _expected(page, page_no, size):
        return page, page_no, size
    offset = (page_no - 1) * size
    if offset % served:
        raise seen.error(
            page, page_no, size, f"the server serves {served} a page, which cannot continue here"
        )
    if offset:
        page = await fetch(offset // served + 1, served)
    else:
        page = attrs.evolve(page, page_size=served)
    return page, offset // served + 1, served


async def _walk(fetch: PageFetcher[T], plan: _Plan, seen: _Seen) -> AsyncGenerator[Page[T], None]:
    page, page_no, size = await _first_page(fetch, plan, seen)
    remaining = plan.limit
    # The plan: the first total, shrinking with later ones, and growing only by the items a page
    # served again because items were inserted ahead (they pushed as many to later pages).
    planned, previous_total = page.total, page.total
    ahead: deque[asyncio.Task[Page[T]]] = deque()
    next_no = page_no + 1
    try:
        while True:
            served = len(page.items)
            if served > size:
                raise seen.error(page, page_no, size, "more items than asked for")
            if served < _expected(page, page_no, size):
                raise seen.error(page, page_no, size, "the page is short of its own total")
            items = seen.admit(page, page_no, size, page.total - previous_total)
            previous_total = page.total
            planned = min(planned + served - len(items), page.total)
            last = _last_page(planned, size)
            if remaining is not None:
                last = min(last, page_no + _last_page(remaining, size) - 1)
            while len(ahead) < plan.prefetch and next_no <= last:
                ahead.append(asyncio.ensure_future(fetch(next_no, size)))
                next_no += 1
            if not served:
                return
            if items is not page.items:
                page = attrs.evolve(page, items=items)
            if remaining is not None:
                if len(items) >= remaining:
                    yield attrs.evolve(page, items=items[:remaining])
                    return
                remaining -= len(items)
            seen.yielded += len(items)
            yield page
            if page_no >= last:
                return
            page_no += 1
            if ahead:
                page = await ahead[0]
                ahead.popleft()
            else:
                page = await fetch(page_no, size)
    finally:
        await cancel_all(ahead)
