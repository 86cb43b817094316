"""The one place the core meets HTTP: an :class:`Exchange` sends one request and returns the
status, headers and body, or raises :class:`ExchangeError` saying whether bytes may have left.

:class:`AiohttpExchange` is the real one (it owns the aiohttp session, the capped body read and
the mapping of aiohttp's errors); tests script a fake one. Nothing else in the core imports aiohttp.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Literal, NamedTuple, Protocol

import aiohttp
from yarl import URL

from .errors import (
    ClientClosedError,
    ConnectError,
    RequestTimeoutError,
    TransportError,
    UnexpectedResponseError,
)
from .options import Timeout

__all__ = ["DEFAULT_MAX_BODY_BYTES", "AiohttpExchange", "Answer", "Exchange", "ExchangeError"]

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest answer read (after decompression): far above any real page (10,000 rooms are about
3 MB); a larger one fails the attempt with :class:`UnexpectedResponseError`."""

CONNECTIONS = 100
"""Connections of the session a client makes for itself."""

FailureKind = Literal["connect", "timeout", "closed", "protocol", "too_large", "failed"]


class Answer(NamedTuple):
    """What came back: the HTTP status, the headers and the (decoded) body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class ExchangeError(Exception):
    """An exchange that got no answer. ``sent``: whether any byte of the request may have left
    (then the server may have acted on it)."""

    def __init__(self, kind: FailureKind, detail: str, *, sent: bool) -> None:
        super().__init__(kind, detail)
        self.kind: FailureKind = kind
        self.detail = detail
        self.sent = sent

    def as_error(self, method: str, route: str, *, closed: bool) -> TransportError:
        """The typed error for a call to ``route``; ``closed``: the client was closed meanwhile."""
        if closed or self.kind == "closed":
            detail = "the client was closed during the call" if closed else self.detail
            return ClientClosedError(detail=detail, in_flight=self.sent, method=method, route=route)
        kind: type[TransportError] = _ERRORS.get(self.kind, TransportError)
        return kind(detail=self.detail, method=method, route=route)


_ERRORS: dict[str, type[TransportError]] = {
    "connect": ConnectError,
    "timeout": RequestTimeoutError,
    "protocol": UnexpectedResponseError,
    "too_large": UnexpectedResponseError,
}


class Exchange(Protocol):
    """Sends one request. ``fresh`` asks for a connection that no earlier exchange used (for a
    call that must not be repeated: a kept-alive connection the server is closing would lose it
    without a word)."""

    async def send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes,
        limits: Timeout,
        *,
        fresh: bool = False,
    ) -> Answer:
        """The answer, or :class:`ExchangeError`."""
        ...

    async def close(self) -> None:
        """Release what the exchange holds (never a session it was given)."""
        ...


class _BodyTooLarge(Exception):
    pass


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The decoded body, never more than ``limit`` bytes held (inflated bytes counted)."""
    length = response.content_length
    if length is not None and length > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _new_session(*, force_close: bool) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=CONNECTIONS, ttl_dns_cache=300, force_close=force_close)
    session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), connector=connector)
    # aiohttp re-sends a GET/DELETE once, with the same signature, when a kept-alive connection
    # drops; the core retries instead, re-signed and counted.
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session


_NO_CONTENT_TYPE = ("Content-Type",)


class AiohttpExchange:
    """The exchange over aiohttp: a session of its own (made on first use, made again in a new
    event loop, closed by :meth:`close`) or one it is given (used as is, never closed)."""

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._given = session
        self._max_body_bytes = max_body_bytes
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limits: tuple[Timeout, aiohttp.ClientTimeout] | None = None

    def __repr__(self) -> str:
        return f"AiohttpExchange(own_session={self._given is None})"

    @property
    def connections(self) -> int:
        """How many requests may be open at once (0: no limit)."""
        if self._given is None:
            return CONNECTIONS
        return int(getattr(self._given.connector, "limit", 0) or 0)

    def _session(self, fresh: bool) -> aiohttp.ClientSession:
        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new event loop (a second asyncio.run)
            self._sessions.clear()  # bound to a loop that has ended: nothing to close there
            self._loop = loop
        session = self._sessions.get(fresh)
        if session is None:
            session = self._sessions[fresh] = _new_session(force_close=fresh)
        return session

    async def send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes,
        limits: Timeout,
        *,
        fresh: bool = False,
    ) -> Answer:
        """Send one request over aiohttp (redirects are not followed)."""
        limit = self._max_body_bytes
        session = self._session(fresh)
        last = self._limits
        timeout = last[1] if last is not None and last[0] is limits else self._timeout(limits)
        sent = False
        try:
            async with session.request(
                method,
                url,
                data=body or None,
                headers=headers,
                # A bodiless POST carries no Content-Type (aiohttp would add one).
                skip_auto_headers=_NO_CONTENT_TYPE if not body and method != "GET" else None,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                sent = True
                length, answer_headers = response.content_length, response.headers
                if (
                    length is not None
                    and length <= limit
                    and "Content-Encoding" not in answer_headers
                ):
                    read = await response.read()  # the common case: one read of a known length
                else:
                    read = await _read_body(response, limit)
                return Answer(response.status, answer_headers, read)
        except _BodyTooLarge:
            detail = f"the answer is larger than max_body_bytes ({limit})"
            failure = ExchangeError("too_large", detail, sent=True)
        except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError, ValueError) as error:
            failure = _failure(error, sent=sent)
        # Raised outside the handler, with no cause or context: aiohttp's errors hold the
        # request's headers (the token and signature) and URL (a refresh token).
        raise failure

    def _timeout(self, limits: Timeout) -> aiohttp.ClientTimeout:
        """aiohttp's form of ``limits``, kept for the next call (the same limits, as a rule)."""
        timeout = aiohttp.ClientTimeout(total=limits.total, connect=limits.connect)
        self._limits = (limits, timeout)
        return timeout

    async def close(self) -> None:
        """Close the sessions this exchange made."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            await session.close()


def _failure(error: BaseException, *, sent: bool) -> ExchangeError:
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return ExchangeError("connect", "timed out while connecting", sent=False)
    if isinstance(error, aiohttp.ClientConnectorError):
        detail = f"could not connect: {error.os_error.strerror}"
        return ExchangeError("connect", detail, sent=False)
    if isinstance(error, asyncio.TimeoutError):
        return ExchangeError("timeout", "the attempt timed out", sent=True)
    if isinstance(error, RuntimeError):
        return ExchangeError("closed", "the HTTP session is closed", sent=sent)
    if isinstance(error, ValueError):
        return ExchangeError("protocol", "the answer broke the HTTP protocol", sent=True)
    return ExchangeError("failed", f"connection failed: {type(error).__name__}", sent=True)
