"""What the resources stand on: send a call through the transport and decode its result."""

from __future__ import annotations

from typing import TypeVar

from ._converter import decode
from .models.common import Page
from .pagination import PageStyle, decode_page
from .routes import Call
from .transport import Options, Transport

__all__ = ["Requester"]

T = TypeVar("T")


class Requester:
    """A transport plus the per-call options of the client that owns it."""

    def __init__(self, transport: Transport, options: Options) -> None:
        self.transport = transport
        self.options = options

    async def fetch(self, call: Call, result_type: type[T]) -> T:
        """Send ``call`` and decode its result as ``result_type``."""
        envelope = await self.transport.send(call, self.options)
        result: T = decode(envelope.result, result_type, method=call.method, route=call.route)
        return result

    async def fetch_page(
        self, call: Call, style: PageStyle, item_type: type[T], *, page_no: int, page_size: int
    ) -> Page[T]:
        """Send a listing call and decode its result as one page."""
        envelope = await self.transport.send(call, self.options)
        return decode_page(
            envelope.result,
            style,
            item_type,
            page_no=page_no,
            page_size=page_size,
            method=call.method,
            route=call.route,
        )
