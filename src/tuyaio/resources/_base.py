"""What every resource stands on: the transport, the per-call options, and listings.

A resource method declares a route, its arguments and the model of its result; everything else
(sending, decoding, paging) happens here. Each API family pages its own way (:class:`Paging`), and
the generic :class:`~tuyaio.pagination.AsyncPager` walks the pages without knowing which.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Awaitable, Callable, Hashable, Mapping
from datetime import datetime, timedelta
from typing import Any, Generic, Self, TypeVar

import attrs

from .._converter import decode, from_ms
from ..envelope import Envelope
from ..errors import DecodeError, OutcomeUnknownError
from ..models.common import Page
from ..options import Options
from ..pagination import AsyncPager
from ..routes import Call, Route
from ..transport import Reconcile, Transport
from ..validation import check_number, check_page, check_page_size, check_positive_number

__all__ = [
    "CONSTRUCTION_PAGING",
    "MAINTENANCE_PAGING",
    "SETTLE_S",
    "Listing",
    "Paging",
    "Resource",
]

T = TypeVar("T")

MAX_TOTAL = 2**31 - 1
"""The largest ``total`` a listing may report (a Java ``int``, as Tuya's servers send it); a larger
one is a broken answer, and walking it would never end."""


@attrs.frozen
class Paging:
    """How one API family pages: parameter names, where they travel, where the items are."""

    page_param: str
    size_param: str
    items_keys: tuple[str, ...]
    """Where the items are: the first of these keys present and not null."""
    max_page_size: int
    in_body: bool
    """The parameters travel as a JSON body on the GET (docs/protocol.md, "Construction
    listings: parameters in a JSON body on the GET")."""


MAINTENANCE_PAGING = Paging("page_no", "page_size", ("tasks",), 99, in_body=False)
CONSTRUCTION_PAGING = Paging("page", "pageSize", ("list", "records"), 10_000, in_body=True)
"""Tuya's lighting SDK pages carry their items under ``list`` or ``records`` (docs/protocol.md,
"Listings")."""


@attrs.frozen
class Listing(Generic[T]):
    """A paged endpoint: its route, the type of its items, and its family's paging.

    ``key`` names the attribute that identifies an item (``None``: the whole item), by which a
    walk notices an item served twice.
    """

    route: Route
    item_type: type[T]
    paging: Paging
    key: str | None = None

    def item_key(self) -> Callable[[T], Hashable] | None:
        """What identifies an item, for the pager."""
        return None if self.key is None else operator.attrgetter(self.key)

    def build(
        self, path: Mapping[str, str], filters: Mapping[str, Any], page_no: int, page_size: int
    ) -> Call:
        """The call for one page; ``None`` filters are left out."""
        params = {self.paging.page_param: page_no, self.paging.size_param: page_size}
        params.update((name, value) for name, value in filters.items() if value is not None)
        if self.paging.in_body:
            return self.route.build(path, body=params)
        return self.route.build(path, query=params)

    def decode(self, result: Any, call: Call, page_no: int, page_size: int) -> Page[T]:
        """A listing's ``result`` as a :class:`Page` (page number and size as requested).

        ``total`` is required (the walk is planned from it) and at most :data:`MAX_TOTAL`; the
        items may be missing or null only on a page past the end; a page never holds more items
        than were asked for.
        """
        keys = self.paging.items_keys
        items_key, total, raw_items = "|".join(keys), None, None
        if isinstance(result, dict):
            total = result.get("total")
            for key in keys:
                raw_items = result.get(key)
                if raw_items is not None:
                    items_key = key
                    break
        problem = None
        if not isinstance(total, int) or isinstance(total, bool) or not 0 <= total <= MAX_TOTAL:
            problem = f"expected {{total: int 0..{MAX_TOTAL}, {items_key}: [...]}} @ result"
        elif raw_items is None and total > (page_no - 1) * page_size:
            problem = f"expected {{total: int, {items_key}: [...]}} @ result"
        elif isinstance(raw_items, list) and len(raw_items) > page_size:
            problem = f"a page of {page_size} held {len(raw_items)} items @ result.{items_key}"
        if problem is not None or not isinstance(total, int):
            raise DecodeError(errors=(problem or "",), method=call.method, route=call.route)
        items_type: Any = tuple[self.item_type, ...]  # type: ignore[name-defined]
        items: tuple[T, ...] = decode(raw_items, items_type, method=call.method, route=call.route)
        return Page(items=items, total=total, page_no=page_no, page_size=page_size)


SETTLE_S = 60.0
"""How long after a create was last sent ``find_created`` keeps looking before it answers ``None``:
a server may finish a request after its client gave up. A guess: Tuya documents no bound on how
long a request may still run (docs/protocol.md, "Outcome unknown")."""


def _window(error: OutcomeUnknownError, margin: float) -> tuple[datetime, datetime]:
    """When an object that a failed create made would have been created (server clock)."""
    if error.first_sent_ms is None or error.last_sent_ms is None:
        raise ValueError("the error does not say when the create was sent")
    pad = timedelta(seconds=check_positive_number("margin", margin))
    return from_ms(error.first_sent_ms) - pad, from_ms(error.last_sent_ms) + pad


def _read(result_type: type[T], call: Call, envelope: Envelope) -> T:
    result: T = envelope.decode(decode, result_type, method=call.method, route=call.route)
    return result


def _read_page(
    listing: Listing[T], call: Call, page_no: int, page_size: int, envelope: Envelope
) -> Page[T]:
    return envelope.decode(listing.decode, call, page_no, page_size)


class Resource:
    """The base of ``client.maintenance`` and ``client.construction``."""

    def __init__(self, transport: Transport, options: Options) -> None:
        self._transport = transport
        self._options = options

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    async def _find_settled(
        self,
        error: OutcomeUnknownError,
        search: Callable[[], Awaitable[T | None]],
        settle: float,
        interval: float,
    ) -> T | None:
        """``search()`` until it finds the object, or until a search that began ``settle``
        seconds or more after the create was last sent (server clock) found nothing: ``None``.
        Searches are ``interval`` seconds apart; the waits use the client's clock seam."""
        if error.last_sent_ms is None:
            raise ValueError("the error does not say when the create was sent")
        settle = check_number("settle", settle)
        if settle < 0:
            raise ValueError(f"settle must be 0 or more, got {settle}")
        interval = check_positive_number("interval", interval)
        clock = self._transport.clock
        settled_ms = error.last_sent_ms + int(settle * 1000)
        while True:
            began_ms = clock.now_ms()
            found = await search()
            if found is not None or began_ms >= settled_ms:
                return found
            await clock.source.sleep(max(0.0, min(interval, (settled_ms - clock.now_ms()) / 1000)))

    def _within(self, options: Options) -> Self:
        """This resource with other per-call options."""
        return type(self)(self._transport, options)

    async def _fetch(
        self, call: Call, result_type: type[T], *, reconcile: Reconcile | None = None
    ) -> T:
        read = functools.partial(_read, result_type, call)
        return await self._transport.send(call, self._options, read, reconcile=reconcile)

    async def _page(
        self,
        listing: Listing[T],
        path: Mapping[str, str],
        filters: Mapping[str, Any],
        *,
        page_no: int,
        page_size: int,
    ) -> Page[T]:
        check_page("page_no", page_no)
        check_page_size("page_size", page_size, listing.paging.max_page_size)
        return await self._get_page(listing, path, filters, page_no, page_size)

    async def _get_page(
        self,
        listing: Listing[T],
        path: Mapping[str, str],
        filters: Mapping[str, Any],
        page_no: int,
        page_size: int,
    ) -> Page[T]:
        call = listing.build(path, filters, page_no, page_size)
        read = functools.partial(_read_page, listing, call, page_no, page_size)
        return await self._transport.send(call, self._options, read)

    def _walk(
        self,
        listing: Listing[T],
        path: Mapping[str, str],
        filters: Mapping[str, Any],
        *,
        page_size: int,
        limit: int | None,
        start_page: int,
        prefetch: int,
    ) -> AsyncPager[T]:
        listing.route.check_path(path)  # now: the pager sends nothing before it is walked
        return AsyncPager(  # checks start_page, page_size and the rest once, for every page
            functools.partial(self._get_page, listing, path, filters),
            page_size=page_size,
            start_page=start_page,
            limit=limit,
            prefetch=prefetch,
            max_page_size=listing.paging.max_page_size,
            key=listing.item_key(),
            error_fields={
                "method": listing.route.method,
                "route": listing.route.template,
                "path_args": {} if listing.route.secret_path else dict(path),
            },
        )
