"""Pieces shared by both families: the page of a listing and enums that survive unknown values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

import attrs

__all__ = ["FallbackEnum", "Page"]

T = TypeVar("T")

_UNKNOWN = "UNKNOWN"


class FallbackEnum:
    """Mix into an ``IntEnum``/``StrEnum`` so an undocumented value decodes instead of failing.

    ``Status("NEW_THING")`` gives a member named ``UNKNOWN`` whose ``value`` is the raw
    ``"NEW_THING"``; it equals that raw value and no documented member; ``is_known`` is False.
    An int enum also reads a decimal string, a str enum an int (as its decimal text: a status
    sent as ``2`` is the unknown ``"2"``).
    """

    _name_: str

    @classmethod
    def _missing_(cls, value: object) -> Any:
        base: Any = int if issubclass(cls, int) else str
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            return None  # not a value any server sends: a broken answer
        if base is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return cls(int(value))  # type: ignore[call-arg]
        if base is str and isinstance(value, int) and not isinstance(value, bool):
            return cls(str(value))  # type: ignore[call-arg]  # a status sent as a number
        if isinstance(value, bool) or not isinstance(value, base):
            return None
        member: Any = base.__new__(cls, value)
        member._name_ = _UNKNOWN
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """False for a value the documentation does not list."""
        return self._name_ != _UNKNOWN


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a listing: its items, the listing's ``total``, and where the page stands."""

    items: tuple[T, ...]
    total: int
    page_no: int
    page_size: int

    @property
    def has_more(self) -> bool:
        """True when pages after this one hold more items."""
        return bool(self.items) and self.page_no * self.page_size < self.total

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
