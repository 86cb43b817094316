"""The exception hierarchy and the one table that maps Tuya's codes to it.

Every error raised for a request names the HTTP method and the route *template* (never the filled
path), and never holds a secret, token or signature. Every error pickles and copies with its type
and fields (so it can cross a process pool or a task queue). The code table is explained in
docs/protocol.md, "Errors".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ClientClosedError",
    "ClockSkewError",
    "ConnectError",
    "DecodeError",
    "InvalidParameterError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ServerError",
    "SignatureError",
    "TokenInvalidError",
    "TransportError",
    "TuyaError",
    "UnexpectedResponseError",
    "error_for_code",
    "error_for_status",
]


def _where(method: str, route: str) -> str:
    return f"{method} {route}" if method else route


def _restore(cls: type[TuyaError], fields: dict[str, Any]) -> TuyaError:
    return cls(**fields)


@attrs.define(kw_only=True, eq=False, str=False)
class TuyaError(Exception):
    """Root of every error about a request (input mistakes raise ValueError/TypeError instead).

    ``attempts`` and ``elapsed_s`` say how many attempts the call made, over how long, before it
    gave up (0 and ``None`` for an error raised before any attempt).
    """

    method: str = ""
    route: str = ""
    attempts: int = 0
    elapsed_s: float | None = None

    @property
    def summary(self) -> str:
        """What went wrong, without where."""
        return type(self).__name__

    def __str__(self) -> str:
        tried = ""
        if self.attempts > 1 and self.elapsed_s is not None:
            tried = f" after {self.attempts} attempts over {self.elapsed_s:.1f} s"
        return f"{self.summary} [{_where(self.method, self.route)}]{tried}"

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {a.name: getattr(self, a.name) for a in attrs.fields(type(self)) if a.init}
        return _restore, (type(self), fields)


@attrs.define(kw_only=True, eq=False, str=False)
class TransportError(TuyaError):
    """The server could not be reached, or what came back could not be understood."""

    detail: str = ""

    @property
    def summary(self) -> str:
        """What went wrong, without where."""
        return self.detail or type(self).__name__


@attrs.define(kw_only=True, eq=False, str=False)
class ConnectError(TransportError):
    """No connection could be made, so nothing was sent; safe to retry for every call."""


@attrs.define(kw_only=True, eq=False, str=False)
class RequestTimeoutError(TransportError):
    """An attempt took longer than its timeout; the server may have processed it."""


@attrs.define(kw_only=True, eq=False, str=False)
class ClientClosedError(TransportError):
    """The client was closed while the call was waiting or in flight.

    ``in_flight`` is True when the request had already been sent: the server may have processed
    it (a create closed in flight raises :class:`OutcomeUnknownError` instead).
    """

    in_flight: bool = False


@attrs.define(kw_only=True, eq=False, str=False)
class UnexpectedResponseError(TransportError):
    """The answer was not a Tuya envelope (an HTML page, truncated JSON, an unexpected status)."""

    http_status: int | None = None
    body_excerpt: str = ""


@attrs.define(kw_only=True, eq=False, str=False)
class ApiError(TuyaError):
    """The server answered and said no. ``code``/``msg``/``tid`` are Tuya's, when it sent them."""

    code: int | None = None
    msg: str = ""
    tid: str | None = None
    http_status: int = 200
    server_time_ms: int | None = attrs.field(default=None, repr=False)

    @property
    def summary(self) -> str:
        """Tuya's message, code and request id (an HTTP status stands for a missing code)."""
        code = f"code {self.code}" if self.code is not None else f"HTTP {self.http_status}"
        tid = f", tid {self.tid}" if self.tid else ""
        return f"{self.msg} ({code}{tid})" if self.msg else f"{code}{tid}"


class SignatureError(ApiError):
    """1004: the signature did not verify (a wrong secret, or a bug). Never retried."""


class AuthenticationError(ApiError):
    """1005: the client_id is not valid, or the credentials were refused."""


class TokenInvalidError(AuthenticationError):
    """1010/1011/1012: the access token was refused even after a fresh one was fetched."""


class ClockSkewError(ApiError):
    """1013: the request time was outside the server's window even after correcting the clock."""


class InvalidParameterError(ApiError):
    """1100/1101/1109: the server rejected a parameter (empty, out of range, illegal)."""


class PermissionDeniedError(ApiError):
    """1106: these credentials may not do this (often: another account's project or region)."""


class NotFoundError(ApiError):
    """1000/1108: the object does not exist, or the path is not one the server knows."""


@attrs.define(kw_only=True, eq=False, str=False)
class RateLimitedError(ApiError):
    """1110/1111/1199 or HTTP 429: too many requests; retried with backoff while retries remain."""

    retry_after: float | None = None


class QuotaExceededError(ApiError):
    """28841002/28841004: the subscription expired or the trial quota is used up. Never retried."""


class ServerError(ApiError):
    """Envelope code 500 or an HTTP 5xx: the outcome is unknown; only safe calls are retried."""


@attrs.define(kw_only=True, eq=False, str=False)
class DecodeError(TuyaError):
    """The envelope was fine but its ``result`` did not have the documented shape."""

    errors: tuple[str, ...] = ()
    body_excerpt: str = ""

    @property
    def summary(self) -> str:
        """The first few of cattrs' messages, each with its path."""
        shown = "; ".join(self.errors[:5]) or "unexpected result"
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        return f"could not decode the result: {shown}{more}"


@attrs.define(kw_only=True, eq=False, str=False)
class OutcomeUnknownError(TuyaError):
    """A call that must not run twice failed after it may have reached the server.

    It was not retried. Look before you repeat it: ``identifiers`` holds the request's identifying
    fields (for a create: project, worker or account, rooms) and ``__cause__`` the failure itself.
    """

    identifiers: Mapping[str, str] = attrs.field(factory=dict)
    reason: str = ""

    @property
    def summary(self) -> str:
        """Why the outcome is unknown, and what identifies the request."""
        ids = ", ".join(f"{key}={value}" for key, value in self.identifiers.items())
        return f"outcome unknown, not retried ({self.reason}); check before repeating" + (
            f": {ids}" if ids else ""
        )


TOKEN_CODES = frozenset({1010, 1011, 1012})

_CODE_TABLE: Mapping[int, type[ApiError]] = {
    1004: SignatureError,
    1005: AuthenticationError,
    1010: TokenInvalidError,
    1011: TokenInvalidError,
    1012: TokenInvalidError,
    1013: ClockSkewError,
    1100: InvalidParameterError,
    1101: InvalidParameterError,
    1109: InvalidParameterError,
    1106: PermissionDeniedError,
    1000: NotFoundError,
    1108: NotFoundError,
    1110: RateLimitedError,
    1111: RateLimitedError,
    1199: RateLimitedError,
    28841002: QuotaExceededError,
    28841004: QuotaExceededError,
    500: ServerError,
}


def error_for_code(code: int | None) -> type[ApiError]:
    """The exception class for an envelope error code (``ApiError`` for codes not in the table)."""
    if code is None:
        return ApiError
    return _CODE_TABLE.get(code, ApiError)


def error_for_status(status: int) -> type[ApiError] | None:
    """The exception class for a non-200 HTTP status, or ``None`` when the status says nothing."""
    if status == 429:
        return RateLimitedError
    if 500 <= status <= 599:
        return ServerError
    return None
