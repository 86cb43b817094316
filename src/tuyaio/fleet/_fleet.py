"""Fleet: the token store, the rate limiter and the call budget of one worker, on one Redis
client, with one switch for local fallback."""

from __future__ import annotations

import math
from types import TracebackType

from ..validation import check_count, check_positive_number
from ._breaker import RedisClient, client_from_url
from ._quota import RedisCallQuota
from ._rate import RedisRateLimiter
from ._token_store import RedisTokenStore


class Fleet:
    """What one worker shares with its fleet through Redis, for ``TuyaClient``::

        fleet = Fleet(REDIS_URL, key=client_id, rate=100, call_quota=50_000, quota_window=86_400)
        client = TuyaClient(client_id, secret, region="eu", token_store=fleet.token_store,
                            rate_limit=fleet.rate_limiter, call_quota=fleet.call_quota)

    ``key`` names the project's rate and budget (its client_id); ``rate`` and ``call_quota`` are
    the whole fleet's (leave one out to do without). All three objects use one Redis client (a
    URL makes one of 16 connections, closed by :meth:`aclose`) and one breaker: once Redis fails
    for one, the others know.

    ``local_fallback``: the share of the fleet's rate and call budget this worker may use alone
    while Redis fails (e.g. ``1 / 8`` in a fleet of eight), its token then being its own: one
    switch, so that no call fails because Redis does. ``None`` (the default): calls fail with
    :class:`RedisUnavailableError` while Redis does.
    """

    token_store: RedisTokenStore
    """The fleet's token (``token_store=``)."""
    rate_limiter: RedisRateLimiter | None
    """The fleet's request rate (``rate_limit=``), if ``rate`` was given."""
    call_quota: RedisCallQuota | None
    """The fleet's call budget (``call_quota=``), if ``call_quota`` was given."""

    def __init__(
        self,
        redis: RedisClient | str,
        *,
        key: str,
        rate: float | None = None,
        burst: int = 1,
        call_quota: int | None = None,
        quota_window: float | None = None,
        local_fallback: float | None = None,
        prefix: str = "tuyaio",
        timeout: float = 2.0,
        lock_ttl: float = 10.0,
        lock_wait: float = 60.0,
    ) -> None:
        share = None
        if local_fallback is not None:
            share = check_positive_number("local_fallback", local_fallback)
            if share > 1:
                raise ValueError(f"local_fallback must be a share of at most 1, got {share!r}")
        timeout = check_positive_number("timeout", timeout)
        self._owned = isinstance(redis, str)
        client = client_from_url(redis, timeout) if isinstance(redis, str) else redis
        self._client = client
        self.token_store = RedisTokenStore(
            client,
            prefix=prefix,
            lock_ttl=lock_ttl,
            lock_wait=lock_wait,
            timeout=timeout,
            local_fallback=share is not None,
        )
        self.rate_limiter = None
        if rate is not None:
            rate = check_positive_number("rate", rate)
            self.rate_limiter = RedisRateLimiter(
                client,
                rate,
                burst,
                key=key,
                prefix=prefix,
                timeout=timeout,
                local_fallback_rate=None if share is None else rate * share,
            )
        self.call_quota = None
        if call_quota is not None:
            limit = check_count("call_quota", call_quota, minimum=1)
            self.call_quota = RedisCallQuota(
                client,
                key,
                limit,
                window=quota_window,
                prefix=prefix,
                timeout=timeout,
                local_fallback=None if share is None else max(1, math.floor(limit * share)),
            )

    def __repr__(self) -> str:
        parts = [repr(part) for part in (self.token_store, self.rate_limiter, self.call_quota)]
        return f"Fleet({', '.join(part for part in parts if part != 'None')})"

    async def aclose(self) -> None:
        """Stop the token store's background work; close the Redis client if made from a URL."""
        await self.token_store.aclose()
        if self._owned:
            await self._client.aclose()

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
