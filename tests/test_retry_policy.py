"""The retry decision: a pure function of attempt, error, idempotency and a random draw."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuyaio import (
    ApiError,
    ConnectError,
    InvalidParameterError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    SignatureError,
    TransportError,
    UnexpectedResponseError,
)
from tuyaio.retry import is_outcome_unknown

POLICY = RetryPolicy()
OUTCOME_UNKNOWN = [
    TransportError(detail="reset"),
    RequestTimeoutError(detail="slow"),
    ServerError(code=500),
    ServerError(http_status=502),
    UnexpectedResponseError(detail="html"),
]
NOTHING_HAPPENED = [RateLimitedError(code=1199), RateLimitedError(http_status=429), ConnectError()]
NEVER = [
    SignatureError(code=1004),
    PermissionDeniedError(code=1106),
    InvalidParameterError(code=1101),
    QuotaExceededError(code=28841002),
    ApiError(code=1113),
    ApiError(code=2001),
]


@pytest.mark.parametrize("error", OUTCOME_UNKNOWN)
def test_outcome_unknown_is_retried_only_when_idempotent(error: Exception) -> None:
    assert POLICY.delay(0, error, idempotent=True, rand=0.0) == pytest.approx(0.25)
    assert POLICY.delay(0, error, idempotent=False, rand=0.0) is None


@pytest.mark.parametrize("error", NOTHING_HAPPENED)
def test_rejected_before_processing_is_retried_even_for_creates(error: Exception) -> None:
    assert POLICY.delay(0, error, idempotent=False, rand=0.0) is not None


@pytest.mark.parametrize("error", NEVER)
def test_caller_and_quota_errors_are_never_retried(error: Exception) -> None:
    assert POLICY.delay(0, error, idempotent=True, rand=0.0) is None


def test_backoff_doubles_and_is_capped_and_gives_up_after_max_retries() -> None:
    error = ServerError(http_status=503)
    delays = [POLICY.delay(n, error, idempotent=True, rand=0.0) for n in range(6)]
    assert delays == [0.25, 0.5, 1.0, 2.0, None, None]
    capped = RetryPolicy(max_retries=10, max_delay=3.0)
    assert capped.delay(9, error, idempotent=True, rand=0.0) == 3.0


def test_an_envelope_500_is_retried_twice_at_most_and_a_create_never() -> None:
    # Tuya answers 500 for every failure, a bad ID included: repeating it is mostly wasted.
    error = ServerError(code=500, http_status=200)
    delays = [POLICY.delay(n, error, idempotent=True, rand=0.0) for n in range(4)]
    assert delays == [0.25, 0.5, None, None]
    assert POLICY.delay(0, error, idempotent=False, rand=0.0) is None


def test_retry_after_is_waited_for_in_full_up_to_max_retry_after_then_gives_up() -> None:
    assert POLICY.delay(0, RateLimitedError(retry_after=5.0), idempotent=True, rand=0.0) == 5.0
    assert POLICY.delay(0, RateLimitedError(retry_after=30.0), idempotent=True, rand=0.0) == 30.0
    assert POLICY.delay(0, RateLimitedError(retry_after=61.0), idempotent=True, rand=0.0) is None
    short = RetryPolicy(max_retry_after=2)
    assert short.delay(0, RateLimitedError(retry_after=3.0), idempotent=False, rand=0.0) is None


def test_a_4xx_page_was_refused_before_processing_but_a_garbled_200_may_not_have_been() -> None:
    refused = UnexpectedResponseError(http_status=404)
    assert not is_outcome_unknown(refused)
    assert POLICY.delay(0, refused, idempotent=True, rand=0.0) is None
    assert is_outcome_unknown(UnexpectedResponseError(http_status=200))
    assert is_outcome_unknown(UnexpectedResponseError())


def test_retries_can_be_turned_off() -> None:
    assert RetryPolicy(max_retries=0).delay(0, ServerError(), idempotent=True, rand=0.5) is None


@given(attempt=st.integers(0, 3), rand=st.floats(0, 1, exclude_max=True))
def test_jitter_shortens_by_at_most_the_jitter_fraction(attempt: int, rand: float) -> None:
    delay = POLICY.delay(attempt, ServerError(), idempotent=True, rand=rand)
    full = min(8.0, 0.25 * 2**attempt)
    assert delay is not None
    assert full * 0.75 <= delay <= full


def test_policy_is_frozen_and_validated() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        POLICY.max_retries = 9  # type: ignore[misc]
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=2)
    with pytest.raises(TypeError, match="max_retries"):
        RetryPolicy(max_retries=True)
    with pytest.raises(ValueError, match="max_delay"):
        RetryPolicy(max_delay=float("inf"))
    with pytest.raises(TypeError, match="base_delay"):
        RetryPolicy(base_delay="1")  # type: ignore[arg-type]
