"""The per-call decisions, table-driven, without I/O: what comes after each failure, and the error
a call finally raises."""

from __future__ import annotations

import pytest

from tuyaio import (
    ClientClosedError,
    ConnectError,
    InvalidParameterError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    TokenInvalidError,
    TuyaError,
)
from tuyaio.callstate import CallState, is_refusal
from tuyaio.errors import ClockSkewError
from tuyaio.options import Timeout
from tuyaio.retry import Action, RetryBudget
from tuyaio.routes import Route

READ = Route("GET", "/v1.0/x/{x_id}").build({"x_id": "1"})
CREATE = Route("POST", "/v1.0/x").build(body={"a": 1}, identifiers={"a": "1"})
ACTION = Route("POST", "/v1.0/x/{x_id}/go", idempotent=True).build({"x_id": "1"})
POLICY = RetryPolicy(base_delay=1.0, jitter=0, deadline=10)
LIMITS = Timeout(total=4, connect=2)


def state(call=READ, policy=POLICY) -> CallState:  # type: ignore[no-untyped-def]
    return CallState(call, policy, LIMITS, started=100.0)


def failed(s: CallState, error: TuyaError, now: float = 100.0, **kwargs: bool) -> Action:
    s.sending(now, 1_000)
    return s.decide(error, now, sent_token=True, **kwargs).action


@pytest.mark.parametrize(
    ("call", "error", "action"),
    [
        (READ, RequestTimeoutError(), Action.RETRY),
        (READ, ServerError(http_status=503), Action.RETRY),
        (READ, InvalidParameterError(code=1109), Action.GIVE_UP),
        (READ, TokenInvalidError(code=1010), Action.RENEW_TOKEN),
        (READ, ClockSkewError(code=1013, server_time_ms=5), Action.CORRECT_CLOCK),
        (READ, ClockSkewError(code=1013), Action.GIVE_UP),
        (CREATE, RequestTimeoutError(), Action.GIVE_UP),
        (CREATE, RateLimitedError(code=1199), Action.RETRY),
        (CREATE, ConnectError(), Action.RETRY),
        (CREATE, ServerError(code=500), Action.GIVE_UP),
        (ACTION, RequestTimeoutError(), Action.RETRY),
    ],
)
def test_the_first_failure_decides(call, error: TuyaError, action: Action) -> None:  # type: ignore[no-untyped-def]
    assert failed(state(call), error, can_reconcile=True) is action


def test_a_refusal_is_reconciled_only_after_an_attempt_that_may_have_acted() -> None:
    s = state(ACTION)
    assert failed(s, InvalidParameterError(code=1109), can_reconcile=True) is Action.GIVE_UP
    s = state(ACTION)
    assert failed(s, ConnectError(), can_reconcile=True) is Action.RETRY  # nothing was sent
    assert failed(s, NotFoundError(code=1106), can_reconcile=True) is Action.GIVE_UP
    s = state(ACTION)
    assert failed(s, RequestTimeoutError(), can_reconcile=True) is Action.RETRY
    assert failed(s, ServerError(http_status=503), can_reconcile=True) is Action.RETRY
    assert failed(s, NotFoundError(code=1106), can_reconcile=True) is Action.RECONCILE


@pytest.mark.parametrize(
    ("error", "refusal"),
    [
        (InvalidParameterError(code=1109), True),
        (NotFoundError(code=1106), True),
        (ServerError(code=500), False),
        (RateLimitedError(code=1199), False),
        (TokenInvalidError(code=1010), False),
        (RequestTimeoutError(), False),
    ],
)
def test_what_counts_as_a_refusal(error: TuyaError, refusal: bool) -> None:
    assert is_refusal(error) is refusal


def test_no_retry_is_planned_past_the_deadline() -> None:
    s = state()
    assert failed(s, RequestTimeoutError(), now=108.5) is Action.RETRY  # 1 s back-off, 1.5 s left
    assert failed(s, RequestTimeoutError(), now=108.5) is Action.GIVE_UP  # 2 s back-off


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (100.0, Timeout(total=4, connect=2)),
        (107.0, Timeout(total=3, connect=2)),
        (109.5, Timeout(total=0.5, connect=0.5)),
        (110.0, None),
        (111.0, None),
    ],
)
def test_an_attempts_limits_never_reach_past_the_deadline(
    now: float, expected: Timeout | None
) -> None:
    assert state().attempt_timeout(now) == expected


def test_without_a_deadline_the_limits_are_the_policys() -> None:
    s = state(policy=RetryPolicy(deadline=None))
    assert s.left(1e9) is None
    assert s.attempt_timeout(1e9) == LIMITS


@pytest.mark.parametrize(
    ("call", "error", "unknown"),
    [
        (CREATE, RequestTimeoutError(), True),
        (CREATE, ClientClosedError(in_flight=True), True),
        (CREATE, ClientClosedError(in_flight=False), False),
        (CREATE, InvalidParameterError(code=1109), False),
        (CREATE, ConnectError(), False),
        (READ, RequestTimeoutError(), False),
    ],
)
def test_the_final_error_of_a_create_that_may_have_acted_is_outcome_unknown(
    call,
    error: TuyaError,
    unknown: bool,  # type: ignore[no-untyped-def]
) -> None:
    s = state(call)
    s.sending(100.0, 1_000)
    s.decide(error, 101.0, sent_token=True)
    final = s.final(error, 101.25, 2_000, uncertainty_ms=7)
    assert isinstance(final, OutcomeUnknownError) is unknown
    assert final.attempts == 1
    assert final.elapsed_s == 1.25
    if isinstance(final, OutcomeUnknownError):
        assert (final.first_sent_ms, final.last_sent_ms) == (993, 2_007)
        assert final.identifiers == {"a": "1"}


def test_an_error_before_sending_is_never_outcome_unknown() -> None:
    s = state(CREATE)
    final = s.final(s.expired(), 111.0, 2_000)
    assert isinstance(final, RequestTimeoutError)
    assert final.attempts == 0


def test_the_budget_renews_the_token_and_corrects_the_clock_once_each() -> None:
    budget = RetryBudget(RetryPolicy(max_retries=1, jitter=0, base_delay=1))
    token, skew = TokenInvalidError(code=1010), ClockSkewError(code=1013, server_time_ms=1)
    decide = budget.decide
    assert decide(token, idempotent=True, sent_token=True, rand=0)[0] is Action.RENEW_TOKEN
    assert decide(skew, idempotent=True, sent_token=True, rand=0)[0] is Action.CORRECT_CLOCK
    assert decide(token, idempotent=True, sent_token=True, rand=0)[0] is Action.GIVE_UP
    assert decide(skew, idempotent=True, sent_token=True, rand=0)[0] is Action.GIVE_UP
    assert budget.attempts == 3
    assert decide(RequestTimeoutError(), idempotent=True, sent_token=True, rand=0) == (
        Action.RETRY,
        1.0,
    )
    assert decide(RequestTimeoutError(), idempotent=True, sent_token=True, rand=0)[0] is (
        Action.GIVE_UP
    )
    assert budget.attempts == 4


def test_a_token_refusal_without_a_token_sent_is_not_renewed() -> None:
    budget = RetryBudget(RetryPolicy(max_retries=0))
    action, _ = budget.decide(
        TokenInvalidError(code=1010), idempotent=True, sent_token=False, rand=0
    )
    assert action is Action.GIVE_UP
