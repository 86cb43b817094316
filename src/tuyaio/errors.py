"""The exception hierarchy and the table that maps Tuya's codes to it (docs/protocol.md, "Errors").

An error names the method and route template, never holds a secret, and pickles with its fields.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import partial
from typing import Any

import attrs

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CallBudgetExceededError",
    "ClientClosedError",
    "ClockSkewError",
    "ConnectError",
    "CrossRegionError",
    "DataCenterSuspendedError",
    "DecodeError",
    "Hint",
    "IncompleteListingError",
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
    "WaitTimeoutError",
    "hint_for",
]


@attrs.define(kw_only=True, eq=False, str=False)
class TuyaError(Exception):
    """Root of every error about a request (input mistakes raise ValueError/TypeError instead).

    ``attempts`` and ``elapsed_s``: what the call spent before giving up (0 and ``None``: nothing).
    """

    method: str = ""
    route: str = ""
    path_args: Mapping[str, str] = attrs.field(factory=dict)
    """The IDs filled into the route (``task_id``…), so a message names the object."""
    attempts: int = 0
    elapsed_s: float | None = None

    @property
    def summary(self) -> str:
        """What went wrong, without where."""
        return type(self).__name__

    def __str__(self) -> str:
        where = f"{self.method} {self.route}" if self.method else self.route
        if self.path_args:
            where += " " + ", ".join(f"{name}={value}" for name, value in self.path_args.items())
        tried = ""
        if self.attempts > 1 and self.elapsed_s is not None:
            tried = f" after {self.attempts} attempts over {self.elapsed_s:.1f} s"
        return f"{self.summary} [{where}]{tried}"

    def __reduce__(self) -> tuple[Any, ...]:
        return partial(type(self), **attrs.asdict(self, recurse=False)), ()


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
    """The client was closed while the call was waiting or (``in_flight``) already sent."""

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
    def hint(self) -> Hint | None:
        """What the answer usually means and the fix to try first, for well-known answers."""
        return hint_for(self.code, self.msg)

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
    """1106, 28841101, 28841105: these credentials may not do this (region, account, service)."""


class DataCenterSuspendedError(PermissionDeniedError):
    """28841107: the cloud project's data center is suspended."""


class CrossRegionError(PermissionDeniedError):
    """ "cross-region access is not allowed": the endpoint is not the project's data center."""


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
    """A call that must not run twice failed after it may have reached the server; not retried.

    ``identifiers`` holds the request's identifying fields, ``__cause__`` the failure;
    ``client.maintenance.find_created(error)`` (or ``construction``) looks for what it created.
    """

    identifiers: Mapping[str, str] = attrs.field(factory=dict)
    reason: str = ""
    first_sent_ms: int | None = None
    """With ``last_sent_ms``: when it was sent (server-clock ms), where to look for the object."""
    last_sent_ms: int | None = None

    @property
    def summary(self) -> str:
        """Why the outcome is unknown, and what identifies the request."""
        ids = ", ".join(f"{key}={value}" for key, value in self.identifiers.items())
        return f"outcome unknown, not retried ({self.reason}); check before repeating" + (
            f": {ids}" if ids else ""
        )


@attrs.define(kw_only=True, eq=False, str=False)
class IncompleteListingError(TuyaError):
    """A listing walk cannot yield every item exactly once: a page is shorter than the listing's
    own ``total`` says, or serves again items the walk already yielded (docs/listings.md).

    ``page_no``/``page_size``: the page (as asked for); ``total``: the total that page reported;
    ``served``: its items; ``expected``: the items its ``total`` implies; ``yielded``: the items
    the walk yielded before it. Every item yielded before the error was yielded once.
    """

    page_no: int = 0
    page_size: int = 0
    total: int = 0
    served: int = 0
    expected: int = 0
    yielded: int = 0
    detail: str = ""

    @property
    def summary(self) -> str:
        """Which page, what it served against what its total implies, and why."""
        return (
            f"listing incomplete at page {self.page_no} (size {self.page_size}): {self.detail}; "
            f"served {self.served} items, {self.expected} expected from total {self.total}, "
            f"{self.yielded} yielded before it"
        )


@attrs.frozen
class Hint:
    """What a Tuya code usually means, and the fix to try first."""

    meaning: str
    fix: str


_SECRET_FIX = (
    "copy the Access Secret again from the cloud project's overview page into TUYA_CLIENT_SECRET"
)
_ARGUMENTS_FIX = "check the arguments of the command"

