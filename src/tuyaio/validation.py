"""Checks on caller input where it enters, before any I/O; each error names the argument.

Only what protects the wire and the user's data: IDs, aware datetimes, page bounds, enum values,
unique entries, finite numbers, real bools where truthiness is unsafe. mypy covers the rest.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

__all__ = [
    "MAX_PREFETCH",
    "check_aware",
    "check_bool",
    "check_count",
    "check_enum_values",
    "check_id",
    "check_ids",
    "check_int",
    "check_number",
    "check_optional_bool",
    "check_optional_text",
    "check_page",
    "check_page_size",
    "check_positive_number",
    "check_unique",
    "field_check",
]

MAX_PREFETCH = 64
"""The most pages a listing may request ahead of its consumer."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MAX_DIGITS = 18
"""The longest decimal string read as an enum value (a Java ``long`` has 19 digits)."""
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
E = TypeVar("E", bound=Enum)
H = TypeVar("H", bound=Hashable)


def check_id(name: str, value: object) -> str:
    """An ID that is safe as a URL path segment: a non-empty string of ``[A-Za-z0-9_-]``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not _SAFE_SEGMENT.fullmatch(value):
        raise ValueError(
            f"{name} must be a non-empty string of letters, digits, '_' and '-', got {value!r}"
        )
    return value


def check_ids(name: str, values: object, *, unique: bool = False) -> tuple[str, ...]:
    """A non-empty list (not a lone str) of non-empty string IDs; with ``unique``, no repeats."""
    if isinstance(values, (str, bytes, bytearray, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of str, got {type(values).__name__}")
    ids = tuple(values)
    for index, value in enumerate(ids):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}[{index}] must be a non-empty string, got {value!r}")
    if not ids:
        raise ValueError(f"{name} must not be empty")
    return check_unique(name, ids) if unique else ids


def check_unique(name: str, values: tuple[H, ...]) -> tuple[H, ...]:
    """``values`` with no value listed twice."""
    seen: set[H] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{name} lists {value!r} more than once")
        seen.add(value)
    return values


def check_int(name: str, value: object) -> int:
    """An ``int`` (a ``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def check_bool(name: str, value: object) -> bool:
    """A ``bool`` (not merely something truthy)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def check_optional_bool(name: str, value: object) -> bool | None:
    """A ``bool`` or ``None``."""
    return None if value is None else check_bool(name, value)


def check_optional_text(name: str, value: object) -> str | None:
    """``None`` (not given) or a str that is not blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be blank (pass None to leave it out)")
    return value


def check_number(name: str, value: object) -> float:
    """A finite real number; not a bool."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def check_positive_number(name: str, value: object, *, minimum: float = 0.0) -> float:
    """A finite real number above 0 (or at least ``minimum`` when that is above 0); not a bool."""
    number = check_number(name, value)
    if number <= 0 or number < minimum:
        bound = f">= {minimum:g}" if minimum > 0 else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def check_count(name: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """An int of at least ``minimum`` (and at most ``maximum``, when given)."""
    number = check_int(name, value)
    if number < minimum or (maximum is not None and number > maximum):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return number


def check_page(name: str, value: object) -> int:
    """A page number, 1 or more."""
    return check_count(name, value, minimum=1)


def check_page_size(name: str, value: object, maximum: int) -> int:
    """A page size between 1 and ``maximum``."""
    return check_count(name, value, minimum=1, maximum=maximum)


def check_aware(name: str, value: object) -> datetime:
    """A timezone-aware ``datetime``, not before 1970 (it is sent as epoch milliseconds)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. datetime.now(UTC)), got {value!r}")
    if value < _EPOCH:
        raise ValueError(f"{name} must not be before 1970-01-01T00:00:00Z, got {value!r}")
    return value


def check_enum_values(
    name: str, values: object, enum: type[E], *, digit_strings: bool = False
) -> tuple[E, ...]:
    """A non-empty list of members of ``enum`` (or of its plain values, unknown ones included);
    one value alone stands for a list of one. With ``digit_strings``, an int enum's values may
    also come as decimal strings (``"0"``, what a web form or query string gives a filter)."""
    if isinstance(values, Mapping):
        raise TypeError(f"{name} must be {enum.__name__} values or a list of them, got a mapping")
    if isinstance(values, (str, bytes, bytearray)) or not isinstance(values, Iterable):
        values = (values,)
    members = tuple(_member(name, value, enum, digit_strings) for value in values)
    if not members:
        raise ValueError(f"{name} must not be empty")
    return members


def _member(name: str, value: object, enum: type[E], digit_strings: bool) -> E:
    if isinstance(value, enum):
        value = value.value
    elif (
        digit_strings
        and issubclass(enum, int)
        and isinstance(value, str)
        and 0 < len(value) <= _MAX_DIGITS
        and value.isascii()
        and value.isdigit()
    ):
        value = int(value)
    elif isinstance(value, (bool, Enum)) or not isinstance(
        value, int if issubclass(enum, int) else str
    ):
        raise TypeError(f"{name} must hold {enum.__name__} values, got {value!r}")
    try:
        return enum(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is out of range for {enum.__name__}") from None


def field_check(check: Callable[[str, Any], object]) -> Callable[[object, Any, Any], None]:
    """An attrs validator that runs one of these checks with the field's name."""

    def validate(_instance: object, attribute: Any, value: Any) -> None:
        check(attribute.name, value)

    return validate
