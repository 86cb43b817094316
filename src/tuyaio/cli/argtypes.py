"""Converters for argparse ``type=``: each turns a string into a value or says what is wrong.

A bad value becomes an argparse usage error (exit code 2) before anything is sent.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import TypeVar

from ..validation import MAX_PREFETCH

__all__ = [
    "FAULT_KIND_NAMES",
    "enum_list",
    "enum_one",
    "fault_kinds",
    "finite_float",
    "id_text",
    "iso_datetime",
    "non_negative_float",
    "non_negative_int",
    "port",
    "positive_float",
    "positive_int",
    "prefetch",
    "probability",
    "room_spec",
]

E = TypeVar("E", bound=Enum)

_ID = re.compile(r"[A-Za-z0-9_-]+")


def _fail(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        raise _fail(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
        ) from None


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    value = int(_number(text, int))
    if value < 1:
        raise _fail(f"must be 1 or more, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0."""
    value = int(_number(text, int))
    if value < 0:
        raise _fail(f"must be 0 or more, got {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: any free port)."""
    value = int(_number(text, int))
    if not 0 <= value <= 65535:
        raise _fail(f"must be a port from 0 to 65535, got {text!r}")
    return value


def prefetch(text: str) -> int:
    """Pages to request ahead: 0 to :data:`tuyaio.validation.MAX_PREFETCH`."""
    value = int(_number(text, int))
    if not 0 <= value <= MAX_PREFETCH:
        raise _fail(f"must be from 0 to {MAX_PREFETCH}, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """Any finite number (not nan, not inf)."""
    value = _number(text, float)
    if not math.isfinite(value):
        raise _fail(f"must be a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A number above 0."""
    value = _number(text, float)
    if not value > 0 or value != value or value == float("inf"):
        raise _fail(f"must be a number above 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number of at least 0."""
    value = _number(text, float)
    if not 0 <= value < float("inf"):
        raise _fail(f"must be a number of 0 or more, got {text!r}")
    return value


def probability(text: str) -> float:
    """A number from 0 to 1."""
    value = _number(text, float)
    if not 0 <= value <= 1:
        raise _fail(f"must be between 0 and 1, got {text!r}")
    return value


def id_text(text: str) -> str:
    """An ID: letters, digits, ``_`` and ``-``."""
    if not _ID.fullmatch(text):
        raise _fail(f"must be letters, digits, '_' or '-', got {text!r}")
    return text


def iso_datetime(text: str) -> datetime:
    """An ISO 8601 time such as ``2024-05-01T08:00:00+02:00``; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _fail(f"expected an ISO 8601 time like 2024-05-01T08:00:00Z, got {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _member(enum: type[E], token: str) -> E:
    token = token.strip()
    key = token.upper().replace("-", "_").replace(" ", "_")
    for member in enum:
        if member.name == key or str(member.value) == token:
            return member
    names = ", ".join(f"{m.name.lower().replace('_', '-')} ({m.value})" for m in enum)
    raise _fail(f"{token!r} is not one of {names}")


def enum_one(enum: type[E]) -> Callable[[str], E]:
    """A converter for one member of ``enum``, by name (any case, ``-`` or ``_``) or value."""

    def convert(text: str) -> E:
        return _member(enum, text)

    convert.__name__ = enum.__name__
    return convert


def enum_list(enum: type[E]) -> Callable[[str], tuple[E, ...]]:
    """A converter for a comma-separated list of members of ``enum`` (names or values)."""

    def convert(text: str) -> tuple[E, ...]:
        tokens = [token for token in text.split(",") if token.strip()]
        if not tokens:
            raise _fail("expected at least one value")
        return tuple(_member(enum, token) for token in tokens)

    convert.__name__ = enum.__name__
    return convert


FAULT_KIND_NAMES = (
    "envelope_500",
    "http_502",
    "http_503",
    "http_429",
    "rate_limit",
    "abort_after",
    "slow",
)
"""``tuyaio.sandbox.FAULT_KINDS`` in a stable order (parsing a flag need not import the sandbox)."""


def fault_kinds(text: str) -> frozenset[str]:
    """A comma-separated list of sandbox fault kinds (``http-503`` or ``http_503``)."""
    kinds = frozenset(
        token.strip().lower().replace("-", "_") for token in text.split(",") if token.strip()
    )
    unknown = sorted(kinds - set(FAULT_KIND_NAMES))
    if not kinds or unknown:
        shown = ", ".join(unknown) if unknown else "nothing"
        raise _fail(f"got {shown}; expected some of {', '.join(FAULT_KIND_NAMES)}")
    return kinds


def room_spec(text: str) -> tuple[str, tuple[str, ...]]:
    """``ROOM_ID=DEV1,DEV2``: a room and the devices in it."""
    room, sep, devices = text.partition("=")
    device_ids = tuple(d.strip() for d in devices.split(",") if d.strip())
    if not sep or not device_ids:
        raise _fail(f"expected ROOM_ID=DEVICE_ID[,DEVICE_ID...], got {text!r}")
    for value in (room.strip(), *device_ids):
        id_text(value)
    return room.strip(), device_ids
