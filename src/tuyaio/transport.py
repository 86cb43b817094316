"""The one request path: sign → send → decode the envelope → decide, in a short loop.

The decisions live elsewhere, without I/O: signing in :mod:`~tuyaio.signing`, reading an answer in
:mod:`~tuyaio.envelope`, what to do after a failure in :class:`~tuyaio.retry.CallBudget`. Every
attempt is signed afresh (new ``t`` and ``nonce``) over the same body bytes. Nothing here knows an
endpoint. The hot path awaits only where something can wait: a valid token, a free connection and
an idle limiter cost no event-loop round trip.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn
from urllib.parse import quote

import aiohttp
import attrs
from yarl import URL

from .clock import ServerClock
from .envelope import Envelope, parse_envelope
from .errors import (
    ApiError,
    ClientClosedError,
    ConnectError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
    TuyaError,
    UnexpectedResponseError,
)
from .ratelimit import AdaptiveThrottle, RateLimiter
from .retry import Action, CallBudget, RetryPolicy, is_outcome_unknown
from .routes import GRANT, REFRESH, Call
from .signing import signed_headers
from .tokens import Token, TokenManager, TokenStore, token_from_result

__all__ = ["DEFAULT_MAX_BODY_BYTES", "Credentials", "Options", "Stats", "Transport"]

logger: logging.Logger = logging.getLogger("tuyaio")

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest answer read (after decompression): far above any real page (10,000 rooms are about
3 MB); a larger one fails the attempt with :class:`UnexpectedResponseError`."""

_CONNECTIONS = 100
"""Connections of the session a client makes for itself."""

Reconcile = Callable[[], Awaitable[Any]]
"""Reads the server's state after a repeated action was refused: the action's result if the
server is in the requested state, else ``None``."""


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
    reconciled: int = 0


def _wire_url(base_url: URL, call: Call) -> URL:
    # Percent-encoding by RFC 3986 (a space is %20): yarl's form-style "+" for a space would be
    # read back as "+" by a strict server, which would then sign a different string (1004).
    url = base_url.with_path(call.path, encoded=True)
    if not call.query:
        return url
    query = "&".join(
        f"{quote(name, safe='')}={quote(value, safe=',')}" for name, value in call.query.items()
    )
    return URL(f"{url}?{query}", encoded=True)


