"""The one request path: sign → send → decode the envelope → classify, in a bounded retry loop.

Every attempt is signed afresh (new ``t`` and ``nonce``) over the same body bytes. Token refresh
(1010–1012) and clock correction (1013) repeat a call once each; everything else is up to the
:class:`~tuyaio.retry.RetryPolicy`. Nothing here knows an endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, NoReturn
from urllib.parse import quote

import aiohttp
import attrs
from yarl import URL

from .clock import ServerClock
from .envelope import Envelope, parse_envelope, server_time_from_date
from .errors import (
    TOKEN_CODES,
    ApiError,
    ClientClosedError,
    ClockSkewError,
    ConnectError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
    TuyaError,
)
from .ratelimit import AdaptiveThrottle, RateLimiter
from .retry import RetryPolicy, is_outcome_unknown
from .routes import Call, Route
from .signing import signed_headers
from .tokens import Token, TokenManager, TokenStore, token_from_result

__all__ = ["Credentials", "Options", "Stats", "Transport"]

logger = logging.getLogger("tuyaio")

_CONNECTIONS = 100
"""Connections of the session a client makes for itself."""

GRANT = Route("GET", "/v1.0/token", authenticated=False)
REFRESH = Route("GET", "/v1.0/token/{refresh_token}", authenticated=False, secret_path=True)


@attrs.frozen
class Credentials:
    """A cloud project's Access ID and secret. The secret never shows in ``repr``."""

    client_id: str
    secret: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Options:
    """Per-call settings that :meth:`TuyaClient.with_options` can change."""

    timeout: aiohttp.ClientTimeout
    retry: RetryPolicy


@attrs.define
class Stats:
    """What this client has done so far (attempts include retries and token calls)."""

    attempts: int = 0
    retries: int = 0
    token_grants: int = 0
    token_refreshes: int = 0
    token_rejections: int = 0
    clock_corrections: int = 0
    rate_limited: int = 0


@attrs.frozen
class _Response:
    status: int
    body: bytes
    retry_after: str | None
    date: str | None


def _wire_url(base_url: URL, call: Call) -> URL:
    # Percent-encoding by RFC 3986 (a space is %20): yarl's form-style "+" for a space would be
    # read back as "+" by a strict server, which would then sign a different string (1004).
    query = "&".join(
        f"{quote(name, safe='')}={quote(value, safe=',')}" for name, value in call.query.items()
    )
    url = base_url.with_path(call.path, encoded=True)
    return URL(f"{url}?{query}", encoded=True) if query else url


