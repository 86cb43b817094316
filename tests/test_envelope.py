"""The envelope decoder: every input gives an Envelope or one of tuyaio's own errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuyaio import (
    ApiError,
    ClockSkewError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    SignatureError,
    TuyaError,
    UnexpectedResponseError,
)
from tuyaio.envelope import excerpt, parse_envelope, parse_retry_after

ROUTE = "/v1.0/osaas/projects/{project_id}/maintenance/tasks"


def parse(body: bytes | str, status: int = 200, retry_after: str | None = None) -> object:
    raw = body.encode() if isinstance(body, str) else body
    return parse_envelope(
        status=status, body=raw, method="GET", route=ROUTE, retry_after=retry_after
    )


def test_success_returns_result_time_and_tid() -> None:
    envelope = parse('{"success": true, "result": {"a": 1}, "t": 1600000000000, "tid": "x1"}')
    assert envelope == type(envelope)(result={"a": 1}, t=1600000000000, tid="x1")


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        (1004, SignatureError),
        (1013, ClockSkewError),
        (1106, PermissionDeniedError),
        (1000, NotFoundError),
        (1108, NotFoundError),
        (1199, RateLimitedError),
        (28841002, QuotaExceededError),
        (500, ServerError),
        (1113, ApiError),
        (424242, ApiError),
    ],
)
def test_error_codes_map_to_types_with_code_msg_tid_and_route(
    code: int, error_type: type[ApiError]
) -> None:
    t = 1_700_000_000_000
    body = json.dumps({"success": False, "code": code, "msg": "nope", "t": t, "tid": "abc"})
    with pytest.raises(error_type) as caught:
        parse(body)
    error = caught.value
    assert type(error) is error_type
    assert (error.code, error.msg, error.tid, error.server_time_ms) == (code, "nope", "abc", t)
    assert (error.method, error.route) == ("GET", ROUTE)
    assert f"code {code}" in str(error)
    assert "abc" in str(error)
    assert ROUTE in str(error)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_html_is_a_server_error(status: int) -> None:
    with pytest.raises(ServerError) as caught:
        parse("<html><body><h1>Bad Gateway</h1></body></html>", status=status)
    assert caught.value.http_status == status
    assert caught.value.code is None


def test_http_429_is_rate_limited_with_retry_after() -> None:
    with pytest.raises(RateLimitedError) as caught:
        parse("slow down", status=429, retry_after="3")
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("value", "date", "seconds"),
    [
        ("120", None, 120.0),
        ("Mon, 23 Nov 2026 10:00:30 GMT", "Mon, 23 Nov 2026 10:00:00 GMT", 30.0),
        ("Mon, 23 Nov 2026 09:59:00 GMT", "Mon, 23 Nov 2026 10:00:00 GMT", 0.0),
        ("Mon, 23 Nov 2026 10:00:30 GMT", None, None),
        ("inf", None, None),
        ("nan", None, None),
        ("-1", None, None),
        ("soon", "Mon, 23 Nov 2026 10:00:00 GMT", None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date_relative_to_the_servers_date(
    value: str, date: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(value, date) == seconds


@pytest.mark.parametrize(
    "body",
    ["<html>oops</html>", "", "[1, 2]", '{"result": 1}', '{"success": "yes"}', "{trunc", "null"],
)
def test_not_an_envelope_is_unexpected_response(body: str) -> None:
    with pytest.raises(UnexpectedResponseError):
        parse(body)


def test_excerpt_redacts_tokens_and_is_short() -> None:
    raw = json.dumps({"access_token": "SECRET1", "refresh_token": "SECRET2", "pad": "x" * 5000})
    text = excerpt(raw.encode())
    assert "SECRET1" not in text
    assert "SECRET2" not in text
    assert len(text) <= 301
    truncated = '{"result": {"expire_time": 7200, "access_token": "SECRET3'
    assert "SECRET3" not in excerpt(truncated.encode())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_envelopes = st.fixed_dictionaries(
    {},
    optional={
        "success": st.booleans() | _json,
        "code": st.integers() | _json,
        "msg": st.text() | _json,
        "t": st.integers() | _json,
        "tid": st.text() | _json,
        "result": _json,
    },
)


@given(
    body=st.binary(max_size=300)
    | _json.map(lambda value: json.dumps(value).encode())
    | _envelopes.map(lambda value: json.dumps(value).encode())
    | _envelopes.map(lambda value: json.dumps(value).encode()[: len(json.dumps(value)) // 2]),
    status=st.sampled_from([200, 200, 200, 400, 404, 429, 500, 502, 503]),
)
def test_fuzz_any_bytes_give_an_envelope_or_a_tuyaio_error(body: bytes, status: int) -> None:
    try:
        envelope = parse(body, status=status)
    except TuyaError:
        return
    assert status == 200
    assert json.loads(body)["success"] is True
    assert envelope is not None
