"""The one request path: wait for a turn → sign → exchange → read the envelope → decide, in a
short loop.

Decisions live elsewhere, without I/O: what a call may still spend and what to do after a failure
in :class:`~tuyaio.callstate.CallState`, signing in :mod:`~tuyaio.signing`, reading an answer in
:mod:`~tuyaio.envelope`; HTTP itself behind :class:`~tuyaio.exchange.Exchange`. Every wait (a token,
the pacing, the quota, a connection, a back-off) ends by the call's deadline or at :meth:`close`.
The hot path awaits only where something can wait: a valid token, a free connection and an idle
limiter cost no event-loop round trip.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NoReturn, TypeVar
from urllib.parse import quote

import attrs
from yarl import URL

from ._aio import Slots
from .callstate import CallState
from .clock import SYSTEM_CLOCK, Clock, ServerClock
from .envelope import Envelope, parse_envelope
from .errors import (
    ApiError,
    CallBudgetExceededError,
    ClientClosedError,
    DecodeError,
    RateLimitedError,
    TransportError,
    TuyaError,
)
from .events import (
    Hook,
    RateLimitWaitEvent,
    TokenEvent,
    attempt_event,
    call_event,
    emit,
    remember,
)
from .exchange import Exchange, ExchangeError
from .options import Options
from .quota import CallQuota, Usage
from .ratelimit import AdaptiveThrottle, RateLimiter
from .retry import Action
from .routes import Call
from .signing import signed_headers
from .tokens import Token, TokenManager, TokenStore, token_call, token_from_result

__all__ = ["Credentials", "Reconcile", "Stats", "Transport"]

logger: logging.Logger = logging.getLogger("tuyaio")

T = TypeVar("T")

Reconcile = Callable[[Options], Awaitable[Any]]
"""Reads the server's state after a repeated action was refused, within the given options (the
time the call has left): the action's result if the server is in the requested state, else
``None``."""


@attrs.frozen
class Credentials:
    """A cloud project's Access ID and secret. The secret never shows in ``repr``."""

    client_id: str
    secret: str = attrs.field(repr=False)


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


class _Stop(Exception):
    """A wait before sending ended the call (deadline, close, quota): nothing was sent."""

    def __init__(self, error: TuyaError) -> None:
        self.error = error


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


def _envelope(envelope: Envelope) -> Envelope:
    return envelope


