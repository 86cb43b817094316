"""The one request path: sign → send → decode the envelope → decide, in a short loop.

The decisions live elsewhere, without I/O: signing in :mod:`~tuyaio.signing`, reading an answer in
:mod:`~tuyaio.envelope`, what to do after a failure in :class:`~tuyaio.retry.RetryBudget`. Every
attempt is signed afresh (new ``t`` and ``nonce``) over the same body bytes. Nothing here knows an
endpoint. The hot path awaits only where something can wait: a valid token, a free connection and
an idle limiter cost no event-loop round trip.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, NoReturn
from urllib.parse import quote

import aiohttp
import attrs
from yarl import URL

from ._aio import Slots
from ._converter import from_ms
from .clock import ServerClock
from .envelope import Envelope, parse_envelope
from .errors import (
    ApiError,
    CallBudgetExceededError,
    ClientClosedError,
    ConnectError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
    TuyaError,
    UnexpectedResponseError,
)
from .events import (
    AttemptEvent,
    CallEvent,
    Hook,
    RateLimitWaitEvent,
    RetryReason,
    TokenEvent,
    emit,
    remember,
)
from .quota import CallQuota, Usage
from .ratelimit import AdaptiveThrottle, RateLimiter, ThrottlePolicy
from .retry import Action, RetryBudget, RetryPolicy, is_outcome_unknown
from .routes import GRANT, REFRESH, Call, serialize
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
    hooks: tuple[Hook, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    """Signed headers sent with every call (``lang``…); a call's own headers win."""
    extra_query: Mapping[str, str] = attrs.field(factory=dict)
    """Query parameters added to every call (encoded); a call's own win."""
    extra_body: Mapping[str, Any] = attrs.field(factory=dict)
    """Keys added to every JSON object body (a listing's on a GET too); a call's own win."""

    def apply(self, call: Call) -> Call:
        """``call`` with these headers and extra parameters (itself when there are none)."""
        if not (self.headers or self.extra_query or self.extra_body):
            return call
        own = {name.lower() for name, _ in call.extra_headers}
        headers = call.extra_headers + tuple(h for h in self.headers if h[0].lower() not in own)
        query = {**self.extra_query, **call.query}
        body = call.body
        if self.extra_body and body:
            document = json.loads(body)
            if isinstance(document, dict):
                body = serialize({**self.extra_body, **document})
        return attrs.evolve(call, extra_headers=headers, query=query, body=body)


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


def _failure_key(error: TuyaError) -> str:
    code = getattr(error, "code", None)
    if code is not None:
        return str(code)
    status = getattr(error, "http_status", None)
    return f"HTTP {status}" if status else type(error).__name__


def _retry_reason(error: TuyaError, action: Action) -> RetryReason | None:
    if action is Action.GIVE_UP:
        return None
    if action is Action.RENEW_TOKEN:
        return "token"
    if action is Action.CORRECT_CLOCK:
        return "clock"
    if isinstance(error, RateLimitedError):
        return "rate_limit"
    return "server_error" if isinstance(error, ApiError) else "transport"


def _attempt_event(
    call: Call, error: TuyaError, attempt: int, action: Action, delay: float, started: float
) -> AttemptEvent:
    return AttemptEvent(
        method=call.method,
        route=call.route,
        path_args={} if call.secret_path else call.path_args,
        attempt=attempt,
        http_status=getattr(error, "http_status", None),
        code=getattr(error, "code", None),
        tid=getattr(error, "tid", None),
        elapsed_s=time.monotonic() - started,
        retry=_retry_reason(error, action),
        retry_in_s=delay if action is Action.RETRY else 0.0,
    )