class Transport:
    """Sends calls for one set of credentials over one aiohttp session."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        base_url: URL,
        session: aiohttp.ClientSession | None,
        token_store: TokenStore,
        rate_limiter: RateLimiter | None,
        options: Options,
        clock: ServerClock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._credentials = credentials
        self._base_url = base_url
        self._session = session
        self._owns_session = session is None
        limit = _CONNECTIONS if session is None else getattr(session.connector, "limit", 0)
        self._slots = asyncio.Semaphore(limit) if limit else None
        self._limiter = rate_limiter
        self._throttle = AdaptiveThrottle()
        self._sleep = sleep
        self._rand = rand
        self._closed = False
        self.options = options
        self.clock = clock or ServerClock()
        self.stats = Stats()
        self.tokens = TokenManager(
            fetch=self._fetch_token,
            store=token_store,
            key=f"{base_url.authority}:{credentials.client_id}",
            clock=self.clock,
        )

    def __repr__(self) -> str:
        client_id = self._credentials.client_id
        return f"Transport(base_url={str(self._base_url)!r}, client_id={client_id!r})"

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    async def close(self) -> None:
        """Stop: calls waiting or in flight fail with :class:`ClientClosedError`."""
        if self._closed:
            return
        self._closed = True
        await self.tokens.close()
        if self._owns_session and self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=_CONNECTIONS, ttl_dns_cache=300),
            )
            # aiohttp re-sends a GET/DELETE once, with the same signature, when a kept-alive
            # connection drops; our own loop retries instead, re-signed and counted.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    async def send(self, call: Call, options: Options) -> Envelope:
        """Send ``call`` until it succeeds or the retry policy gives up; return its envelope."""
        url = _wire_url(self._base_url, call)
        retries = 0
        failure: TuyaError
        token_repeated = clock_repeated = False
        for attempt in range(1, options.retry.max_retries + 4):
            async with self._connection_slot(call):
                self._check_open(call)
                token = await self._token_after_pacing(call)
                try:
                    return await self._attempt(call, url, token, options.timeout, attempt)
                except (ApiError, TransportError) as error:
                    failure = error
            if isinstance(failure, ApiError):
                if failure.code in TOKEN_CODES and token is not None and not token_repeated:
                    token_repeated = True
                    self.stats.token_rejections += 1
                    await self.tokens.invalidate(token)
                    continue
                if isinstance(failure, ClockSkewError) and not clock_repeated:
                    clock_repeated = True
                    if failure.server_time_ms is not None:
                        self.clock.correct(failure.server_time_ms)
                        self.stats.clock_corrections += 1
                        continue
            delay = options.retry.delay(
                retries, failure, idempotent=call.idempotent, rand=self._rand()
            )
            if delay is None or self._closed:
                self._give_up(call, failure)
            retries += 1
            self.stats.retries += 1
            await self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def token(self) -> Token:
        """A valid access token, fetched or renewed only if needed."""
        self._check_open(GRANT.build(query={"grant_type": 1}))
        return await self.tokens.get()

    async def _token_after_pacing(self, call: Call) -> Token | None:
        # The token is taken before pacing, so that a renewal never queues behind paced calls
        # (which would then all leave at once), and read again after it, so that a call that
        # waited for its turn does not send a token renewed meanwhile.
        if call.authenticated:
            await self.tokens.get()
        await self._throttle.acquire()
        if self._limiter is not None:
            await self._limiter.acquire()
        return await self.tokens.get() if call.authenticated else None

    def _check_open(self, call: Call) -> None:
        if self._closed:
            raise ClientClosedError(
                detail="the client is closed", method=call.method, route=call.route
            )

    def _connection_slot(self, call: Call) -> AbstractAsyncContextManager[object]:
        # Token calls never wait here: the callers holding every slot may be waiting for them.
        if self._slots is None or not call.authenticated:
            return contextlib.nullcontext()
        return self._slots

    def _give_up(self, call: Call, error: TuyaError) -> NoReturn:
        if not call.idempotent and is_outcome_unknown(error):
            raise OutcomeUnknownError(
                method=call.method,
                route=call.route,
                identifiers=call.identifiers,
                reason=error.summary,
            ) from error
        raise error

    async def _attempt(
        self,
        call: Call,
        url: URL,
        token: Token | None,
        limits: aiohttp.ClientTimeout,
        attempt: int,
    ) -> Envelope:
        headers = signed_headers(
            method=call.method,
            path=call.path,
            query=call.query,
            body=call.body,
            client_id=self._credentials.client_id,
            secret=self._credentials.secret,
            t=str(self.clock.now_ms()),
            nonce=uuid.uuid4().hex,
            access_token=token.access_token if token else None,
            extra_headers=call.extra_headers,
        )
        self.stats.attempts += 1
        started = time.perf_counter()
        status: int | str = "-"
        code: int | None = None
        try:
            response = await self._exchange(call, url, headers, limits)
            status = response.status
            try:
                envelope = parse_envelope(
                    status=response.status,
                    body=response.body,
                    method=call.method,
                    route=call.route,
                    retry_after=response.retry_after,
                    date=response.date,
                )
            except ClockSkewError as error:
                if error.server_time_ms is None:
                    error.server_time_ms = server_time_from_date(response.date)
                raise
        except ApiError as error:
            code = error.code
            rate_limited = isinstance(error, RateLimitedError)
            self.stats.rate_limited += rate_limited
            self._throttle.record(rate_limited=rate_limited)
            raise
        else:
            self._throttle.record(rate_limited=False)
            return envelope
        finally:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %s code=%s attempt=%d %.1fms",
                    call.method,
                    call.route,
                    status,
                    code,
                    attempt,
                    (time.perf_counter() - started) * 1000,
                )

    async def _exchange(
        self, call: Call, url: URL, headers: dict[str, str], limits: aiohttp.ClientTimeout
    ) -> _Response:
        try:
            async with self._http().request(
                call.method,
                url,
                data=call.body or None,
                headers=headers,
                timeout=limits,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return _Response(
                    response.status,
                    body,
                    response.headers.get("Retry-After"),
                    response.headers.get("Date"),
                )
        except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError) as error:
            if not call.secret_path:
                raise self._transport_error(call, error) from error
            failure = self._transport_error(call, error)
        # Raised outside the handler: aiohttp's error names the URL, which holds the refresh token.
        raise failure

    def _transport_error(self, call: Call, error: BaseException) -> TransportError:
        where: dict[str, Any] = {"method": call.method, "route": call.route}
        if self._closed:
            return ClientClosedError(detail="the client was closed during the call", **where)
        if isinstance(error, aiohttp.ConnectionTimeoutError):
            return ConnectError(detail="timed out while connecting", **where)
        if isinstance(error, asyncio.TimeoutError):
            return RequestTimeoutError(detail="the attempt timed out", **where)
        if isinstance(error, aiohttp.ClientConnectorError):
            return ConnectError(detail=f"could not connect: {error.os_error.strerror}", **where)
        if isinstance(error, RuntimeError):
            return ClientClosedError(detail="the HTTP session is closed", **where)
        return TransportError(detail=f"connection failed: {type(error).__name__}", **where)

    async def _fetch_token(self, refresh_token: str | None) -> Token:
        call = GRANT.build(query={"grant_type": 1})
        if refresh_token is not None:
            try:
                call = REFRESH.build({"refresh_token": refresh_token})
            except ValueError:
                refresh_token = None
        envelope = await self.send(call, self.options)
        if refresh_token is None:
            self.stats.token_grants += 1
        else:
            self.stats.token_refreshes += 1
        if envelope.t is not None:
            self.clock.observe(envelope.t)
        return token_from_result(
            envelope.result,
            server_ms=envelope.t if envelope.t is not None else self.clock.now_ms(),
            method=call.method,
            route=call.route,
        )
