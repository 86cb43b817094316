"""Every walk yields each item once or raises IncompleteListingError (issue 25, rows 1-3).

Table-driven: a scripted listing serves pages the way a misbehaving server does (a page-size cap,
a repeated, reversed or shifted page, a total that says more than is served), first to the pager
alone, then over HTTP in both API families, then from the sandbox's page-size cap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from aiohttp import web

from tuyaio import AsyncPager, IncompleteListingError, Page, RetryPolicy, TuyaClient, pagination

from .conftest import ClientFactory, SandboxFactory, loopback_server

Pages = Callable[[int, int], tuple[list[int], int]]
"""A scripted server: ``(page_no, page_size) -> (items served, total reported)``."""


def honest(total: int, cap: int | None = None) -> Pages:
    """A listing of ``total`` integers; ``cap`` serves at most that many a page (counted by it)."""

    def pages(page_no: int, page_size: int) -> tuple[list[int], int]:
        size = min(page_size, cap or page_size)
        start = (page_no - 1) * size
        return list(range(start, min(start + size, total))), total

    return pages


def altered(
    base: Pages, change: Callable[[int, int, Pages], tuple[list[int], int] | None]
) -> Pages:
    """``base``, except where ``change(page_no, page_size, base)`` gives another answer."""

    def pages(page_no: int, page_size: int) -> tuple[list[int], int]:
        return change(page_no, page_size, base) or base(page_no, page_size)

    return pages


def repeat(page: int, of: int) -> Pages:
    return altered(honest(500), lambda no, size, base: base(of, size) if no == page else None)


def reverse(page: int, of: int) -> Pages:
    def change(no: int, size: int, base: Pages) -> tuple[list[int], int] | None:
        return (base(of, size)[0][::-1], 500) if no == page else None

    return altered(honest(500), change)


def shifted(page: int, by: int, grown: int) -> Pages:
    """From ``page`` on, ``by`` items were inserted ahead; the total grows by ``grown``."""

    def change(no: int, size: int, base: Pages) -> tuple[list[int], int] | None:
        if no < page:
            return None
        start = (no - 1) * size - by
        listing = list(range(-by, 0)) + list(range(500))  # the inserted items sort first
        return listing[start + by : start + by + size], 500 + grown

    return altered(honest(500), change)


def empty_from(page: int, total: int = 500) -> Pages:
    return altered(honest(total), lambda no, size, base: ([], total) if no >= page else None)


def shrinks_to(new_total: int, from_page: int) -> Pages:
    def change(no: int, size: int, base: Pages) -> tuple[list[int], int] | None:
        return honest(new_total)(no, size) if no >= from_page else None

    return altered(honest(500), change)


def doubled_item(page: int) -> Pages:
    def change(no: int, size: int, base: Pages) -> tuple[list[int], int] | None:
        items = base(no, size)[0]
        return ([*items[:-1], items[0]], 500) if no == page else None

    return altered(honest(500), change)


def oversized(page: int) -> Pages:
    def change(no: int, size: int, base: Pages) -> tuple[list[int], int] | None:
        return (list(range(10_000, 10_000 + size + 1)), 500) if no == page else None

    return altered(honest(500), change)


@attrs.frozen
class Exact:
    """The walk yields exactly these items."""

    items: list[int]


@attrs.frozen
class Fails:
    """The walk raises at this page, with these counts, after yielding ``yielded`` items."""

    page_no: int
    served: int
    expected: int
    total: int
    yielded: int
    detail: str


CASES: dict[str, tuple[Pages, dict[str, Any], Exact | Fails]] = {
    "honest": (honest(500), {}, Exact(list(range(500)))),
    "cap 100, size 1000, total 2500 (row 1)": (
        honest(2500, cap=100),
        {"page_size": 1000},
        Exact(list(range(2500))),
    ),
    "cap 100 from page 3 of 200": (
        honest(2500, cap=100),
        {"page_size": 200, "start_page": 3},
        Exact(list(range(400, 2500))),
    ),
    "cap 30 from page 2 of 100: cannot continue": (
        honest(500, cap=30),
        {"page_size": 100, "start_page": 2},
        Fails(2, 30, 100, 500, 0, "serves 30 a page"),
    ),
    "cap with a limit": (
        honest(2500, cap=100),
        {"page_size": 1000, "limit": 250},
        Exact(list(range(250))),
    ),
    "page 4 repeats page 2 (row 2)": (repeat(4, of=2), {}, Fails(4, 99, 99, 500, 297, "99 items")),
    "page 5 repeats page 1 (row 2)": (repeat(5, of=1), {}, Fails(5, 99, 99, 500, 396, "99 items")),
    "page 3 is page 2 reversed (row 2)": (
        reverse(3, of=2),
        {},
        Fails(3, 99, 99, 500, 198, "99 items"),
    ),
    "page 3 shifted by 5, total unchanged (row 2)": (
        shifted(3, by=5, grown=0),
        {},
        Fails(3, 99, 99, 500, 198, "5 items"),
    ),
    "page 3 shifted by 5 as 5 were inserted": (
        shifted(3, by=5, grown=5),
        {},
        Exact(list(range(500))),
    ),
    "page 3 empty, total 500 (row 3)": (empty_from(3), {}, Fails(3, 0, 99, 500, 198, "short")),
    "last page empty, total 500 (row 3)": (empty_from(6), {}, Fails(6, 0, 5, 500, 495, "short")),
    "the first page empty, total 500": (empty_from(1), {}, Fails(1, 0, 99, 500, 0, "short")),
    "a total shrinking to 198, consistently": (shrinks_to(198, 3), {}, Exact(list(range(198)))),
    "a total shrinking to 250, consistently": (shrinks_to(250, 2), {}, Exact(list(range(250)))),
    "an item twice on a page": (doubled_item(2), {}, Fails(2, 99, 99, 500, 99, "twice")),
    "more items than asked": (oversized(2), {}, Fails(2, 100, 99, 500, 99, "more items")),
}


async def walk(
    pages: Pages, prefetch: int, yielded: list[int] | None = None, **options: Any
) -> tuple[list[int], list[int]]:
    """The items a walk yields (also into ``yielded`` as they come), and the page sizes asked
    for."""
    sizes: list[int] = []
    yielded = [] if yielded is None else yielded

    async def fetch(page_no: int, page_size: int) -> Page[int]:
        sizes.append(page_size)
        items, total = pages(page_no, page_size)
        return Page(items=tuple(items), total=total, page_no=page_no, page_size=page_size)

    options.setdefault("page_size", 99)
    pager = AsyncPager(fetch, prefetch=prefetch, **options)
    try:
        async for item in pager:
            yielded.append(item)
    finally:
        await pager.aclose()
    return yielded, sizes


@pytest.mark.parametrize("prefetch", [0, 8])
@pytest.mark.parametrize("name", list(CASES))
async def test_a_walk_is_exact_or_raises_naming_the_page(name: str, prefetch: int) -> None:
    pages, options, outcome = CASES[name]
    got: list[int] = []
    if isinstance(outcome, Exact):
        assert (await walk(pages, prefetch, got, **options))[0] == outcome.items
        return
    with pytest.raises(IncompleteListingError) as caught:
        await walk(pages, prefetch, got, **options)
    error = caught.value
    fields = (error.page_no, error.served, error.expected, error.total, error.yielded)
    assert fields == (
        outcome.page_no,
        outcome.served,
        outcome.expected,
        outcome.total,
        outcome.yielded,
    )
    assert outcome.detail in str(error)
    assert f"page {outcome.page_no}" in str(error)
    assert len(got) == len(set(got)) == outcome.yielded  # nothing yielded twice before it


async def test_the_cap_is_replanned_once_at_the_size_served() -> None:
    items, sizes = await walk(honest(2500, cap=100), 4, page_size=1000)
    assert items == list(range(2500))
    assert sizes == [1000] + [100] * 24


async def test_a_page_repeated_beyond_the_item_window_is_caught_by_its_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pagination, "ITEMS_REMEMBERED", 20)
    pages = reverse(30, of=1)
    with pytest.raises(IncompleteListingError, match="repeats an earlier page") as caught:
        await walk(pages, 2, page_size=10)
    assert caught.value.page_no == 30


async def test_memory_stays_bounded_by_the_stated_windows() -> None:
    seen = pagination._Seen(None, {}, 10)
    for page_no in range(1, 2001):
        start = (page_no - 1) * 10
        page = Page(
            items=tuple(range(start, start + 10)), total=20_000, page_no=page_no, page_size=10
        )
        seen.admit(page, page_no, 10, 0)
    assert len(seen._window) <= pagination.ITEMS_REMEMBERED + 10
    assert len(seen._fingerprints) <= pagination.PAGES_REMEMBERED


FAMILIES = {
    "maintenance v1.0 (page_no/page_size, query)": ("tasks", "task_id"),
    "construction v2.0 (page/pageSize, JSON body)": ("list", "roomId"),
}
HTTP_CASES = {
    "cap 20": (honest(300, cap=20), Exact(list(range(300)))),
    "page 3 repeats page 1": (repeat(3, of=1), Fails(3, 99, 99, 500, 198, "99 items")),
    "page 3 empty, total 500": (empty_from(3), Fails(3, 0, 99, 500, 198, "short")),
    "a total shrinking to 250": (shrinks_to(250, 2), Exact(list(range(250)))),
}


async def walk_over_http(family: str, pages: Pages, got: list[int]) -> None:
    """Walk ``pages`` through the real client over HTTP, in ``family``, at page size 99."""
    items_key, id_key = FAMILIES[family]

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if request.path.startswith("/v1.0/token"):
            result: Any = {"access_token": "a" * 32, "refresh_token": "r" * 32, "expire_time": 7200}
        else:
            params = json.loads(raw) if raw else dict(request.query)
            page_no = int(params.get("page_no", params.get("page", 0)))
            size = int(params.get("page_size", params.get("pageSize", 0)))
            served, total = pages(page_no, size)
            result = {"total": total, items_key: [{id_key: f"id{i}"} for i in served]}
        return web.json_response({"success": True, "t": 1_700_000_000_000, "result": result})

    async with (
        loopback_server(handle) as base_url,
        TuyaClient("id", "secret", base_url=base_url, retry=RetryPolicy(max_retries=0)) as client,
    ):
        if items_key == "tasks":
            walk = client.maintenance.iter_tasks("p1", prefetch=4)
            async with walk:
                async for task in walk:
                    got.append(int(task.task_id[2:]))
        else:
            rooms = client.construction.iter_rooms("p1", page_size=99, prefetch=4)
            async with rooms:
                async for room in rooms:
                    got.append(int(room.room_id[2:]))


@pytest.mark.parametrize("case", list(HTTP_CASES))
@pytest.mark.parametrize("family", list(FAMILIES))
async def test_both_api_families_walk_exactly_or_raise(family: str, case: str) -> None:
    pages, outcome = HTTP_CASES[case]
    got: list[int] = []
    if isinstance(outcome, Exact):
        await walk_over_http(family, pages, got)
        assert got == outcome.items
        return
    with pytest.raises(IncompleteListingError) as caught:
        await walk_over_http(family, pages, got)
    error = caught.value
    assert (error.page_no, error.served, error.expected, error.yielded) == (
        outcome.page_no,
        outcome.served,
        outcome.expected,
        outcome.yielded,
    )
    assert error.method == "GET"
    assert error.route.endswith("/tasks" if "v1.0" in family else "/task/rooms")
    assert got == list(range(outcome.yielded))


async def test_the_sandbox_page_size_cap_is_walked_exactly_in_both_families(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox = await make_sandbox(tasks=250, rooms=2500, page_size_cap=40)
    client = await make_client(sandbox)
    page = await client.construction.list_rooms(sandbox.lighting_project_id, page_size=1000)
    assert (len(page), page.total) == (40, 2500)  # the cap serves 40 and tells the true total
    rooms = [r.room_id async for r in client.construction.iter_rooms(sandbox.lighting_project_id)]
    assert len(rooms) == len(set(rooms)) == 2500
    tasks = [t.task_id async for t in client.maintenance.iter_tasks(sandbox.project_id)]
    assert len(tasks) == len(set(tasks)) == 250
    sandbox.configure(page_size_cap=None)
    assert (
        len(await client.construction.list_rooms(sandbox.lighting_project_id, page_size=1000))
        == 1000
    )
