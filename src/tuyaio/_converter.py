"""The one cattrs converter between wire payloads and models, and every wire-format decision.

- Maintenance models (v1.0) speak snake_case, with the renames in ``_MAINTENANCE_NAMES``; the
  status comes from ``maintenance_status`` or, failing that, ``construction_status`` (§5).
- Construction models (v2.0) speak camelCase, derived from the attribute names, with the
  exceptions in ``_CONSTRUCTION_NAMES``.
- Timestamps are epoch milliseconds on the wire and timezone-aware UTC ``datetime`` here.
- IDs and other strings accept a JSON number and keep its exact decimal text.
- Missing list fields and ``null`` lists become empty tuples; unknown keys are ignored; unknown enum
  values are kept (see :class:`~tuyaio.models.FallbackEnum`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .envelope import excerpt
from .errors import DecodeError
from .models import construction, maintenance
from .models.common import FallbackEnum

__all__ = ["decode", "encode", "from_ms", "to_ms", "wire_name"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAINTENANCE_NAMES = {
    "status": "maintenance_status",
    "created_at": "gmt_create",
    "rooms": "room_device_relations",
}
_STATUS_FALLBACK_KEY = "construction_status"
_CONSTRUCTION_NAMES = {"room_names": "roomName"}
_FAMILIES = {maintenance.__name__, construction.__name__}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def wire_name(cls: type, attribute: str) -> str:
    """The key that carries ``attribute`` of model ``cls`` on the wire."""
    if cls.__module__ == construction.__name__:
        return _CONSTRUCTION_NAMES.get(attribute) or _camel(attribute)
    return _MAINTENANCE_NAMES.get(attribute, attribute)


def from_ms(value: int) -> datetime:
    """Epoch milliseconds to an aware UTC datetime, exactly (no float rounding)."""
    return _EPOCH + timedelta(milliseconds=value)


def to_ms(value: datetime) -> int:
    """An aware datetime to epoch milliseconds."""
    return (value - _EPOCH) // timedelta(milliseconds=1)


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _structure_datetime(value: Any, _: type) -> datetime:
    return from_ms(_structure_int(value, int))


def _structure_enum(value: Any, type_: type[FallbackEnum]) -> FallbackEnum:
    return type_(value)  # type: ignore[call-arg]


def _optional_of(type_: Any) -> Any:
    """``X`` for ``X | None``, else ``None``."""
    args = get_args(type_)
    if get_origin(type_) in (UnionType, Union) and len(args) == 2 and type(None) in args:
        return args[0] if args[1] is type(None) else args[1]
    return None


def _is_tuple_of(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_structure_hook(FallbackEnum, _structure_enum)
    converter.register_unstructure_hook(datetime, to_ms)

    def tuple_hook(type_: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        item_type = get_args(type_)[0]
        structure_item = converter.get_structure_hook(item_type)

        def structure(value: Any, _: Any) -> tuple[Any, ...]:
            if value is None:
                return ()
            if not isinstance(value, list):
                raise TypeError(f"expected a list, got {type(value).__name__}")
            items: list[Any] = []
            errors: list[Exception] = []
            for index, item in enumerate(value):
                try:
                    items.append(structure_item(item, item_type))
                except Exception as error:
                    note = f"Structuring {type_} @ index {index}"
                    error.add_note(IterableValidationNote(note, index, item_type))
                    errors.append(error)
            if errors:
                raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
            return tuple(items)

        return structure

    converter.register_structure_hook_factory(_is_tuple_of, tuple_hook)

    def optional_hook(type_: Any) -> Callable[[Any, Any], Any]:
        inner = _optional_of(type_)
        structure_inner = converter.get_structure_hook(inner)
        return lambda value, _: None if value is None else structure_inner(value, inner)

    converter.register_structure_hook_factory(
        lambda type_: _optional_of(type_) is not None, optional_hook
    )

    def is_model(cls: Any) -> bool:
        return isinstance(cls, type) and attrs.has(cls) and cls.__module__ in _FAMILIES

    def renames(cls: type) -> dict[str, Any]:
        return {a.name: override(rename=wire_name(cls, a.name)) for a in attrs.fields(cls)}

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        structure: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls, converter, **renames(cls)
        )
        if "status" not in attrs.fields_dict(cls) or cls.__module__ != maintenance.__name__:
            return structure
        status_key = wire_name(cls, "status")

        def structure_with_fallback(value: Any, type_: Any) -> Any:
            if isinstance(value, Mapping) and value.get(status_key) is None:
                fallback = value.get(_STATUS_FALLBACK_KEY)
                if fallback is not None:
                    value = {**value, status_key: fallback}
            return structure(value, type_)

        return structure_with_fallback

    def unstructure_factory(cls: type) -> Callable[[Any], Any]:
        return make_dict_unstructure_fn(
            cls, converter, _cattrs_omit_if_default=True, **renames(cls)
        )

    converter.register_structure_hook_factory(is_model, structure_factory)
    converter.register_unstructure_hook_factory(is_model, unstructure_factory)
    return converter


_converter = _make_converter()


def decode(data: Any, type_: Any, *, method: str, route: str) -> Any:
    """Structure ``data`` into ``type_``, or raise :class:`DecodeError` with cattrs' paths."""
    try:
        return _converter.structure(data, type_)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raw = json.dumps(data, default=repr).encode()
        raise DecodeError(
            errors=tuple(cattrs.transform_error(exc, path="result")),
            body_excerpt=excerpt(raw),
            method=method,
            route=route,
        ) from exc


def encode(model: Any) -> Any:
    """A model as a wire payload (unset optional fields left out)."""
    return _converter.unstructure(model)
