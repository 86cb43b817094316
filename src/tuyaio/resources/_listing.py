"""A listing endpoint declared once, giving both one page and a full walk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import attrs

from ..models.common import Page
from ..pagination import AsyncPager, PageStyle
from ..requester import Requester
from ..routes import Route
from ..validation import check_id

__all__ = ["Listing"]

T = TypeVar("T")


@attrs.frozen
class Listing(Generic[T]):
    """A paged endpoint: its route, its paging style and the type of its items."""

    route: Route
    style: PageStyle
    item_type: type[T]
    in_body: bool = False
    """The parameters travel as a JSON body (on a GET too) instead of in the query string."""

    async def page(
        self,
        requester: Requester,
        *,
        page_no: int,
        page_size: int,
        filters: Mapping[str, Any],
        **path: str,
    ) -> Page[T]:
        """Fetch one page."""
        self.style.check(page_no, page_size)
        params = {**self.style.query(page_no, page_size), **filters}
        if self.in_body:
            body = {name: value for name, value in params.items() if value is not None}
            call = self.route.build(path, body=body)
        else:
            call = self.route.build(path, query=params)
        return await requester.fetch_page(
            call, self.style, self.item_type, page_no=page_no, page_size=page_size
        )

    def walk(
        self,
        requester: Requester,
        *,
        page_size: int,
        limit: int | None,
        start_page: int,
        prefetch: int,
        filters: Mapping[str, Any],
        **path: str,
    ) -> AsyncPager[T]:
        """A pager over every item; the arguments are checked now, before any request.

        ``prefetch`` is 0 to :data:`~tuyaio.validation.MAX_PREFETCH` (64) pages.
        """
        for name, value in path.items():
            check_id(name, value)

        async def fetch(page_no: int, size: int) -> Page[T]:
            return await self.page(
                requester, page_no=page_no, page_size=size, filters=filters, **path
            )

        return AsyncPager(
            fetch,
            page_size=page_size,
            start_page=start_page,
            limit=limit,
            prefetch=prefetch,
            max_page_size=self.style.max_page_size,
        )
