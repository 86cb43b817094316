"""Decoding Tuya's response envelope: bytes and an HTTP status in, a result or a typed error out.

Pure: the same input always gives the same answer, and any input at all gives either an
:class:`Envelope` or one of tuyaio's own errors.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import attrs

from . import _json
from .errors import (
    ApiError,
    DecodeError,
    RateLimitedError,
    UnexpectedResponseError,
    error_for_code,
    error_for_status,
)

__all__ = [
    "MAX_SERVER_MS",
    "MIN_SERVER_MS",
    "Envelope",
    "excerpt",
    "parse_envelope",
    "parse_retry_after",
    "redact",
    "server_time_from_date",
]

T = TypeVar("T")
P = ParamSpec("P")

_EXCERPT_CHARS = 300
_MSG_CHARS = 500
_SECRET_NAMES = r"(?:access_token|refresh_token|accessToken|refreshToken|sign|secret|client_secret)"
_SECRET_VALUES = re.compile(rf'("{_SECRET_NAMES}"\s*:\s*)"(?:[^"\\]|\\.)*"?')
_SECRET_PARAMS = re.compile(rf"(?<![A-Za-z0-9_])({_SECRET_NAMES}=)[^&\s\"'<>]+")
_REDACTED = "<redacted>"
_SHORTEST = 4
"""A value shorter than this is never looked for: it cannot be told from ordinary text."""
_ANYWHERE = 16
"""A value this long or longer is removed wherever it occurs; a shorter one only where it
stands alone (not inside a longer run of letters and digits), so that redacting it cannot
mangle a word ("system error" stays itself whatever the token)."""

MIN_SERVER_MS = 1_000_000_000_000
"""The earliest server time (``t``, ``Date``) believed: 2001-09-09. An answer's time outside
``MIN_SERVER_MS``–``MAX_SERVER_MS`` is ignored, never adopted as the clock."""
MAX_SERVER_MS = 4_102_444_800_000
"""The latest server time believed: 2100-01-01."""


@attrs.frozen
class Envelope:
    """A successful answer: the ``result`` and the server's time and request id."""

    result: Any
    t: int | None
    tid: str | None
    body: bytes | None = attrs.field(default=None, repr=False, eq=False)
    """The body, kept when the fast parser read it (see :func:`~tuyaio._json.read`)."""
    secrets: Collection[str] | Callable[[], Collection[str]] = attrs.field(
        default=(), repr=False, eq=False
    )
    """What :meth:`decode` redacts from a :class:`DecodeError` (``parse_envelope``'s)."""
    sign: str | None = attrs.field(default=None, repr=False, eq=False)
    """The request's signature, redacted like ``secrets``."""

    def exact_result(self) -> Any:
        """The ``result`` exactly as the stdlib reads it (the same object when it is)."""
        if self.body is None or not _json.may_differ(self.body):
            return self.result
        document = _json.loads(self.body)
        return document.get("result") if isinstance(document, dict) else None

    def decode(
        self, structure: Callable[Concatenate[Any, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``structure(result, *args, **kwargs)``; when that raises :class:`DecodeError` on a
        result the fast parser may have read otherwise, the exact result is structured instead
        (no model field takes a float, so an integer beyond 64 bits that became one always
        fails). The error is raised redacted (its excerpt and messages, without a cause)."""
        try:
            try:
                return structure(self.result, *args, **kwargs)
            except DecodeError:
                exact = self.exact_result()
                if exact is self.result:
                    raise
                return structure(exact, *args, **kwargs)
        except DecodeError as error:
            failure = self._redacted(error)
        raise failure  # outside the handler: the original, and what it was raised from, stay

    def _redacted(self, error: DecodeError) -> DecodeError:
        values = _values(self.secrets, self.sign)
        return DecodeError(
            errors=tuple(redact(message, values) for message in error.errors),
            body_excerpt=_result_excerpt(self.result, values) if error.body_excerpt else "",
            method=error.method,
            route=error.route,
            path_args=error.path_args,
            attempts=error.attempts,
            elapsed_s=error.elapsed_s,
        )


def _secrets_pattern(secrets: Collection[str]) -> re.Pattern[str] | None:
    values = sorted({value for value in secrets if len(value) >= _SHORTEST}, key=len, reverse=True)
    if not values:
        return None
    return re.compile(
        "|".join(
            re.escape(value)
            if len(value) >= _ANYWHERE
            else rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])"
            for value in values
        )
    )


def redact(text: str, secrets: Collection[str] = ()) -> str:
    """``text`` without the values of secret-named JSON keys and query parameters
    (``"access_token": "…"``, ``sign=…``), nor any of ``secrets``: a value of 16 characters or
    more wherever it occurs, a shorter one where it stands alone, one under 4 never."""
    text = _SECRET_VALUES.sub(rf'\1"{_REDACTED}"', text)
    text = _SECRET_PARAMS.sub(rf"\1{_REDACTED}", text)
    pattern = _secrets_pattern(secrets)
    return text if pattern is None else pattern.sub(_REDACTED, text)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _clean(text: str, secrets: Collection[str], limit: int) -> str:
    text = "".join(char if char.isprintable() else " " for char in redact(text, secrets))
    return _shorten(text, limit)


def excerpt(body: bytes, secrets: Collection[str] = ()) -> str:
    """A short, printable, redacted piece of a response body for error messages (redacted before
    it is cut; where the body itself was cut, the last characters go too: a secret may start
    there)."""
    window = body[: _EXCERPT_CHARS * 4]
    text = redact(window.decode("utf-8", errors="replace"), secrets)
    if len(window) < len(body):
        text = text[: max(0, len(text) - max((len(value) for value in secrets), default=1) + 1)]
    return _clean(text, (), _EXCERPT_CHARS)


def _values(
    secrets: Collection[str] | Callable[[], Collection[str]], sign: str | None
) -> tuple[str, ...]:
    values = tuple(secrets() if callable(secrets) else secrets)
    return (*values, sign) if sign else values


def _result_excerpt(result: Any, secrets: Collection[str]) -> str:
    try:
        return excerpt(json.dumps(result, default=repr).encode(), secrets)
    except (ValueError, RecursionError):  # nested too deeply, or a number too long to print
        return ""


def parse_retry_after(
    value: str | None, date: str | None = None, now_ms: int | None = None
) -> float | None:
    """Seconds from a ``Retry-After`` header: a number, or an HTTP date taken relative to the
    answer's ``Date`` header (so this machine's clock does not matter), else to ``now_ms`` (the
    server's time as the client knows it); ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        retry_at = server_time_from_date(value)
        sent_at = server_time_from_date(date) if date else now_ms
        if retry_at is None or sent_at is None:
            return None
        seconds = max(0.0, (retry_at - sent_at) / 1000)
    return seconds if 0 <= seconds < math.inf else None


def server_time_from_date(value: str | None) -> int | None:
    """Milliseconds since the epoch from an HTTP ``Date`` header, or ``None``."""
    if not value:
        return None
    try:
        return _plausible_ms(int(parsedate_to_datetime(value).timestamp() * 1000))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _plausible_ms(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if MIN_SERVER_MS <= value <= MAX_SERVER_MS else None
    return None


_MAX_CODE_DIGITS = 18
"""A code longer than this is no code (it would not fit a Java ``long``)."""


def _code(value: object) -> int | None:
    """The envelope's ``code``: a JSON integer, or a string of decimal digits (Tuya's lighting SDK
    types it ``String``: ``"1010"`` is 1010); anything else is no code."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_CODE_DIGITS
        and value.isascii()
        and value.isdigit()
    ):
        return int(value)
    return None


def parse_envelope(
    *,
    status: int,
    body: bytes,
    method: str,
    route: str,
    retry_after: str | None = None,
    date: str | None = None,
    headers: Mapping[str, str] | None = None,
    secrets: Collection[str] | Callable[[], Collection[str]] = (),
    now_ms: Callable[[], int] | None = None,
    sign: str | None = None,
) -> Envelope:
    """Return the envelope of a successful call, or raise the error the answer stands for.

    ``retry_after`` and ``date`` are the answer's ``Retry-After`` and ``Date`` headers (or they
    are read from ``headers``, only when the answer is an error); the server's time comes from
    ``t``, else from ``Date`` (each only within ``MIN_SERVER_MS`` to ``MAX_SERVER_MS``).
    ``secrets`` are values that never show in an error (tokens, the secret), or a function giving
    them, called only for an error; ``sign``, the request's signature, is redacted as they are
    (the envelope keeps both, for :meth:`Envelope.decode`). ``now_ms`` gives the server's time as
    the client knows it, for a ``Retry-After`` date in an answer without ``Date``.
    """
    status_error = error_for_status(status) if status != 200 else None
    try:
        document, exact = _json.read(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        document, exact = None, True

    if document.__class__ is dict and document.get("success") is True and status == 200:
        t = document.get("t")  # _plausible_ms, written out on the path every call takes
        if t.__class__ is not int or not MIN_SERVER_MS <= t <= MAX_SERVER_MS:
            t = None
        tid = document.get("tid")
        result = document.get("result")
        tid = tid if tid.__class__ is str else None
        return Envelope(result, t, tid, None if exact else body, secrets, sign)
    if not exact:
        try:
            document = _json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            document = None
    if headers is not None:
        retry_after = headers.get("Retry-After")
        date = headers.get("Date")
    values = _values(secrets, sign)
    now = None if now_ms is None or date else now_ms()
    if not isinstance(document, dict) or not isinstance(document.get("success"), bool):
        if status_error is not None:
            raise _status_error(
                status_error, status, method, route, parse_retry_after(retry_after, date, now)
            )
        detail = (
            f"HTTP {status} with a body that is not a Tuya envelope"
            if status != 200
            else "the body is not a Tuya envelope"
        )
        raise UnexpectedResponseError(
            detail=detail,
            http_status=status,
            body_excerpt=excerpt(body, values),
            method=method,
            route=route,
        )

    t = _plausible_ms(document.get("t"))
    tid = document.get("tid") if isinstance(document.get("tid"), str) else None
    if document["success"] and status == 200:
        return Envelope(document.get("result"), t, tid, None, values)

    code = _code(document.get("code"))
    msg = document.get("msg")
    text = msg if isinstance(msg, str) else ""
    if code is not None or "cross-region" in text:
        error_class = error_for_code(code, text)
    else:
        error_class = status_error or ApiError
    kwargs: dict[str, Any] = {
        "code": code,
        "msg": _clean(msg, values, _MSG_CHARS) if isinstance(msg, str) else "",
        "tid": _clean(tid, values, 64) if tid else None,
        "http_status": status,
        "server_time_ms": t if t is not None else server_time_from_date(date),
        "method": method,
        "route": route,
    }
    if issubclass(error_class, RateLimitedError):
        kwargs["retry_after"] = parse_retry_after(retry_after, date, now)
    raise error_class(**kwargs)


def _status_error(
    error_class: type[ApiError], status: int, method: str, route: str, retry_after: float | None
) -> ApiError:
    if issubclass(error_class, RateLimitedError):
        return error_class(http_status=status, retry_after=retry_after, method=method, route=route)
    return error_class(http_status=status, method=method, route=route)
