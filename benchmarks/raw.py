"""The raw baseline: hand-written aiohttp plus tuyaio's own signing functions, nothing else.

No models, no retries, no token manager, no rate limiter: one ``aiohttp.ClientSession`` with
keep-alive and the same connection limit as tuyaio's (100), a token fetched once, every request
signed with :func:`tuyaio.signing.signed_headers` (fresh ``t`` and nonce, as tuyaio does), the
body read and parsed with :func:`json.loads`, and the envelope's ``success`` checked. This is the
practical upper bound for a Python client of this API on this machine.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tuyaio.signing import encode_query, signed_headers

__all__ = ["ROOMS_PATH", "RawApiError", "RawClient"]

ROOMS_PATH = "/v2.0/illumination/construction/task/rooms"
"""The construction rooms listing (its parameters travel as a JSON body on the GET)."""


class RawApiError(Exception):
    """The server answered ``success: false``."""


class RawClient:
    """``async with RawClient(base_url, client_id, secret) as raw: await raw.get(path, query)``."""

    def __init__(self, base_url: str, client_id: str, secret: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._secret = secret
        self._token: str | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RawClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        result = await self._get("/v1.0/token", {"grant_type": "1"}, token=None)
        self._token = result["access_token"]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(
        self,
        path: str,
        query: Mapping[str, Any] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """A signed GET, its parameters in the query or as a JSON body; the envelope's
        ``result``."""
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        return await self._get(path, encode_query(query), token=self._token, data=data)

    async def _get(
        self, path: str, query: Mapping[str, str], *, token: str | None, data: bytes = b""
    ) -> Any:
        assert self._session is not None
        headers = signed_headers(
            method="GET",
            path=path,
            query=query,
            body=data,
            client_id=self._client_id,
            secret=self._secret,
            t=str(int(time.time() * 1000)),
            nonce=uuid.uuid4().hex,
            access_token=token,
        )
        url = self._base_url + path + ("?" + urlencode(query) if query else "")
        async with self._session.get(url, headers=headers, data=data or None) as response:
            body = await response.read()
        document = json.loads(body)
        if not document.get("success"):
            raise RawApiError(f"{path}: code {document.get('code')}: {document.get('msg')}")
        return document["result"]

    async def count_rooms(self, project_id: str, *, page_size: int, prefetch: int) -> int:
        """Walk a project's construction rooms, reading each room's ID; the number of rooms."""
        count = 0
        pages = self.iter_pages(
            ROOMS_PATH,
            {"projectId": project_id},
            page_param="page",
            size_param="pageSize",
            items_key="list",
            page_size=page_size,
            prefetch=prefetch,
            in_body=True,
        )
        async for items in pages:
            for item in items:
                count += bool(item["roomId"])
        return count

    async def iter_pages(
        self,
        path: str,
        query: Mapping[str, Any],
        *,
        page_param: str,
        size_param: str,
        items_key: str,
        page_size: int,
        prefetch: int,
        in_body: bool = False,
        latencies_ms: list[float] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page's items in order, with up to ``prefetch`` pages requested ahead.

        The same plan as tuyaio's pager (first page, then the rest from ``total``), written
        plainly: raw dicts, no models, no limit or resume options. Each page's round trip (ms)
        is appended to ``latencies_ms`` when given; ``in_body`` sends the parameters as a JSON
        body (the construction listings).
        """

        async def get_page(page: int) -> Any:
            started = time.perf_counter()
            params = {page_param: page, size_param: page_size, **query}
            result = await (self.get(path, body=params) if in_body else self.get(path, params))
            if latencies_ms is not None:
                latencies_ms.append((time.perf_counter() - started) * 1000)
            return result

        def fetch(page: int) -> asyncio.Future[Any]:
            return asyncio.ensure_future(get_page(page))

        first = await get_page(1)
        last = max(1, math.ceil(first["total"] / page_size))
        ahead: deque[asyncio.Future[Any]] = deque()
        next_page, result = 2, first
        try:
            for _ in range(last):
                while len(ahead) < prefetch and next_page <= last:
                    ahead.append(fetch(next_page))
                    next_page += 1
                items = result[items_key]
                if not items:
                    return
                yield items
                if ahead:
                    result = await ahead.popleft()
                elif next_page <= last:
                    result = await fetch(next_page)
                    next_page += 1
        finally:
            for future in ahead:
                future.cancel()
