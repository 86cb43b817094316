"""``TuyaClient``: credentials, endpoint and options in one object, with the API families on it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, Unpack

import aiohttp
import attrs
from yarl import URL

from .client_options import ClientOptions
from .clock import loop_time
from .envelope import Envelope
from .events import Hook
from .exchange import DEFAULT_MAX_BODY_BYTES, AiohttpExchange
from .options import Options, Timeout, check_hooks, timeout_from
from .quota import CallQuota, LocalCallQuota, Usage
from .ratelimit import AdaptiveThrottle, RateLimiter, ThrottlePolicy, TokenBucket
from .regions import resolve_base_url
from .resources import ConstructionResource, DirectoryResource, MaintenanceResource
from .retry import RetryPolicy
from .routes import Route, check_raw_path, method_name
from .signing import QueryValue, encode_query
from .tokens import MemoryTokenStore, Token, TokenStore
from .transport import Credentials, Stats, Transport
from .validation import check_bool, check_count, check_optional_bool, check_positive_number

__all__ = ["Timeout", "TuyaClient"]

_HEADER_NAME = re.compile(r"[A-Za-z0-9_-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]+")
_RESERVED_HEADERS = frozenset(
    {"client_id", "access_token", "sign", "sign_method", "t", "nonce"}
    | {"signature-headers", "content-type"}
)
"""Headers the protocol itself sets and signs (in lower case: names ignore case)."""


def _credential(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not _HEADER_VALUE.fullmatch(value) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string of printable ASCII characters")
    return value


def _limiter(rate_limit: float | RateLimiter | None) -> RateLimiter | None:
    if rate_limit is None or isinstance(rate_limit, RateLimiter):
        return rate_limit
    return TokenBucket(check_positive_number("rate_limit", rate_limit), clock=loop_time)


def _client_headers(
    lang: str | None, headers: Mapping[str, str] | None
) -> tuple[tuple[str, str], ...]:
    merged = dict(headers or {})
    if lang is not None:
        merged["lang"] = lang
    return _signed_headers(merged)


def _signed_headers(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    seen: set[str] = set()
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"headers: {name!r} is not a valid header name")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"headers: {name!r} is set by the protocol and cannot be overridden")
        if name.lower() in seen:
            raise ValueError(f"headers: {name!r} is given twice (header names ignore case)")
        seen.add(name.lower())
        if (
            not isinstance(value, str)
            or not _HEADER_VALUE.fullmatch(value)
            or value != value.strip()
        ):
            raise ValueError(
                f"headers[{name!r}] must be printable ASCII without leading or trailing spaces"
            )
    return tuple(headers.items())


class TuyaClient:
    """An asyncio client for one Tuya cloud project.

    >>> async with TuyaClient(client_id, secret, region="eu") as client:
    ...     task = await client.maintenance.get_task(project_id, task_id)

    Pass ``region`` (a key of :data:`tuyaio.REGIONS`) or ``base_url`` (a proxy, the sandbox).
    ``session`` is an aiohttp session you own: it is used but never closed; without one the client
    makes its own and closes it on :meth:`close`. ``rate_limit`` is requests per second for this
    client, or a shared :class:`RateLimiter`. ``token_store`` lets clients or processes share one
    token (default: in memory, this client only). ``timeout`` bounds each attempt (the retry
    policy's ``deadline`` the whole call); ``max_body_bytes`` an answer's decoded size.

    ``lang`` and ``headers`` are signed headers sent with every call. ``hooks`` observe every
    attempt, call, token fetch and rate-limit wait (:mod:`tuyaio.events`). ``call_quota`` (a
    number of requests, or a :class:`~tuyaio.quota.CallQuota` such as the fleet's) refuses
    requests with :class:`CallBudgetExceededError` once spent; :attr:`usage` counts them per
    route. ``throttle`` says how the client slows down when the server answers "too many
    requests" (:class:`ThrottlePolicy`); ``None`` turns that off.
    """

    def __init__(
        self,
        client_id: str,
        secret: str,
        *,
        region: str | None = None,
        base_url: str | URL | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        allow_insecure_http: bool = False,
        rate_limit: float | RateLimiter | None = None,
        token_store: TokenStore | None = None,
        timeout: float | Timeout = 30.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        lang: str | None = None,
        headers: Mapping[str, str] | None = None,
        hooks: Sequence[Hook] = (),
        call_quota: int | CallQuota | None = None,
        throttle: ThrottlePolicy | None = ThrottlePolicy(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        credentials = Credentials(
            _credential("client_id", client_id), _credential("secret", secret)
        )
        check_bool("allow_insecure_http", allow_insecure_http)
        options = Options(
            timeout=timeout_from(timeout),
            retry=retry,
            hooks=check_hooks(hooks),
            headers=_client_headers(lang, headers),
        )
        exchange = AiohttpExchange(
            session, max_body_bytes=check_count("max_body_bytes", max_body_bytes, minimum=1)
        )
        self._transport = Transport(
            credentials=credentials,
            base_url=resolve_base_url(region, base_url, allow_insecure_http=allow_insecure_http),
            exchange=exchange,
            connections=exchange.connections,
            token_store=token_store if token_store is not None else MemoryTokenStore(),
            rate_limiter=_limiter(rate_limit),
            options=options,
            quota=LocalCallQuota(call_quota) if isinstance(call_quota, int) else call_quota,
            throttle=None if throttle is None else AdaptiveThrottle(throttle),
        )
        self._options = options
        self._owner = True

    @classmethod
    def from_env(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        client_id: str | None = None,
        secret: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> TuyaClient:
        """A client from ``TUYA_CLIENT_ID``, ``TUYA_CLIENT_SECRET`` and ``TUYA_REGION`` or
        ``TUYA_BASE_URL`` (``environ``, default ``os.environ``).

        The other keyword arguments (:class:`~tuyaio.client_options.ClientOptions`) are those of
        the constructor. Keyword arguments win over the environment: ``client_id`` and
        ``secret`` replace their variables, and ``region`` or ``base_url`` makes both endpoint
        variables ignored. Setting both ``TUYA_REGION`` and ``TUYA_BASE_URL`` is a ValueError,
        as is a missing or malformed value; each message names the variable to fix.
        """
        env = os.environ if environ is None else environ
        client_id = client_id or env.get("TUYA_CLIENT_ID")
        secret = secret or env.get("TUYA_CLIENT_SECRET")
        if not client_id or not secret:
            missing = [
                f"TUYA_{variable} is not set and no {keyword} was given"
                for variable, keyword, value in (
                    ("CLIENT_ID", "client_id", client_id),
                    ("CLIENT_SECRET", "secret", secret),
                )
                if not value
            ]
            raise ValueError("; ".join(missing))
        endpoint_from_env = options.get("region") is None and options.get("base_url") is None
        if endpoint_from_env:
            region, base_url = env.get("TUYA_REGION") or None, env.get("TUYA_BASE_URL") or None
            if region and base_url:
                raise ValueError("both TUYA_REGION and TUYA_BASE_URL are set: unset one of them")
            if region is None and base_url is None:
                raise ValueError(
                    "neither TUYA_REGION (e.g. eu) nor TUYA_BASE_URL is set, "
                    "and no region or base_url was given"
                )
            options["region"], options["base_url"] = region, base_url
        try:
            return cls(client_id, secret, **options)
        except ValueError as error:
            if not endpoint_from_env:
                raise
            # Name the variable the value came from, not the keyword it would have been.
            text = re.sub(r"^(region|base_url)\b", lambda m: f"TUYA_{m[1].upper()}", str(error))
            raise ValueError(text) from None

    def __repr__(self) -> str:
        return repr(self._transport).replace("Transport", "TuyaClient", 1)

    @cached_property
    def maintenance(self) -> MaintenanceResource:
        """Smart Engineering maintenance tasks (v1.0)."""
        return MaintenanceResource(self._transport, self._options)

    @cached_property
    def construction(self) -> ConstructionResource:
        """Smart Lighting construction management (v2.0)."""
        return ConstructionResource(self._transport, self._options)

    @cached_property
    def directory(self) -> DirectoryResource:
        """Where the IDs come from: projects, workers, rooms and devices."""
        return DirectoryResource(self._transport, self._options)

    @property
    def usage(self) -> Usage:
        """What each route has cost so far (calls, attempts, successes, failures by code): the
        figures against the project's API quota."""
        return self._transport.usage

    @property
    def stats(self) -> Stats:
        """Counts of attempts, retries, token grants and refreshes made so far."""
        return self._transport.stats

    @property
    def base_url(self) -> str:
        """The endpoint calls go to, e.g. ``https://openapi.tuyaeu.com``."""
        return str(self._transport.base_url)

    @property
    def client_id(self) -> str:
        """The project's Access ID (the secret is never shown)."""
        return self._transport.client_id

    @property
    def clock_offset_ms(self) -> int:
        """How far the server's clock is ahead of ours, as learned from the server (ms)."""
        return self._transport.clock.offset_ms

    @property
    def closed(self) -> bool:
        """True once the client has been closed."""
        return self._transport.closed

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = None,
        retry: RetryPolicy | None = None,
        lang: str | None = None,
        headers: Mapping[str, str] | None = None,
        hooks: Sequence[Hook] | None = None,
        extra_query: Mapping[str, QueryValue] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> TuyaClient:
        """A view of this client with other per-call options; it shares the connection, token and
        limits, and closing it does nothing (the original client owns them). ``None`` keeps this
        client's setting; ``lang``/``headers`` are added to the client's (signed) headers.

        ``extra_query`` and ``extra_body`` send parameters a typed method does not know yet (one
        Tuya added later) with every call of the view: a query parameter, or a key of the JSON
        body (the construction listings' parameters are a body)::

            await client.with_options(extra_body={"newFilter": 1}).construction.list_rooms(p)
        """
        current = self._options
        added = _client_headers(lang, headers)
        names = {name.lower() for name, _ in added}
        options = Options(
            timeout=current.timeout if timeout is None else timeout_from(timeout),
            retry=current.retry if retry is None else retry,
            hooks=current.hooks if hooks is None else check_hooks(hooks),
            headers=tuple(h for h in current.headers if h[0].lower() not in names) + added,
            extra_query={**current.extra_query, **encode_query(extra_query)},
            extra_body={**current.extra_body, **(extra_body or {})},
        )
        view = object.__new__(TuyaClient)
        view._transport = self._transport
        view._options = options
        view._owner = False
        return view

    async def authenticate(self) -> Token:
        """Make sure this client holds a valid access token; fetch or renew one only if needed.

        Optional: every call does this by itself. Use it to check the credentials at start-up (a
        wrong client ID or secret fails here, e.g. with :class:`AuthenticationError`) or to take
        the token grant out of the first call's latency. The :class:`Token` keeps its access and
        refresh tokens out of ``repr``; they are secrets, so do not log them.
        """
        return await self._transport.token()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Call an endpoint tuyaio does not wrap yet: signed, retried, envelope checked.

        Returns the envelope's ``result`` as decoded JSON. ``headers`` are sent and signed (listed
        in ``Signature-Headers``). ``idempotent`` says whether the call may be repeated after a
        failure whose outcome is unknown; by default GET, PUT and DELETE may, POST may not.
        ``headers`` may not replace the protocol's own (``client_id``, ``access_token``, ``sign``,
        ``sign_method``, ``t``, ``nonce``, ``Signature-Headers``, ``Content-Type``); ``json`` must
        be strict JSON (no NaN or infinity).
        """
        route = Route(method_name(method), check_raw_path(path))
        extra_headers = _signed_headers(headers)
        check_optional_bool("idempotent", idempotent)
        call = attrs.evolve(
            route.build(query=params, body=json, body_name="json", idempotent=idempotent),
            extra_headers=extra_headers,
        )
        return await self._transport.send(call, self._options, Envelope.exact_result)

    async def close(self) -> None:
        """Close the client: calls still waiting fail with :class:`ClientClosedError`."""
        if self._owner:
            await self._transport.close()

    async def __aenter__(self) -> TuyaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
