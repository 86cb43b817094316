"""What a client tells observers (docs/observing.md): one event per attempt, call, token fetch and
wait, handed to every hook in the calling task. Events hold no secret; a hook that raises is
logged and ignored. :func:`last_call` gives the metadata of this task's last call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import attrs

from ._converter import from_ms

if TYPE_CHECKING:
    from .callstate import CallState, Decision
    from .errors import TuyaError
    from .routes import Call

__all__ = [
    "AttemptEvent",
    "CallEvent",
    "Event",
    "Hook",
    "RateLimitWaitEvent",
    "RetryReason",
    "TokenEvent",
    "attempt_event",
    "call_event",
    "emit",
    "last_call",
    "remember",
]

logger: logging.Logger = logging.getLogger("tuyaio")

RetryReason = Literal["transport", "server_error", "rate_limit", "token", "clock"]
"""Why an attempt was followed by another."""


@attrs.frozen(kw_only=True)
class AttemptEvent:
    """One attempt, as it ended. ``retry`` says why another attempt follows (``None``: none)."""

    method: str
    route: str
    path_args: Mapping[str, str]
    attempt: int
    http_status: int | None
    code: int | None
    tid: str | None
    elapsed_s: float
    retry: RetryReason | None
    retry_in_s: float = 0.0


@attrs.frozen(kw_only=True)
class CallEvent:
    """One call, as it ended: its result's metadata, or the error it raised (``error``, the
    exception's class name)."""

    method: str
    route: str
    path_args: Mapping[str, str]
    attempts: int
    elapsed_s: float
    http_status: int | None
    code: int | None
    tid: str | None
    server_time: datetime | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.error is None


@attrs.frozen(kw_only=True)
class TokenEvent:
    """A token was fetched: ``kind`` is ``"grant"`` (a new one) or ``"refresh"``."""

    kind: Literal["grant", "refresh"]
    elapsed_s: float


@attrs.frozen(kw_only=True)
class RateLimitWaitEvent:
    """A call waited for its turn; ``limiter``: ``"adaptive"`` or ``"client"`` (``rate_limit=``)."""

    method: str
    route: str
    limiter: Literal["adaptive", "client"]
    waited_s: float


Event = AttemptEvent | CallEvent | TokenEvent | RateLimitWaitEvent
"""Everything a hook can receive."""

Hook = Callable[[Event], object]
"""A callable that observes events; what it returns is ignored, what it raises is logged."""

_LAST_CALL: ContextVar[CallEvent | Callable[[], CallEvent] | None] = ContextVar(
    "tuyaio_last_call", default=None
)


def last_call() -> CallEvent | None:
    """The call this task finished last, successful or not; ``None`` before the first."""
    last = _LAST_CALL.get()
    if last is None or isinstance(last, CallEvent):
        return last
    event = last()
    _LAST_CALL.set(event)
    return event


def remember(make: Callable[[], CallEvent]) -> None:
    """Keep the call just finished for :func:`last_call`, built only if it is asked for."""
    _LAST_CALL.set(make)


def emit(hooks: Sequence[Hook], event: Event) -> None:
    """Hand ``event`` to every hook; one that raises is logged and skipped."""
    if isinstance(event, CallEvent):
        _LAST_CALL.set(event)
    for hook in hooks:
        try:
            hook(event)
        except Exception:
            logger.warning(
                "a tuyaio hook raised on %s; ignored", type(event).__name__, exc_info=True
            )


def attempt_event(
    call: Call, error: TuyaError, state: CallState, decision: Decision, now: float
) -> AttemptEvent:
    """The event of ``call``'s latest attempt, which failed with ``error``."""
    return AttemptEvent(
        method=call.method,
        route=call.route,
        path_args={} if call.secret_path else call.path_args,
        attempt=state.attempts,
        http_status=getattr(error, "http_status", None),
        code=getattr(error, "code", None),
        tid=getattr(error, "tid", None),
        elapsed_s=now - (state.sent_at or state.started),
        retry=decision.reason,
        retry_in_s=decision.delay,
    )


def call_event(
    method: str,
    route: str,
    path_args: Mapping[str, str],
    attempts: int,
    elapsed: float,
    t: int | None,
    tid: str | None,
    error: TuyaError | None,
) -> CallEvent:
    """The event of a finished call: its result's metadata, or its error."""
    return CallEvent(
        method=method,
        route=route,
        path_args=path_args,
        attempts=attempts,
        elapsed_s=elapsed,
        http_status=200 if error is None else getattr(error, "http_status", None),
        code=getattr(error, "code", None),
        tid=tid,
        server_time=None if t is None else from_ms(t),
        error=None if error is None else type(error).__name__,
    )
