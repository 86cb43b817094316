"""Converters for argparse ``type=``: each turns a string into a value or says what is wrong.

A bad value becomes an argparse usage error (exit code 2) before anything is sent.
"""

from __future__ import annotations

import math
import re
from argparse import ArgumentTypeError
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import TypeVar

from ..models import RoomDevices
from ..sandbox.config import FAULT_KINDS
from ..validation import MAX_PREFETCH

__all__ = [
    "comma_list",
    "enum_list",
    "enum_names",
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

N = TypeVar("N", int, float)
E = TypeVar("E", bound=Enum)
T = TypeVar("T")

_ID = re.compile(r"[A-Za-z0-9_-]+")


def _ranged(kind: Callable[[str], N], low: float, high: float, what: str) -> Callable[[str], N]:
    """A converter to ``kind`` that accepts finite values from ``low`` to ``high``."""

    def convert(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            raise ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return convert


positive_int: Callable[[str], int] = _ranged(int, 1, math.inf, "1 or more")
non_negative_int: Callable[[str], int] = _ranged(int, 0, math.inf, "0 or more")
port: Callable[[str], int] = _ranged(int, 0, 65535, "a port from 0 to 65535")
prefetch: Callable[[str], int] = _ranged(int, 0, MAX_PREFETCH, f"from 0 to {MAX_PREFETCH}")
finite_float: Callable[[str], float] = _ranged(float, -math.inf, math.inf, "a finite number")
positive_float: Callable[[str], float] = _ranged(
    float, math.ulp(0.0), math.inf, "a finite number above 0"
)
non_negative_float: Callable[[str], float] = _ranged(
    float, 0, math.inf, "a finite number of 0 or more"
)
probability: Callable[[str], float] = _ranged(float, 0, 1, "between 0 and 1")


def id_text(text: str) -> str:
    """An ID: letters, digits, ``_`` and ``-``."""
    if not _ID.fullmatch(text):
        raise ArgumentTypeError(f"must be letters, digits, '_' or '-', got {text!r}")
    return text


def iso_datetime(text: str) -> datetime:
    """An ISO 8601 time such as ``2024-05-01T08:00:00+02:00``; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ArgumentTypeError(
            f"expected an ISO 8601 time like 2024-05-01T08:00:00Z, got {text!r}"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def comma_list(
    members: dict[str, T], expected: str, name: str = "LIST"
) -> Callable[[str], tuple[T, ...]]:
    """A converter for a comma-separated list of keys of ``members`` (any case, ``-`` or ``_``)."""

    def convert(text: str) -> tuple[T, ...]:
        tokens = [t.strip().upper().replace("-", "_") for t in text.split(",") if t.strip()]
        if not tokens or any(token not in members for token in tokens):
            raise ArgumentTypeError(f"got {text!r}; expected some of {expected}")
        return tuple(members[token] for token in tokens)

    convert.__name__ = name
    return convert


def enum_names(enum: type[Enum]) -> str:
    """The members of ``enum`` as the command line names them: ``not-authorized (0), …``."""
    return ", ".join(f"{m.name.lower().replace('_', '-')} ({m.value})" for m in enum)


def enum_list(enum: type[E]) -> Callable[[str], tuple[E, ...]]:
    """A comma-separated list of members of ``enum``, by name or value."""
    members = {key: m for m in enum for key in (m.name, str(m.value))}
    return comma_list(members, enum_names(enum), enum.__name__)


fault_kinds: Callable[[str], tuple[str, ...]] = comma_list(
    {kind.upper(): kind for kind in FAULT_KINDS}, ", ".join(sorted(FAULT_KINDS))
)
"""A comma-separated list of sandbox fault kinds (``http-503`` or ``http_503``)."""


def room_spec(text: str) -> RoomDevices:
    """``ROOM_ID=DEV1,DEV2``: a room and the devices in it."""
    room, sep, devices = text.partition("=")
    ids = [room.strip(), *(device.strip() for device in devices.split(",") if device.strip())]
    if not sep or len(ids) < 2 or not all(_ID.fullmatch(value) for value in ids):
        raise ArgumentTypeError(f"expected ROOM_ID=DEVICE_ID[,DEVICE_ID...], got {text!r}")
    return RoomDevices(room_id=ids[0], device_ids=tuple(ids[1:]))