_HINTS: Mapping[int, Hint] = {
    1001: Hint("secret invalid: the Access Secret is wrong", _SECRET_FIX),
    1004: Hint(
        "sign invalid: the secret does not match this client ID (usually a wrong secret)",
        _SECRET_FIX,
    ),
    1005: Hint(
        "client ID invalid: wrong Access ID, or the project lives in another data center",
        "check TUYA_CLIENT_ID, and pick the region the cloud project was created in "
        "(region or TUYA_REGION)",
    ),
    1010: Hint(
        "token invalid: another process may have refreshed the same credentials",
        "retry; share one token between processes (RedisTokenStore) if it keeps happening",
    ),
    1011: Hint("token expired", "retry; if it persists, check this machine's clock"),
    1012: Hint("token status invalid", "retry; if it persists, check the credentials"),
    1013: Hint(
        "request time invalid: this machine's clock is more than 5 minutes off the server's",
        "synchronise the clock (NTP: timedatectl set-ntp true)",
    ),
    1100: Hint("a required parameter is empty", _ARGUMENTS_FIX),
    1101: Hint("a parameter is out of range", _ARGUMENTS_FIX),
    1109: Hint("a parameter is illegal", _ARGUMENTS_FIX),
    1106: Hint(
        "permission denied: these credentials may not use this project or API (a project ID "
        "the cloud project is not linked to, an API service not authorised, or another data "
        "center than the project's)",
        "check the project ID first (the cloud project must be linked to that Smart Engineering "
        "or Smart Lighting project), then authorise the API service in the cloud project, then "
        "check the region (region or TUYA_REGION)",
    ),
    1000: Hint("the object does not exist", "check the ID (list the objects to find it)"),
    1108: Hint("the path is not one the server knows", "check the IDs and the endpoint"),
    1110: Hint("too many concurrent requests", "slow down (fewer concurrent calls)"),
    1111: Hint("the system is busy", "retry later"),
    1199: Hint("requests too frequent", "slow down, or retry later"),
    1113: Hint("the same operation was repeated too soon", "wait a moment before repeating"),
    28841101: Hint(
        "the API service is not subscribed for this cloud project",
        "subscribe to the API service (Smart Engineering / Smart Lighting) and authorise the "
        "cloud project to use it",
    ),
    28841107: Hint(
        "the cloud project's data center is suspended",
        "enable the data center again in the cloud project (Overview, data centers: remove and "
        "add it back), or use the region of a data center the project has enabled (region or "
        "TUYA_REGION)",
    ),
    28841105: Hint(
        "this cloud project is not authorised to call this API",
        "authorise the cloud project for the API service in the Tuya IoT platform",
    ),
    28841002: Hint("the cloud subscription has expired", "renew the cloud development plan"),
    28841004: Hint(
        "the trial quota is used up", "upgrade or renew the plan; retrying burns more quota"
    ),
    500: Hint("server error", "retry later; for a create, first check whether it happened"),
}


_CROSS_REGION = Hint(
    "cross-region access: the credentials or this machine's address belong to another data "
    "center than the endpoint called",
    "use the region the cloud project was created in (region or TUYA_REGION)",
)


def hint_for(code: int | None, msg: str = "") -> Hint | None:
    """The meaning and fix for a Tuya answer, when it is a well-known one."""
    if "cross-region" in msg:
        return _CROSS_REGION
    return None if code is None else _HINTS.get(code)


@attrs.define(kw_only=True, eq=False, str=False)
class CallBudgetExceededError(TuyaError):
    """The client's call budget (``call_quota=``) is spent: the request was not sent."""

    quota: str = ""

    @property
    def summary(self) -> str:
        """Which budget is spent."""
        return f"the call budget is spent, nothing sent ({self.quota})"


@attrs.define(kw_only=True, eq=False, str=False)
class WaitTimeoutError(TuyaError):
    """A wait for a state (``wait_for_status``) ran out of time; ``last_status`` was seen last."""

    last_status: str | None = None
    waited_s: float = 0.0

    @property
    def summary(self) -> str:
        """How long it waited and what it saw last."""
        return f"still {self.last_status} after waiting {self.waited_s:g} s"


TOKEN_CODES = frozenset({1010, 1011, 1012})

_CLASSES: Mapping[type[ApiError], Collection[int]] = {
    AuthenticationError: (1001, 1005),
    SignatureError: (1004,),
    TokenInvalidError: TOKEN_CODES,
    ClockSkewError: (1013,),
    InvalidParameterError: (1100, 1101, 1109),
    PermissionDeniedError: (1106, 28841101, 28841105),
    DataCenterSuspendedError: (28841107,),
    NotFoundError: (1000, 1108),
    RateLimitedError: (1110, 1111, 1199),
    QuotaExceededError: (28841002, 28841004),
    ServerError: (500,),
}
_CODE_TABLE = {code: cls for cls, codes in _CLASSES.items() for code in codes}


def error_for_code(code: int | None, msg: str = "") -> type[ApiError]:
    """The exception class for an envelope code (a "cross-region" message whatever the code)."""
    if "cross-region" in msg:
        return CrossRegionError
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
