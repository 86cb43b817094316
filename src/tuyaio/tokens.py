"""Access tokens: the record, where it is kept, and single-flight renewal (docs/protocol.md,
"Tokens")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Literal, Protocol, TypeGuard, runtime_checkable

import attrs

from .clock import ServerClock
from .errors import DecodeError, TokenInvalidError
from .routes import GRANT, REFRESH, Call

__all__ = [
    "MemoryTokenStore",
    "Token",
    "TokenManager",
    "TokenStore",
    "token_call",
    "token_from_result",
]

_MAX_RENEWAL_MARGIN_MS = 60_000
_MAX_LIFETIME_S = 30 * 24 * 3600
"""The longest token lifetime believed (Tuya's is 7,200 s); a longer one is a broken answer."""


@attrs.frozen(kw_only=True)
class Token:
    """An access/refresh token pair, expiring on the server's clock; secrets kept out of repr."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    expires_at_ms: int
    lifetime_ms: int
    uid: str = ""
    renew_at_ms: int = attrs.field(init=False, repr=False, eq=False)
    """When to renew: 60 s or 10 % of the lifetime before expiry, whichever is smaller."""

    @renew_at_ms.default
    def _renew_at_ms(self) -> int:
        return self.expires_at_ms - min(_MAX_RENEWAL_MARGIN_MS, self.lifetime_ms // 10)

    def is_fresh(self, now_ms: int) -> bool:
        """True while the token is not yet due for renewal."""
        return now_ms < self.renew_at_ms


@runtime_checkable
class TokenStore(Protocol):
    """Where the current token lives; a shared store lets several processes use one token."""

    async def get(self, key: str) -> Token | None:
        """The stored token, or ``None``."""
        ...

    async def set(self, key: str, token: Token) -> None:
        """Store a new token."""
        ...

    async def clear(self, key: str, *, access_token: str) -> None:
        """Forget the token, but only if it is still the one with this access token."""
        ...

    def lock(self, key: str) -> AbstractAsyncContextManager[object]:
        """Exclusive access for a renewal, held while a new token is fetched."""
        ...


class MemoryTokenStore:
    """The default store: a dict in this process (share one instance to share tokens)."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={len(self._tokens)})"

    async def get(self, key: str) -> Token | None:
        """The stored token, or ``None``."""
        return self._tokens.get(key)

    async def set(self, key: str, token: Token) -> None:
        """Store a new token."""
        self._tokens[key] = token

    async def clear(self, key: str, *, access_token: str) -> None:
        """Forget the token if it is still the one with this access token."""
        current = self._tokens.get(key)
        if current is not None and current.access_token == access_token:
            del self._tokens[key]

    def lock(self, key: str) -> asyncio.Lock:
        """A per-key asyncio lock."""
        return self._locks.setdefault(key, asyncio.Lock())


TokenFetcher = Callable[[str | None], Awaitable[Token]]
"""Gets a token: with a refresh token, refreshes; with ``None``, makes a new grant."""


@attrs.define(kw_only=True, eq=False)
class TokenManager:
    """Hands out a valid token, renewing it at most once at a time however many callers wait.

    The renewal is one shielded task: a cancelled waiter neither cancels nor wedges it.
    """

    _fetch: TokenFetcher
    _store: TokenStore
    _key: str
    _clock: ServerClock
    _token: Token | None = attrs.field(default=None, init=False)
    _rejected: Token | None = attrs.field(default=None, init=False)
    _replaced: Token | None = attrs.field(default=None, init=False)
    _renewal: asyncio.Task[Token] | None = attrs.field(default=None, init=False)

    def __repr__(self) -> str:
        return f"TokenManager(has_token={self._token is not None})"

    @property
    def current(self) -> Token | None:
        """The token in use, if any (``None`` before the first call or after a rejection)."""
        return self._token

    def secrets(self) -> tuple[str, ...]:
        """The access and refresh tokens in use, refused and last replaced: values that no error
        may show (a server may echo any of them)."""
        return tuple(
            value
            for token in (self._token, self._rejected, self._replaced)
            if token is not None
            for value in (token.access_token, token.refresh_token)
        )

    def fresh(self) -> Token | None:
        """The token in use if it is not due for renewal, without waiting; else ``None``."""
        token = self._token
        if token is not None and self._clock.now_ms() < token.renew_at_ms:
            return token
        return None

    async def get(self) -> Token:
        """A token that is not due for renewal."""
        token = self.fresh()
        if token is not None:
            return token
        if self._renewal is None or self._renewal.done():
            self._renewal = asyncio.get_running_loop().create_task(self._renew())
            self._renewal.add_done_callback(_consume_exception)
        return await asyncio.shield(self._renewal)

    async def invalidate(self, failed: Token) -> None:
        """The server refused ``failed``: forget it, unless a newer token replaced it already."""
        if self._token is None or self._token.access_token != failed.access_token:
            return  # another call has dealt with it already
        self._token = None
        self._rejected = failed
        await self._store.clear(self._key, access_token=failed.access_token)

    async def close(self) -> None:
        """Cancel a renewal in flight."""
        if self._renewal is not None and not self._renewal.done():
            self._renewal.cancel()
            await asyncio.wait({self._renewal})

    async def _renew(self) -> Token:
        async with self._store.lock(self._key):
            stored = await self._store.get(self._key)
            if stored is not None and stored.is_fresh(self._clock.now_ms()):
                self._adopt(stored)
                return stored
            previous = stored or self._token or self._rejected
            token = await self._refresh_or_grant(previous)
            await self._store.set(self._key, token)
            self._adopt(token)
            return token

    def _adopt(self, token: Token) -> None:
        replaced = self._token or self._rejected
        if replaced is not None and replaced.access_token != token.access_token:
            self._replaced = replaced
        self._token, self._rejected = token, None

    async def _refresh_or_grant(self, previous: Token | None) -> Token:
        if previous is not None:
            with contextlib.suppress(TokenInvalidError):
                return await self._fetch(previous.refresh_token)
        return await self._fetch(None)


def _consume_exception(task: asyncio.Task[Token]) -> None:
    if not task.cancelled():
        task.exception()


def token_call(refresh_token: str | None) -> tuple[Call, Literal["grant", "refresh"]]:
    """The call that refreshes with ``refresh_token`` (one that fits in a path), else a grant."""
    if refresh_token is not None:
        try:
            return REFRESH.build({"refresh_token": refresh_token}), "refresh"
        except ValueError:
            pass
    return GRANT.build(query={"grant_type": 1}), "grant"


def _header_safe(value: object) -> TypeGuard[str]:
    # A token travels in a header (and a refresh token in a path): printable ASCII, bounded.
    return (
        isinstance(value, str)
        and 0 < len(value) <= 1024
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def token_from_result(result: object, *, server_ms: int, method: str, route: str) -> Token:
    """The token in a grant or refresh ``result``; expiry counts from the answer's server time."""
    if isinstance(result, dict):
        access, refresh = result.get("access_token"), result.get("refresh_token")
        expire_time, uid = result.get("expire_time"), result.get("uid", "")
        if (
            _header_safe(access)
            and _header_safe(refresh)
            and isinstance(expire_time, int)
            and not isinstance(expire_time, bool)
            and 0 < expire_time <= _MAX_LIFETIME_S
        ):
            lifetime_ms = expire_time * 1000
            return Token(
                access_token=access,
                refresh_token=refresh,
                expires_at_ms=server_ms + lifetime_ms,
                lifetime_ms=lifetime_ms,
                uid=str(uid) if isinstance(uid, (str, int)) else "",
            )
    raise DecodeError(
        errors=(
            "expected {access_token, refresh_token: printable ASCII, expire_time: int 1.."
            f"{_MAX_LIFETIME_S}, uid: str}}",
        ),
        method=method,
        route=route,
    )