class _BodyTooLarge(Exception):
    pass


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The decoded body, never more than ``limit`` bytes held (inflated bytes counted)."""
    length = response.content_length
    if length is not None and length > limit:
        raise _BodyTooLarge
    if length is not None and "Content-Encoding" not in response.headers:
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


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
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
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
        self._max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._rand = rand
        self._closed = False
        self.options = options
        self.clock: ServerClock = clock or ServerClock()
        self.stats: Stats = Stats()
        self.tokens: TokenManager = TokenManager(
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

    async def send(
        self, call: Call, options: Options, *, reconcile: Reconcile | None = None
    ) -> Envelope:
        """Send ``call`` until it succeeds or its budget is spent; return its envelope.

        ``reconcile`` serves an action that is safe to repeat: when a repeat is refused after an
        earlier attempt's outcome was unknown, the earlier attempt may have done the work, so the
        server's state decides (see docs/protocol.md, "Repeated actions").
        """
        url = _wire_url(self._base_url, call)
        budget = CallBudget(options.retry)
        deadline = options.retry.deadline
        started = time.monotonic()
        unknown_before = False
        while True:
            token = await self._token_after_pacing(call) if call.authenticated else None
            timeout = self._attempt_timeout(options.timeout, deadline, started)
            if timeout is None:  # the wait for a token or a turn used the whole deadline
                raise RequestTimeoutError(
                    detail="the deadline passed before the call could be sent",
                    method=call.method,
                    route=call.route,
                    attempts=budget.attempts - 1,
                    elapsed_s=round(time.monotonic() - started, 3),
                )
            try:
                if self._slots is None or not call.authenticated:
                    # Token calls never wait for a slot: the callers holding them may wait on it.
                    return await self._attempt(call, url, token, timeout, budget.attempts)
                async with self._slots:
                    self._check_open(call)
                    return await self._attempt(call, url, token, timeout, budget.attempts)
            except (ApiError, TransportError) as error:
                failure: TuyaError = error
            elapsed = time.monotonic() - started
            if reconcile is not None and unknown_before and isinstance(failure, ApiError):
                result = await reconcile()
                if result is not None:
                    self.stats.reconciled += 1
                    return Envelope(result=result, t=None, tid=failure.tid)
            unknown_before = unknown_before or is_outcome_unknown(failure)
            action, delay = budget.decide(
                failure, idempotent=call.idempotent, sent_token=token is not None, rand=self._rand()
            )
            if deadline is not None and elapsed + delay >= deadline:
                action = Action.GIVE_UP
            if action is Action.GIVE_UP or self._closed:
                self._give_up(call, failure, budget.attempts, elapsed)
            if action is Action.RENEW_TOKEN and token is not None:
                self.stats.token_rejections += 1
                await self.tokens.invalidate(token)
            elif action is Action.CORRECT_CLOCK:
                self.clock.correct(getattr(failure, "server_time_ms", None) or self.clock.now_ms())
                self.stats.clock_corrections += 1
            else:
                self.stats.retries += 1
                await self._sleep(delay)

    async def token(self) -> Token:
        """A valid access token, fetched or renewed only if needed."""
        call = GRANT.build(query={"grant_type": 1})
        self._check_open(call)
        return await self._valid_token(call)

    async def _valid_token(self, call: Call) -> Token:
        token = self.tokens.fresh()
        if token is not None:
            return token
        try:
            return await self.tokens.get()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and (task is None or not task.cancelling()):
                raise ClientClosedError(
                    detail="the client was closed while waiting for a token",
                    method=call.method,
                    route=call.route,
                ) from None
            raise

    async def _token_after_pacing(self, call: Call) -> Token:
        # The token is taken before pacing, so that a renewal never queues behind paced calls
        # (which would then all leave at once), and read again after it, so that a call that
        # waited for its turn does not send a token renewed meanwhile.
        self._check_open(call)
        token = await self._valid_token(call)
        if self._throttle.limited:
            await self._throttle.acquire()
        if self._limiter is not None:
            await self._limiter.acquire()
            token = await self._valid_token(call)
        elif self._throttle.limited:
            token = await self._valid_token(call)
        return token

    def _attempt_timeout(
        self, limits: aiohttp.ClientTimeout, deadline: float | None, started: float
    ) -> aiohttp.ClientTimeout | None:
        if deadline is None:
            return limits
        left = deadline - (time.monotonic() - started)
        if left <= 0:
            return None
        if limits.total is not None and limits.total <= left:
            return limits
        return attrs.evolve(limits, total=left)

    def _check_open(self, call: Call) -> None:
        if self._closed:
            raise ClientClosedError(
                detail="the client is closed", method=call.method, route=call.route
            )

    def _give_up(self, call: Call, error: TuyaError, attempts: int, elapsed: float) -> NoReturn:
        error.attempts, error.elapsed_s = attempts, round(elapsed, 3)
        if not call.idempotent and is_outcome_unknown(error):
            raise OutcomeUnknownError(
                method=call.method,
                route=call.route,
                identifiers=call.identifiers,
                reason=error.summary,
                attempts=attempts,
                elapsed_s=error.elapsed_s,
            ) from error
        raise error

    def _secrets(self) -> tuple[str, ...]:
        token = self.tokens.current
        secret = self._credentials.secret
        return (secret,) if token is None else (secret, token.access_token, token.refresh_token)

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
            nonce=os.urandom(16).hex(),
            access_token=token.access_token if token else None,
            extra_headers=call.extra_headers,
        )
        self.stats.attempts += 1
        started = time.perf_counter()
        status: int | str = "-"
        code: int | None = None
        try:
            status, body, retry_after, date = await self._exchange(call, url, headers, limits)
            envelope = parse_envelope(
                status=status,
                body=body,
                method=call.method,
                route=call.route,
                retry_after=retry_after,
                date=date,
                secrets=self._secrets(),
            )
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
    ) -> tuple[int, bytes, str | None, str | None]:
        try:
            async with self._http().request(
                call.method,
                url,
                data=call.body or None,
                headers=headers,
                timeout=limits,
                allow_redirects=False,
            ) as response:
                body = await _read_body(response, self._max_body_bytes)
                return (
                    response.status,
                    body,
                    response.headers.get("Retry-After"),
                    response.headers.get("Date"),
                )
        except _BodyTooLarge:
            failure: TransportError = UnexpectedResponseError(
                detail=f"the answer is larger than max_body_bytes ({self._max_body_bytes})",
                method=call.method,
                route=call.route,
            )
        except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError, ValueError) as error:
            failure = self._transport_error(call, error)
        # Raised outside the handler, with no cause: aiohttp's errors hold the request's headers
        # (the token and signature) and URL (a refresh token), which must not reach the caller.
        raise failure

    def _transport_error(self, call: Call, error: BaseException) -> TransportError:
        where: dict[str, Any] = {"method": call.method, "route": call.route}
        if self._closed:
            return ClientClosedError(
                detail="the client was closed during the call", in_flight=True, **where
            )
        if isinstance(error, aiohttp.ConnectionTimeoutError):
            return ConnectError(detail="timed out while connecting", **where)
        if isinstance(error, asyncio.TimeoutError):
            return RequestTimeoutError(detail="the attempt timed out", **where)
        if isinstance(error, aiohttp.ClientConnectorError):
            return ConnectError(detail=f"could not connect: {error.os_error.strerror}", **where)
        if isinstance(error, RuntimeError):
            return ClientClosedError(detail="the HTTP session is closed", **where)
        if isinstance(error, ValueError):
            return UnexpectedResponseError(detail="the answer broke the HTTP protocol", **where)
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
