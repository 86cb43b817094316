"""Bodies read the same with and without orjson (``tuyaio[speedups]``).

Every test here, and the envelope and model-decoding suites imported below, runs once with the
stdlib alone and once with orjson (skipped when orjson is not installed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tuyaio._json as tuyaio_json
from tests.test_envelope import *  # noqa: F403
from tests.test_models_decode import *  # noqa: F403
from tuyaio import DecodeError, Room, UnexpectedResponseError
from tuyaio._converter import decode
from tuyaio.envelope import parse_envelope

ORJSON_LOADS = tuyaio_json._orjson_loads


@pytest.fixture(autouse=True, scope="module", params=["stdlib", "orjson"])
def loader(request: pytest.FixtureRequest) -> Iterator[str]:
    """Which parser ``tuyaio._json.loads`` may use for the tests of this module."""
    if request.param == "orjson" and ORJSON_LOADS is None:
        pytest.skip("orjson is not installed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            tuyaio_json, "_orjson_loads", ORJSON_LOADS if request.param == "orjson" else None
        )
        yield request.param


def read(parse: Callable[[bytes], Any], body: bytes) -> tuple[Any, ...]:
    """A parse's value, told apart by type (``1``/``1.0``, ``0.0``/``-0.0``), or its error."""
    try:
        return ("ok", repr(parse(body)))
    except (ValueError, RecursionError) as error:
        return (type(error).__name__, str(error))


BODIES = [
    b'{"roomId": 123456789012345678901234567890}',
    b"[18446744073709551615, 18446744073709551616, 99999999999999999999, 9999999999999999999]",
    b"[-9223372036854775808, -9223372036854775809, -18446744073709551616]",
    b"123456789012345678901234567890.5",
    b'{"id": "12345678901234567890"}',
    b"[NaN, Infinity, -Infinity]",
    b"NaN",
    b'{"a": 1, "a": 2}',
    b'{"success": false, "success": true}',
    b'"\xff"',
    b'{"msg": "caf\xe9"}',
    b'"\xed\xa0\x80"',
    b'"\\ud800"',
    '{"a": "é"}'.encode("utf-16"),
    '{"a": "é"}'.encode("utf-32"),
    b'\xef\xbb\xbf{"a": 1}',
    b"[1e400, -1e400, 1e-400, -0.0, 0.1, 5e-324, 1.7976931348623157e308, 1E2]",
    b"",
    b"   ",
    b"{",
    b"[1,]",
    b'{"a": 1}x',
    b'"a\x1fb"',
    b"[01]",
]


@pytest.mark.parametrize("body", BODIES)
def test_a_body_reads_as_the_stdlib_reads_it(body: bytes) -> None:
    assert read(tuyaio_json.loads, body) == read(json.loads, body)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 3, max_value=2**64 + 3)
    | st.integers(min_value=-(2**63) - 3, max_value=-(2**63) + 3)
    | st.integers(min_value=10**18, max_value=10**40)
    | st.floats()
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(
    body=st.binary(max_size=200)
    | st.from_regex(rb"\A-?\d{1,19}(\.\d{1,19})?([eE][-+]?\d{1,3})?\Z")
    | st.tuples(json_values, st.booleans()).map(
        lambda pair: json.dumps(pair[0], ensure_ascii=pair[1]).encode("utf-8", "surrogatepass")
    )
)
def test_any_body_reads_as_the_stdlib_reads_it(body: bytes) -> None:
    assert read(tuyaio_json.loads, body) == read(json.loads, body)


def test_orjson_reads_plain_bodies(loader: str) -> None:
    if loader != "orjson":
        pytest.skip("orjson only")
    seen: list[bytes] = []

    def spy(data: bytes) -> Any:
        seen.append(data)
        assert ORJSON_LOADS is not None
        return ORJSON_LOADS(data)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tuyaio_json, "_orjson_loads", spy)
        assert tuyaio_json.loads(b'{"roomId": 1358619971592130000}') == {
            "roomId": 1358619971592130000
        }
        assert tuyaio_json.loads(b'{"roomId": 13586199715921300000}') == {
            "roomId": 13586199715921300000
        }
    assert seen == [b'{"roomId": 1358619971592130000}']


def envelope(body: bytes) -> Any:
    return parse_envelope(status=200, body=body, method="GET", route="/fixture")


@pytest.mark.parametrize("t", [b"NaN", b"1614828003226"])
def test_a_30_digit_id_and_a_duplicate_key_through_envelope_and_decode(t: bytes) -> None:
    body = (
        b'{"success": false, "success": true, "t": ' + t + b', "tid": "x", "result": '
        b'[{"roomId": 1, "roomId": 123456789012345678901234567890, "deviceCountOnline": 7}]}'
    )
    answer = envelope(body)
    assert (answer.t, answer.tid) == (None if t == b"NaN" else int(t), "x")
    rooms = answer.decode(rooms_of)
    assert rooms == (Room(room_id="123456789012345678901234567890", device_count_online=7),)


def rooms_of(result: Any) -> tuple[Room, ...]:
    rooms: tuple[Room, ...] = decode(result, tuple[Room, ...], method="GET", route="/fixture")
    return rooms


@pytest.mark.parametrize(
    "room",
    [
        b'{"roomId": 98765432109876543210}',
        b'{"roomId": -9876543210987654321}',
        b'{"roomId": "1", "deviceCountOnline": 98765432109876543210}',
        b'{"roomId": "1", "roomType": 98765432109876543210}',
        b'{"roomId": "1", "roomType": 9223372036854775808}',
        b'{"roomId": "1", "deviceCountOnline": 18446744073709551615}',
        b'{"roomId": 18446744073709551616.0}',
        b'{"roomId": "1", "other": 98765432109876543210}',
    ],
)
def test_a_wide_integer_decodes_as_the_stdlib_reads_it(room: bytes) -> None:
    """The fast read skips the scan for wide integers; the models come out as the stdlib's."""
    body = b'{"success": true, "t": 1614828003226, "result": [' + room + b"]}"
    assert outcome(lambda: envelope(body).decode(rooms_of)) == outcome(
        lambda: rooms_of(json.loads(body)["result"])
    )


def outcome(run: Callable[[], Any]) -> Any:
    """What ``run`` returns, or the errors of the ``DecodeError`` it raises."""
    try:
        return run()
    except DecodeError as error:
        return error.errors


def test_infinity_where_an_integer_belongs_is_the_same_decode_error() -> None:
    answer = envelope(
        b'{"success": true, "result": {"roomId": "1", "deviceCountOnline": Infinity}}'
    )
    with pytest.raises(DecodeError) as caught:
        decode(answer.result, Room, method="GET", route="/fixture")
    assert caught.value.errors == (
        "invalid value for type, expected int | None @ result.device_count_online",
    )


@pytest.mark.parametrize("body", [b'{"success": true, "result": "\xff"}', b"\xff", b"NaN"])
def test_invalid_utf8_and_bare_nan_are_not_envelopes(body: bytes) -> None:
    with pytest.raises(UnexpectedResponseError):
        envelope(body)


@pytest.mark.parametrize(
    "result",
    [b'{"id": 98765432109876543210, "n": [-9876543210987654321]}', b'{"id": 1}', b"null"],
)
def test_the_exact_result_is_the_stdlibs(result: bytes) -> None:
    """What ``request()`` and the token answer return: never a wide integer turned float."""
    body = b'{"success": true, "result": ' + result + b"}"
    assert read(lambda b: envelope(b).exact_result(), body) == read(json.loads, result)
