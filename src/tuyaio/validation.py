"""Checks on caller input, run before any I/O; each error names the argument at fault."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TypeVar

__all__ = [
    "check_aware",
    "check_count",
    "check_enum_values",
    "check_id",
    "check_ids",
    "check_page",
    "check_page_size",
    "check_text",
]

_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
E = TypeVar("E", bound=Enum)


def check_id(name: str, value: object) -> str:
    """An ID that is safe as a URL path segment: a non-empty string of ``[A-Za-z0-9_-]``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not _SAFE_SEGMENT.fullmatch(value):
        raise ValueError(
            f"{name} must be a non-empty string of letters, digits, '_' and '-', got {value!r}"
        )
    return value


def check_ids(name: str, values: object) -> tuple[str, ...]:
    """A non-empty list of IDs (a lone string is refused: it would be iterated by character)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of str, got {type(values).__name__}")
    ids = tuple(check_id(f"{name}[{index}]", value) for index, value in enumerate(values))
    if not ids:
        raise ValueError(f"{name} must not be empty")
    return ids


def check_text(name: str, value: object) -> str:
    """A non-blank string."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def check_count(name: str, value: object, *, minimum: int) -> int:
    """An int of at least ``minimum``."""
    number = _check_int(name, value)
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return number


def check_page(name: str, value: object) -> int:
    """A page number, 1 or more."""
    return check_count(name, value, minimum=1)


def check_page_size(name: str, value: object, maximum: int) -> int:
    """A page size between 1 and ``maximum``."""
    number = _check_int(name, value)
    if not 1 <= number <= maximum:
        raise ValueError(f"{name} must be between 1 and {maximum}, got {value!r}")
    return number


def check_aware(name: str, value: object) -> datetime:
    """A timezone-aware ``datetime``."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. datetime.now(UTC)), got {value!r}")
    return value


def check_enum_values(name: str, values: object, enum: type[E]) -> tuple[E, ...]:
    """A non-empty list of documented members of ``enum`` (members or their plain values)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        values = (values,)
    members = tuple(_member(f"{name}", value, enum) for value in values)
    if not members:
        raise ValueError(f"{name} must not be empty")
    return members


def _member(name: str, value: object, enum: type[E]) -> E:
    known = {member.value: member for member in enum}
    if isinstance(value, bool) or (isinstance(value, Enum) and not isinstance(value, enum)):
        raise TypeError(f"{name} must hold {enum.__name__} values, got {value!r}")
    try:
        return known[value.value if isinstance(value, Enum) else value]
    except (KeyError, TypeError):
        choices = ", ".join(f"{member.value!r} ({member.name})" for member in enum)
        raise ValueError(
            f"{name}: {value!r} is not a known {enum.__name__}; use one of {choices}"
        ) from None