def _call_event(
    method: str,
    route: str,
    path_args: Mapping[str, str],
    attempts: int,
    elapsed: float,
    t: int | None,
    tid: str | None,
    error: TuyaError | None,
) -> CallEvent:
    return CallEvent(
        method=method,
        route=route,
        path_args=path_args,
        attempts=attempts,
        elapsed_s=elapsed,
        http_status=200 if error is None else getattr(error, "http_status", None),
        code=getattr(error, "code", None),
        tid=tid,
        server_time=None if t is None else from_ms(t),
        error=None if error is None else type(error).__name__,
    )


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
        quota: CallQuota | None = None,
        clock: ServerClock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        throttle: ThrottlePolicy | None = ThrottlePolicy(),  # noqa: B008 - frozen
    ) -> None:
        self._credentials = credentials
        self._base_url = base_url
        self._session = session
        self._owns_session = session is None
        limit = _CONNECTIONS if session is None else getattr(session.connector, "limit", 0)
        self._slots = Slots(limit) if limit else None
        self._limiter = rate_limiter
        self._throttle = AdaptiveThrottle(throttle)
        self._max_body_bytes = max_body_bytes
        self._quota = quota
        self.usage: Usage = Usage()
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
    def base_url(self) -> URL:
        """The endpoint calls go to."""
        return self._base_url

    @property
    def client_id(self) -> str:
        """The project's Access ID."""
        return self._credentials.client_id

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
        call = options.apply(call)
        url = _wire_url(self._base_url, call)
        budget: RetryBudget | None = None  # made at the first failure: most calls have none
        attempt = 1
        deadline = options.retry.deadline
        started = time.monotonic()
        unknown_before = False
        # Where a create's object would show up if its outcome turns out unknown.
        first_sent_ms = None if call.idempotent else self.clock.now_ms()
        logged = logger.isEnabledFor(logging.DEBUG)
        while True:
            token = None
            if call.authenticated:
                if self._closed or self._throttle.limited or self._limiter is not None:
                    token = await self._pace(call, options.hooks)
                else:  # the common case, without a coroutine: a valid token, nothing to wait for
                    token = self.tokens.fresh() or await self._valid_token(call)
            timeout = self._attempt_timeout(options.timeout, deadline, started)
            if timeout is None:  # the wait for a token or a turn used the whole deadline
                failure: TuyaError = RequestTimeoutError(
                    detail="the deadline passed before the call could be sent",
                    method=call.method,
                    route=call.route,
                )
                self._give_up(call, options, failure, attempt - 1, started, None)
            if self._quota is not None:
                await self._spend_quota(call)
            attempt_started = time.monotonic() if options.hooks else 0.0
            # Token calls never wait for a slot: the callers holding them may wait on it.
            slots = self._slots if call.authenticated else None
            queued = False
            if slots is not None and not slots.take():
                await slots.wait()
                queued = True
            try:
                if queued:
                    # A call that queued for a connection sends the token renewed meanwhile
                    # (renewals never wait for a connection: holding one here is safe).
                    self._check_open(call)
                    token = self.tokens.fresh() or await self._valid_token(call)
                if logged:
                    envelope = await self._logged_attempt(attempt, call, url, token, timeout)
                else:
                    envelope = await self._attempt(call, url, token, timeout)
            except (ApiError, TransportError) as error:
                failure = error
            else:
                self._finished(call, options, attempt, started, envelope=envelope)
                return envelope
            finally:
                if slots is not None:
                    slots.release()
            if reconcile is not None and unknown_before and isinstance(failure, ApiError):
                result = await reconcile()
                if result is not None:
                    self.stats.reconciled += 1
                    envelope = Envelope(result=result, t=None, tid=failure.tid)
                    self._finished(call, options, attempt, started, envelope=envelope)
                    return envelope
            unknown_before = unknown_before or is_outcome_unknown(failure)
            if budget is None:
                budget = RetryBudget(options.retry)
            action, delay = budget.decide(
                failure, idempotent=call.idempotent, sent_token=token is not None, rand=self._rand()
            )
            if deadline is not None and time.monotonic() - started + delay >= deadline:
                action = Action.GIVE_UP
            if options.hooks:
                event = _attempt_event(call, failure, attempt, action, delay, attempt_started)
                emit(options.hooks, event)
            if action is Action.GIVE_UP or self._closed:
                self._give_up(call, options, failure, attempt, started, first_sent_ms)
            attempt = budget.attempts
            if action is Action.RENEW_TOKEN and token is not None:
                self.stats.token_rejections += 1
                await self.tokens.invalidate(token)
            elif action is Action.CORRECT_CLOCK:
                self.clock.correct(getattr(failure, "server_time_ms", None) or self.clock.now_ms())
                self.stats.clock_corrections += 1
            else:
                self.stats.retries += 1
                await self._sleep(delay)

    async def _spend_quota(self, call: Call) -> None:
        assert self._quota is not None
        if not await self._quota.take():
            raise CallBudgetExceededError(
                method=call.method, route=call.route, quota=repr(self._quota)
            )

    def _finished(
        self,
        call: Call,
        options: Options,
        attempts: int,
        started: float,
        *,
        envelope: Envelope | None = None,
        error: TuyaError | None = None,
    ) -> None:
        """Count a finished call, remember it for :func:`~tuyaio.last_call`, tell the hooks."""
        usage = self.usage.route(call.key)
        usage.calls += 1
        usage.attempts += attempts
        if error is None:
            usage.succeeded += 1
        else:
            usage.failed[_failure_key(error)] += 1
        # The event's pieces, not the call and its envelope: a task keeps its last call until its
        # next one, and what every task of a busy client keeps costs the garbage collector.
        if envelope is None:
            t, tid = None, getattr(error, "tid", None)
        else:
            t, tid = envelope.t, envelope.tid
        make = functools.partial(
            _call_event,
            call.method,
            call.route,
            {} if call.secret_path else call.path_args,
            attempts,
            time.monotonic() - started,
            t,
            tid,
            error,
        )
        if options.hooks:
            emit(options.hooks, make())
        else:
            remember(make)

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

    async def _pace(self, call: Call, hooks: tuple[Hook, ...]) -> Token:
        # The token is taken before pacing, so that a renewal never queues behind paced calls
        # (which would then all leave at once), and read again after it, so that a call that
        # waited for its turn does not send a token renewed meanwhile.
        self._check_open(call)
        token = self.tokens.fresh() or await self._valid_token(call)
        if not self._throttle.limited and self._limiter is None:
            return token
        if self._throttle.limited:
            await self._waited(call, hooks, "adaptive", self._throttle.acquire())
        if self._limiter is not None:
            await self._waited(call, hooks, "client", self._limiter.acquire())
        return await self._valid_token(call)

    async def _waited(
        self,
        call: Call,
        hooks: tuple[Hook, ...],
        limiter: Literal["adaptive", "client"],
        turn: Awaitable[None],
    ) -> None:
        started = time.monotonic()
        await turn
        waited = time.monotonic() - started
        if hooks and waited >= 0.001:
            event = RateLimitWaitEvent(
                method=call.method, route=call.route, limiter=limiter, waited_s=waited
            )
            emit(hooks, event)

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

    def _give_up(
        self,
        call: Call,
        options: Options,
        error: TuyaError,
        attempts: int,
        started: float,
        first_sent_ms: int | None,
    ) -> NoReturn:
        error.attempts, error.elapsed_s = attempts, round(time.monotonic() - started, 3)
        if not call.secret_path:
            error.path_args = call.path_args
        if not call.idempotent and first_sent_ms is not None and is_outcome_unknown(error):
            unknown = OutcomeUnknownError(
                method=call.method,
                route=call.route,
                path_args=error.path_args,
                identifiers=call.identifiers,
                reason=error.summary,
                first_sent_ms=first_sent_ms,
                last_sent_ms=self.clock.now_ms(),
                attempts=attempts,
                elapsed_s=error.elapsed_s,
            )
            self._finished(call, options, attempts, started, error=unknown)
            raise unknown from error
        self._finished(call, options, attempts, started, error=error)
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
    ) -> Envelope:
        """Sign, send, read and decode one attempt; count it, and tell the throttle."""
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
        limit = self._max_body_bytes
        try:
            async with self._http().request(
                call.method,
                url,
                data=call.body or None,
                headers=headers,
                timeout=limits,
                allow_redirects=False,
            ) as response:
                status, answer_headers = response.status, response.headers
                length = response.content_length
                if (
                    length is not None
                    and length <= limit
                    and "Content-Encoding" not in answer_headers
                ):
                    body = await response.read()
                else:
                    body = await _read_body(response, limit)
        except _BodyTooLarge:
            failure: TransportError = UnexpectedResponseError(
                detail=f"the answer is larger than max_body_bytes ({limit})",
                method=call.method,
                route=call.route,
            )
        except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError, ValueError) as error:
            failure = self._transport_error(call, error)
        else:
            try:
                envelope = parse_envelope(
                    status=status,
                    body=body,
                    method=call.method,
                    route=call.route,
                    headers=answer_headers,
                    secrets=self._secrets,
                )
            except ApiError as error:
                rate_limited = isinstance(error, RateLimitedError)
                self.stats.rate_limited += rate_limited
                self._throttle.record(rate_limited=rate_limited)
                raise
            self._throttle.record(rate_limited=False)
            return envelope
        # Raised outside the handler, with no cause: aiohttp's errors hold the request's headers
        # (the token and signature) and URL (a refresh token), which must not reach the caller.
        raise failure

    async def _logged_attempt(
        self, attempt: int, call: Call, url: URL, token: Token | None, limits: aiohttp.ClientTimeout
    ) -> Envelope:
        """:meth:`_attempt` number ``attempt``, with a DEBUG line (the route, not the path)."""
        started = time.perf_counter()
        status: int | str = "-"
        code: int | None = None
        try:
            envelope = await self._attempt(call, url, token, limits)
            status = 200
            return envelope
        except ApiError as error:
            status, code = error.http_status or "-", error.code
            raise
        finally:
            logger.debug(
                "%s %s -> %s code=%s attempt=%d %.1fms",
                call.method,
                call.route,
                status,
                code,
                attempt,
                (time.perf_counter() - started) * 1000,
            )

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
        started = time.monotonic()
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
        if self.options.hooks:
            kind: Literal["grant", "refresh"] = "grant" if refresh_token is None else "refresh"
            emit(self.options.hooks, TokenEvent(kind=kind, elapsed_s=time.monotonic() - started))
        if envelope.t is not None:
            self.clock.observe(envelope.t)
        return token_from_result(
            envelope.exact_result(),
            server_ms=envelope.t if envelope.t is not None else self.clock.now_ms(),
            method=call.method,
            route=call.route,
        )
