"""When to try a failed attempt again, and after how long, as pure decisions (docs/protocol.md,
"Retries"): :class:`RetryPolicy` is the user's choice, :class:`RetryBudget` spends it for one call.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from .errors import (
    TOKEN_CODES,
    ApiError,
    ClientClosedError,
    ClockSkewError,
    ConnectError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from .validation import check_count, check_number, field_check

__all__ = ["Action", "RetryBudget", "RetryPolicy", "is_outcome_unknown"]


def is_outcome_unknown(error: BaseException) -> bool:
    """True when the failed attempt may have been processed (see docs/protocol.md)."""
    if isinstance(error, ClientClosedError):
        return error.in_flight
    if isinstance(error, ConnectError):
        return False
    if isinstance(error, UnexpectedResponseError) and error.http_status is not None:
        return not 400 <= error.http_status <= 499  # a 4xx page: refused before processing
    return isinstance(error, (TransportError, ServerError))


_ENVELOPE_500_RETRIES = 2
"""Retries of a safe call answered with envelope code 500: Tuya's documents show 500 as the
failure of every call, a bad ID included, so repeating it more is likely wasted (a guess; see
docs/protocol.md, "Code 500")."""


def _is_envelope_500(error: BaseException) -> bool:
    return isinstance(error, ServerError) and error.code == 500 and error.http_status == 200


_count = field_check(lambda name, value: check_count(name, value, minimum=0))
_seconds = [field_check(check_number), attrs.validators.ge(0)]
_optional_seconds: Any = attrs.validators.optional(
    [field_check(check_number), attrs.validators.gt(0)]
)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How many times to retry, and how long to wait: exponential backoff with jitter, capped.

    ``RetryPolicy(max_retries=0)`` turns retries off; token renewal and clock correction still
    repeat a call once (protocol steps, not retries).
    """

    max_retries: int = attrs.field(default=4, validator=_count)
    base_delay: float = attrs.field(default=0.25, validator=_seconds)
    max_delay: float = attrs.field(default=8.0, validator=_seconds)
    jitter: float = attrs.field(
        default=0.25,
        validator=[field_check(check_number), attrs.validators.ge(0), attrs.validators.le(1.0)],
    )
    max_retry_after: float = attrs.field(default=60.0, validator=_seconds)
    """The longest ``Retry-After`` waited for; a longer one is raised at once."""
    deadline: float | None = attrs.field(default=90.0, validator=_optional_seconds)
    """Seconds a whole call may take, every attempt and wait included (``None``: no limit)."""

    def delay(
        self, attempt: int, error: BaseException, *, idempotent: bool, rand: float
    ) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (0-based), or ``None`` to give up.

        Rate limiting and refused connections are retried for every call, other failures only when
        ``idempotent``. ``rand`` in [0, 1) draws the jitter; a ``Retry-After`` is waited for in full
        up to ``max_retry_after``.
        """
        if attempt >= self.max_retries:
            return None
        if attempt >= _ENVELOPE_500_RETRIES and _is_envelope_500(error):
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


class Action(enum.Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"
    """Wait, then send again (the policy's retries)."""
    RENEW_TOKEN = "renew_token"
    """The token was refused: drop it, get another, send again (once per call)."""
    CORRECT_CLOCK = "correct_clock"
    """The server judged our time off: adopt its clock, send again (once per call)."""
    RECONCILE = "reconcile"
    """A repeat was refused after an earlier attempt's outcome was unknown: read the server's
    state to learn whether that attempt did the work."""
    GIVE_UP = "give_up"
    """Raise the failure."""


@attrs.define
class RetryBudget:
    """What one call may still spend on repeats: the policy's retries, one token renewal and one
    clock correction."""

    policy: RetryPolicy
    retries: int = 0
    token_renewed: bool = False
    clock_corrected: bool = False

    @property
    def attempts(self) -> int:
        """Attempts made so far, once the failed one has been decided on."""
        return 1 + self.retries + self.token_renewed + self.clock_corrected

    def decide(
        self, error: BaseException, *, idempotent: bool, sent_token: bool, rand: float
    ) -> tuple[Action, float]:
        """The next step after ``error`` and the seconds to wait first; spends the budget."""
        if isinstance(error, ApiError):
            if error.code in TOKEN_CODES and sent_token and not self.token_renewed:
                self.token_renewed = True
                return Action.RENEW_TOKEN, 0.0
            if (
                isinstance(error, ClockSkewError)
                and error.server_time_ms is not None
                and not self.clock_corrected
            ):
                self.clock_corrected = True
                return Action.CORRECT_CLOCK, 0.0
        delay = self.policy.delay(self.retries, error, idempotent=idempotent, rand=rand)
        if delay is None:
            return Action.GIVE_UP, 0.0
        self.retries += 1
        return Action.RETRY, delay
