"""One call's state and every decision made on it, without I/O: how long the next wait or attempt
may take, and what to do after a failure (retry after a delay, renew the token, correct the clock,
reconcile, give up with this error). The transport performs; this module decides."""

from __future__ import annotations

import attrs

from .errors import (
    ApiError,
    AuthenticationError,
    ClockSkewError,
    OutcomeUnknownError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    SignatureError,
    TuyaError,
)
from .events import RetryReason
from .options import Timeout
from .retry import Action, RetryBudget, RetryPolicy, is_outcome_unknown
from .routes import Call

__all__ = ["CallState", "Decision", "is_refusal"]

_NOT_REFUSALS = (
    ServerError,
    RateLimitedError,
    QuotaExceededError,
    AuthenticationError,
    SignatureError,
    ClockSkewError,
    PermissionDeniedError,
)


def is_refusal(error: BaseException) -> bool:
    """True when the server answered and declined the request itself (a state or parameter it
    would not accept), not for a reason of its own (load, limits, credentials, time)."""
    return isinstance(error, ApiError) and not isinstance(error, _NOT_REFUSALS)


@attrs.frozen
class Decision:
    """What to do after a failed attempt: ``action``, after ``delay`` seconds, and why."""

    action: Action
    delay: float = 0.0
    reason: RetryReason | None = None


_GIVE_UP = Decision(Action.GIVE_UP)
_RECONCILE = Decision(Action.RECONCILE)
_RENEW = Decision(Action.RENEW_TOKEN, reason="token")
_CORRECT = Decision(Action.CORRECT_CLOCK, reason="clock")


def _reason(error: TuyaError) -> RetryReason:
    if isinstance(error, RateLimitedError):
        return "rate_limit"
    return "server_error" if isinstance(error, ApiError) else "transport"


@attrs.define
class CallState:
    """A call from its start to its end: the attempts made, whether one of them may have been
    processed, when the first one was sent, and the time it has left."""

    call: Call
    policy: RetryPolicy
    limits: Timeout
    started: float
    """When the call started (monotonic seconds)."""
    attempts: int = 0
    """Attempts made so far (sent, or failed while sending)."""
    may_have_acted: bool = False
    """An attempt's outcome is unknown: the server may have acted on it."""
    first_sent_ms: int | None = None
    """When the first attempt was sent, on the server's clock."""
    in_flight: bool = attrs.field(default=False, init=False)
    """The latest attempt was sent and has not been decided on yet."""
    sent_at: float = attrs.field(default=0.0, init=False)
    """When the latest attempt was sent (monotonic seconds)."""
    _budget: RetryBudget | None = attrs.field(default=None, init=False)

    def left(self, now: float) -> float | None:
        """Seconds the call has left (``None``: no deadline); at most 0 once it has passed."""
        deadline = self.policy.deadline
        return None if deadline is None else self.started + deadline - now

    def attempt_timeout(self, now: float) -> Timeout | None:
        """The next attempt's limits, none beyond the deadline; ``None`` once it has passed."""
        left = self.left(now)
        if left is None:
            return self.limits
        return self.limits.within(left) if left > 0 else None

    def sending(self, now: float, server_ms: int) -> None:
        """An attempt is about to leave, at ``now`` (``server_ms`` on the server's clock)."""
        self.attempts += 1
        self.sent_at = now
        self.in_flight = True
        if self.first_sent_ms is None:
            self.first_sent_ms = server_ms

    def decide(
        self,
        error: TuyaError,
        now: float,
        *,
        sent_token: bool,
        can_reconcile: bool = False,
        rand: float = 0.0,
    ) -> Decision:
        """The next step after ``error`` (the attempt just made, or a wait before one)."""
        unknown = self.in_flight and is_outcome_unknown(error)
        self.in_flight = False
        if can_reconcile and self.may_have_acted and is_refusal(error):
            return _RECONCILE  # a repeat refused because an earlier attempt did the work?
        self.may_have_acted = self.may_have_acted or unknown
        if self._budget is None:
            self._budget = RetryBudget(self.policy)
        action, delay = self._budget.decide(
            error, idempotent=self.call.idempotent, sent_token=sent_token, rand=rand
        )
        if action is Action.RENEW_TOKEN:
            return _RENEW
        if action is Action.CORRECT_CLOCK:
            return _CORRECT
        left = self.left(now)
        if action is Action.GIVE_UP or (left is not None and delay >= left):
            return _GIVE_UP
        return Decision(Action.RETRY, delay, _reason(error))

    def final(
        self, error: TuyaError, now: float, server_ms: int, uncertainty_ms: int = 0
    ) -> TuyaError:
        """The error the call raises: ``error`` with what the call spent, or, for a call that
        must not be repeated and may have been processed, :class:`OutcomeUnknownError` (its
        send times widened by ``uncertainty_ms``, how far off the server clock may be)."""
        error.attempts, error.elapsed_s = self.attempts, round(now - self.started, 3)
        if not self.call.secret_path:
            error.path_args = self.call.path_args
        unknown = self.may_have_acted or (self.in_flight and is_outcome_unknown(error))
        if self.call.idempotent or not unknown or self.first_sent_ms is None:
            return error
        return OutcomeUnknownError(
            method=self.call.method,
            route=self.call.route,
            path_args=error.path_args,
            identifiers=self.call.identifiers,
            reason=error.summary,
            first_sent_ms=self.first_sent_ms - uncertainty_ms,
            last_sent_ms=server_ms + uncertainty_ms,
            attempts=self.attempts,
            elapsed_s=error.elapsed_s,
        )

    def expired(self) -> RequestTimeoutError:
        """The error of a call whose deadline passed before it could be sent (again)."""
        return RequestTimeoutError(
            detail="the deadline passed before the call could be sent",
            method=self.call.method,
            route=self.call.route,
        )