class Transport:
    """Sends calls for one set of credentials through one :class:`~tuyaio.exchange.Exchange`."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        base_url: URL,
        exchange: Exchange,
        connections: int,
        token_store: TokenStore,
        rate_limiter: RateLimiter | None,
        options: Options,
        quota: CallQuota | None = None,
        throttle: AdaptiveThrottle | None = None,
    ) -> None:
        self._credentials = credentials
        self._base_url = base_url
        self._exchange = exchange
        self._slots = Slots(connections) if connections else None
        self._limiter = rate_limiter
        self._throttle = throttle
        self._quota = quota
        self._time = SYSTEM_CLOCK
        self._closed = False
        self._scopes: set[asyncio.Timeout] = set()
        self.options = options
        self.usage: Usage = Usage()
        self.clock: ServerClock = ServerClock()
        self.stats: Stats = Stats()
        self.tokens: TokenManager = TokenManager(
            fetch=self._fetch_token,
            store=token_store,
            key=f"{base_url.authority}:{credentials.client_id}",
            clock=self.clock,
        )

    def use(self, exchange: Exchange, clock: Clock, connections: int = 0) -> None:
        """Send through ``exchange`` and read ``clock`` from now on (tests: a scripted exchange
        and virtual time), with at most ``connections`` requests open (0: no limit)."""
        self._exchange, self._time = exchange, clock
        self._slots = Slots(connections) if connections else None
        self.clock.source = clock
        if self._throttle is not None:
            policy = self._throttle.policy
            self._throttle = AdaptiveThrottle(policy, clock=clock.monotonic, sleep=clock.sleep)

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
        """Stop: a call still waiting fails with ``ClientClosedError(in_flight=False)``, one in
        flight with ``in_flight=True`` (or :class:`OutcomeUnknownError` for a create)."""
        if self._closed:
            return
        self._closed = True
        for scope in list(self._scopes):
            scope.reschedule(0)  # ends the wait now, as if its deadline had passed
        await self.tokens.close()
        await self._exchange.close()

    async def send(
        self,
        call: Call,
        options: Options,
        decode: Callable[[Envelope], T] = _envelope,  # type: ignore[assignment]
        *,
        reconcile: Reconcile | None = None,
    ) -> T:
        """Send ``call`` until it succeeds or its budget is spent; its envelope, read by
        ``decode`` within the call (a failure to read it is the call's failure).

        ``reconcile`` serves an action that is safe to repeat: when a repeat is refused after an
        earlier attempt's outcome was unknown, the earlier attempt may have done the work, so the
        server's state decides (see docs/protocol.md, "Repeated actions").
        """
        call = options.apply(call)
        url = _wire_url(self._base_url, call)
        monotonic = self._time.monotonic
        state = CallState(call, options.retry, options.timeout, monotonic())
        while True:
            # Without pacing, a quota or a token to wait for, nothing is awaited before sending.
            token = self.tokens.fresh() if call.authenticated and self._unpaced() else None
            try:
                if token is None and (call.authenticated or self._quota is not None):
                    token = await self._ready(call, state, options.hooks)
                envelope = await self._attempt(call, url, state, token)
            except _Stop as stop:
                self._fail(call, options, state, stop.error)
            except (ApiError, TransportError) as error:
                failure: TuyaError = error
            else:
                return self._succeeded(call, options, state, envelope, decode)
            decision = state.decide(
                failure,
                monotonic(),
                sent_token=token is not None,
                can_reconcile=reconcile is not None,
                rand=random.random(),
            )
            if options.hooks:
                emit(options.hooks, attempt_event(call, failure, state, decision, monotonic()))
            action = decision.action
            if action is Action.RECONCILE and reconcile is not None:
                result = await reconcile(options.within(state.left(monotonic())))
                if result is None:
                    self._fail(call, options, state, failure)
                self.stats.reconciled += 1
                envelope = Envelope(result=result, t=None, tid=getattr(failure, "tid", None))
                return self._succeeded(call, options, state, envelope, decode)
            if action is Action.GIVE_UP or self._closed:
                self._fail(call, options, state, failure)
            if action is Action.RENEW_TOKEN and token is not None:
                self.stats.token_rejections += 1
                await self.tokens.invalidate(token)
            elif action is Action.CORRECT_CLOCK:
                self.clock.observe(getattr(failure, "server_time_ms", None) or self.clock.now_ms())
                self.stats.clock_corrections += 1
            else:
                self.stats.retries += 1
                try:
                    await self._wait(call, state, self._time.sleep(decision.delay))
                except _Stop as stop:
                    self._fail(call, options, state, stop.error)

    def _succeeded(
        self,
        call: Call,
        options: Options,
        state: CallState,
        envelope: Envelope,
        decode: Callable[[Envelope], T],
    ) -> T:
        """The call's result, read from its envelope; a result that cannot be read fails the call
        (a create's as :class:`OutcomeUnknownError`: it was done, but its answer is lost)."""
        try:
            result = decode(envelope)
        except DecodeError as error:
            state.may_have_acted = True
            self._fail(call, options, state, error)
        self._finished(call, options, state, envelope=envelope)
        return result

    def _unpaced(self) -> bool:
        """True when nothing can make a call wait for its turn (no pacing, no quota, open)."""
        throttle = self._throttle
        return not (
            self._closed
            or self._limiter is not None
            or self._quota is not None
            or (throttle is not None and throttle.limited)
        )

    async def _ready(self, call: Call, state: CallState, hooks: tuple[Hook, ...]) -> Token | None:
        """The token to send, once the call's turn has come (pacing, quota)."""
        if not call.authenticated:
            if self._quota is not None:
                await self._spend_quota(call, state)
            return None
        if self._unpaced():
            return self.tokens.fresh() or await self._renewed(call, state)
        return await self._pace(call, state, hooks)

    async def _pace(self, call: Call, state: CallState, hooks: tuple[Hook, ...]) -> Token:
        # The token is taken before pacing, so that a renewal never queues behind paced calls
        # (which would then all leave at once); a call whose token was renewed while it waited
        # for its turn takes another turn, so that the pace holds when the calls leave.
        self._check_open(call)
        token = self.tokens.fresh() or await self._renewed(call, state)
        for turn in (1, 2):
            if self._throttle is not None and self._throttle.limited:
                await self._waited(call, state, hooks, "adaptive", self._throttle.acquire())
            if self._limiter is not None:
                await self._waited(call, state, hooks, "client", self._limiter.acquire())
            fresh = self.tokens.fresh()
            if fresh is not None or turn == 2:
                break
            token = await self._renewed(call, state)
        if self._quota is not None:
            await self._spend_quota(call, state)
        return self.tokens.fresh() or token

    async def _spend_quota(self, call: Call, state: CallState) -> None:
        assert self._quota is not None
        if not await self._wait(call, state, self._quota.take()):
            quota = repr(self._quota)
            raise _Stop(CallBudgetExceededError(method=call.method, route=call.route, quota=quota))

    async def _renewed(self, call: Call, state: CallState) -> Token:
        """A token that is not due for renewal, waited for within the call's time."""
        return await self._wait(call, state, self.tokens.get())

    async def _waited(
        self,
        call: Call,
        state: CallState,
        hooks: tuple[Hook, ...],
        limiter: Literal["adaptive", "client"],
        turn: Awaitable[None],
    ) -> None:
        started = self._time.monotonic()
        await self._wait(call, state, turn)
        waited = self._time.monotonic() - started
        if hooks and waited >= 0.001:
            event = RateLimitWaitEvent(
                method=call.method, route=call.route, limiter=limiter, waited_s=waited
            )
            emit(hooks, event)

    async def _wait(self, call: Call, state: CallState, waiting: Awaitable[T]) -> T:
        """``waiting``'s result, unless the call's deadline passes or the client is closed first
        (then :class:`_Stop`)."""
        left = state.left(self._time.monotonic())
        if left is not None and left <= 0:
            if asyncio.iscoroutine(waiting):
                waiting.close()
            raise _Stop(state.expired())
        try:
            async with asyncio.timeout(left) as scope:
                self._scopes.add(scope)
                try:
                    return await waiting
                finally:
                    self._scopes.discard(scope)
        except (TimeoutError, asyncio.CancelledError) as error:
            task = asyncio.current_task()
            if self._closed and (task is None or not task.cancelling()):
                raise _Stop(self._closed_error(call)) from None
            if isinstance(error, TimeoutError) and scope.expired():
                raise _Stop(state.expired()) from None
            raise

    async def _attempt(
        self, call: Call, url: URL, state: CallState, token: Token | None
    ) -> Envelope:
        """Take a connection, sign, exchange, read the envelope; tell the throttle and the clock."""
        # Token calls never wait for a slot: the callers holding them may wait on it.
        slots = self._slots if call.authenticated else None
        queued = slots is not None and not slots.take()
        if queued:
            assert slots is not None
            await self._wait(call, state, slots.wait())
        try:
            if queued:
                # A call that queued for a connection sends the token renewed meanwhile
                # (renewals never wait for a connection: holding one here is safe).
                self._check_open(call)
                token = self.tokens.fresh() or await self._renewed(call, state)
            now = self._time.monotonic()
            timeout = state.attempt_timeout(now)
            if timeout is None:
                raise _Stop(state.expired())
            t = self.clock.now_ms()
            headers = signed_headers(
                method=call.method,
                path=call.path,
                query=call.query,
                body=call.body,
                client_id=self._credentials.client_id,
                secret=self._credentials.secret,
                t=str(t),
                nonce=os.urandom(16).hex(),
                access_token=token.access_token if token else None,
                extra_headers=call.extra_headers,
            )
            state.sending(now, t)
            self.stats.attempts += 1
            failure: TransportError | None = None
            try:
                answer = await self._exchange.send(
                    call.method, url, headers, call.body, timeout, fresh=not call.idempotent
                )
            except ExchangeError as error:
                failure = error.as_error(call.method, call.route, closed=self._closed)
            if failure is not None:  # raised outside the handler: no context to carry
                self._debug(call, state, "-", None)
                raise failure
        finally:
            if slots is not None:
                slots.release()
        try:
            envelope = parse_envelope(
                status=answer.status,
                body=answer.body,
                method=call.method,
                route=call.route,
                headers=answer.headers,
                secrets=self._secrets,
                sign=headers["sign"],
                now_ms=self.clock.now_ms,
            )
        except ApiError as error:
            self._debug(call, state, error.http_status, error.code)
            rate_limited = isinstance(error, RateLimitedError)
            self.stats.rate_limited += rate_limited
            if self._throttle is not None:
                self._throttle.record(rate_limited=rate_limited)
            raise
        if self._throttle is not None:
            self._throttle.record(rate_limited=False)
        if envelope.t is not None:
            self.clock.observe(envelope.t, now)
        self._debug(call, state, answer.status, None)
        return envelope

    def _debug(self, call: Call, state: CallState, status: int | str, code: int | None) -> None:
        """One DEBUG line per attempt: the route, never the path (it may hold a refresh token)."""
        if logger.isEnabledFor(logging.DEBUG):
            took_ms = (self._time.monotonic() - state.sent_at) * 1000
            text = "%s %s -> %s code=%s attempt=%d %.1fms"
            logger.debug(text, call.method, call.route, status, code, state.attempts, took_ms)

    def _check_open(self, call: Call) -> None:
        if self._closed:
            raise _Stop(self._closed_error(call))

    def _closed_error(self, call: Call) -> ClientClosedError:
        return ClientClosedError(
            detail="the client was closed before the call was sent",
            method=call.method,
            route=call.route,
        )

    def _finished(
        self,
        call: Call,
        options: Options,
        state: CallState,
        *,
        envelope: Envelope | None = None,
        error: TuyaError | None = None,
    ) -> None:
        """Count a finished call, remember it for :func:`~tuyaio.last_call`, tell the hooks."""
        usage = self.usage.route(call.key)
        usage.calls += 1
        usage.attempts += state.attempts
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
            call_event,
            call.method,
            call.route,
            {} if call.secret_path else call.path_args,
            state.attempts,
            self._time.monotonic() - state.started,
            t,
            tid,
            error,
        )
        if options.hooks:
            emit(options.hooks, make())
        else:
            remember(make)

    def _fail(self, call: Call, options: Options, state: CallState, error: TuyaError) -> NoReturn:
        final = state.final(
            error, self._time.monotonic(), self.clock.now_ms(), self.clock.uncertainty_ms
        )
        self._finished(call, options, state, error=final)
        if final is error:
            raise error
        raise final from error

    def _secrets(self) -> tuple[str, ...]:
        return (self._credentials.secret, *self.tokens.secrets())

    async def token(self) -> Token:
        """A valid access token, fetched or renewed only if needed, within the client's
        deadline."""
        call, _ = token_call(None)
        state = CallState(call, self.options.retry, self.options.timeout, self._time.monotonic())
        try:
            self._check_open(call)
            return self.tokens.fresh() or await self._renewed(call, state)
        except _Stop as stop:
            raise stop.error from None

    async def _fetch_token(self, refresh_token: str | None) -> Token:
        started = self._time.monotonic()
        call, kind = token_call(refresh_token)

        def read(envelope: Envelope) -> Token:
            return token_from_result(
                envelope.exact_result(),
                server_ms=envelope.t if envelope.t is not None else self.clock.now_ms(),
                method=call.method,
                route=call.route,
            )

        token = await self.send(call, self.options, read)
        if kind == "grant":
            self.stats.token_grants += 1
        else:
            self.stats.token_refreshes += 1
        if self.options.hooks:
            elapsed = self._time.monotonic() - started
            emit(self.options.hooks, TokenEvent(kind=kind, elapsed_s=elapsed))
        return token
