"""When to try a failed attempt again, and after how long: one frozen policy, one pure function."""

from __future__ import annotations

import attrs

from .errors import (
    ClientClosedError,
    ConnectError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from .validation import check_count, check_number, field_check

__all__ = ["RetryPolicy", "is_outcome_unknown"]


def is_outcome_unknown(error: BaseException) -> bool:
    """True when the failed attempt may have been processed (PROTOCOL.md §4, "outcome unknown").

    A broken connection after the request was written, a timeout, an HTTP 5xx or envelope 500, or
    an answer that could not be read. A refused connection or a rejection code: nothing happened.
    """
    if isinstance(error, (ConnectError, ClientClosedError)):
        return False
    if isinstance(error, UnexpectedResponseError) and error.http_status is not None:
        return not 400 <= error.http_status <= 499  # a 4xx page: refused before processing
    return isinstance(error, (TransportError, ServerError))


_count = field_check(lambda name, value: check_count(name, value, minimum=0))
_seconds = [field_check(check_number), attrs.validators.ge(0)]


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How many times to retry, and how long to wait: exponential backoff with jitter, capped.

    The defaults retry 4 times (5 attempts) waiting about 0.25, 0.5, 1 and 2 s, never more than
    ``max_delay``. ``RetryPolicy(max_retries=0)`` turns retries off. Token refresh and clock
    correction repeat a call once whatever the policy says: they are part of the protocol.
    """

    max_retries: int = attrs.field(default=4, validator=_count)
    base_delay: float = attrs.field(default=0.25, validator=_seconds)
    max_delay: float = attrs.field(default=8.0, validator=_seconds)
    jitter: float = attrs.field(
        default=0.25,
        validator=[field_check(check_number), attrs.validators.ge(0), attrs.validators.le(1.0)],
    )
    max_retry_after: float = attrs.field(default=60.0, validator=_seconds)
    """The longest ``Retry-After`` waited for; a longer one gives up at once, and the
    :class:`RateLimitedError` raised carries it in ``retry_after``."""

    def delay(
        self, attempt: int, error: BaseException, *, idempotent: bool, rand: float
    ) -> float | None:
        """Seconds to wait before retrying after failed attempt number ``attempt`` (0-based), or
        ``None`` to give up.

        Retried: rate limiting (for every call: the server did nothing); transport failures,
        timeouts and server errors only when ``idempotent``. ``rand`` in [0, 1) draws the jitter,
        which cuts the wait by up to ``jitter`` of it. A ``Retry-After`` is waited for in full (even
        beyond ``max_delay``) up to ``max_retry_after``; a longer one gives up.
        """
        if attempt >= self.max_retries:
            return None
        nothing_happened = isinstance(error, (RateLimitedError, ConnectError))
        if not nothing_happened and not (idempotent and is_outcome_unknown(error)):
            return None
        backoff = min(self.max_delay, self.base_delay * 2.0**attempt) * (1.0 - self.jitter * rand)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            backoff = max(backoff, float(retry_after))
        return backoff
