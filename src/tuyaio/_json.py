"""Parsing response bodies: orjson when it is installed (``tuyaio[speedups]``), else the stdlib.

The answer is always the one :func:`json.loads` gives, value or error. orjson only reads bodies it
reads the same way: a body with a run of 20 digits (or a minus sign and 19) goes to the stdlib,
since orjson turns integers beyond 64 bits into floats or refuses them, depending on its version;
and every body orjson refuses (NaN and Infinity, lone surrogates, a byte order mark, UTF-16 and
UTF-32, invalid UTF-8, …) is read again by the stdlib, whose answer is then the one given.

:func:`read` skips the scan for wide integers, which costs as much as orjson's own parse: it serves
the answers decoded into models, where no field takes a float, so an integer that orjson turned
into one fails the decoding, and the body is then read again exactly (:meth:`Envelope.decode
<tuyaio.envelope.Envelope.decode>`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["loads", "may_differ", "read"]

_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_WIDE_INTEGERS = (b"0" * 20, b"-" + b"0" * 19)
_EDGES = b"[9999999999999999999, 18446744073709551615, -9223372036854775808, 1e308, -0.0]"


def _orjson_or_none() -> Callable[[bytes], Any] | None:
    """``orjson.loads`` if it is installed and keeps integers up to 64 bits exact."""
    try:
        import orjson
    except ImportError:
        return None
    orjson_loads: Callable[[bytes], Any] = orjson.loads
    return orjson_loads if repr(orjson_loads(_EDGES)) == repr(json.loads(_EDGES)) else None


_orjson_loads = _orjson_or_none()


def _may_hold_wide_integers(data: bytes) -> bool:
    digits = data.translate(_DIGITS_TO_ZERO)
    return any(run in digits for run in _WIDE_INTEGERS)


def may_differ(data: bytes) -> bool:
    """True when :func:`read` may have read ``data`` otherwise than :func:`loads` does."""
    return _orjson_loads is not None and _may_hold_wide_integers(data)


def read(data: bytes) -> tuple[Any, bool]:
    """The JSON document in ``data`` and whether it is exactly what :func:`loads` gives.

    When the second value is False, an integer beyond 64 bits in ``data`` (see :func:`may_differ`)
    may have become a float; anything else is as :func:`loads` reads it, errors included.
    """
    if _orjson_loads is not None:
        try:
            return _orjson_loads(data), False
        except ValueError:
            pass
    return json.loads(data), True


def loads(data: bytes) -> Any:
    """The JSON document in ``data``, exactly as :func:`json.loads` reads it."""
    if _orjson_loads is not None and not _may_hold_wide_integers(data):
        try:
            return _orjson_loads(data)
        except ValueError:  # orjson.JSONDecodeError: the stdlib reads it or raises its own error
            pass
    return json.loads(data)
