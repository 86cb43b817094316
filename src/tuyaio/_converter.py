"""The one cattrs converter between wire payloads and models, and every wire-format decision.

- Each API family declares its models and its naming in one :class:`WireFamily` below
  (``FAMILIES``); nothing is derived from the module a model lives in.
- Maintenance models (v1.0) speak snake_case, with renames; the status comes from
  ``maintenance_status`` or, failing that, ``construction_status`` (§5).
- Construction models (v2.0) speak camelCase, derived from the attribute names, with renames.
- Directory models speak their family's naming: Smart Engineering snake_case, Smart Lighting
  camelCase; ``gmt_create``/``gmt_modified`` (``gmtCreate``) become ``created_at``/``modified_at``.
- Timestamps are epoch milliseconds on the wire and timezone-aware UTC ``datetime`` here.
- IDs and other strings accept a JSON number and keep its exact decimal text.
- Missing list fields and ``null`` lists become empty tuples; unknown keys are ignored; unknown enum
  values are kept (see :class:`~tuyaio.models.FallbackEnum`).

:func:`decode` first tries a structuring function generated once per model from the same
declarations; it only accepts payloads it decodes exactly as the cattrs converter does and hands
anything else (including every payload that fails) to the converter, so results and
:class:`DecodeError` details are the converter's.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .envelope import excerpt
from .errors import DecodeError
from .models import construction, directory, maintenance
from .models.common import FallbackEnum

__all__ = ["FAMILIES", "WireFamily", "decode", "encode", "from_ms", "to_ms", "wire_name"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _snake(name: str) -> str:
    return name


@attrs.frozen
class WireFamily:
    """One API family: its models and how their attributes are named on the wire.

    ``renames`` beat ``naming``; ``fallbacks`` name a second key read when an attribute's own key
    is missing or ``null``.
    """

    models: tuple[type, ...]
    naming: Callable[[str], str]
    renames: Mapping[str, str] = attrs.field(factory=dict)
    fallbacks: Mapping[str, str] = attrs.field(factory=dict)

    def wire_name(self, attribute: str) -> str:
        """The key that carries ``attribute`` on the wire."""
        return self.renames.get(attribute) or self.naming(attribute)


MAINTENANCE = WireFamily(
    models=(
        maintenance.RoomDevices,
        maintenance.MaintenanceTask,
        maintenance.MaintenanceTaskDetail,
        maintenance.TaskCreation,
    ),
    naming=_snake,
    renames={
        "status": "maintenance_status",
        "created_at": "gmt_create",
        "rooms": "room_device_relations",
    },
    fallbacks={"status": "construction_status"},
)
CONSTRUCTION = WireFamily(
    models=(
        construction.Room,
        construction.ConstructionRecord,
        construction.DeviceTypeInfo,
        construction.ConstructionRecordDetail,
        construction.CreatedRecord,
        construction.CancelResult,
        construction.RecordRequest,
    ),
    naming=_camel,
    renames={"room_names": "roomName"},
)
DIRECTORY = WireFamily(
    models=(
        directory.Project,
        directory.Worker,
        directory.ProjectRoom,
        directory.ProjectRoomDetail,
        directory.Device,
    ),
    naming=_snake,
    renames={"created_at": "gmt_create", "modified_at": "gmt_modified"},
)
LIGHTING_DIRECTORY = WireFamily(
    models=(directory.LightingProject,),
    naming=_camel,
    renames={"created_at": "gmtCreate"},
)
FAMILIES = (MAINTENANCE, CONSTRUCTION, DIRECTORY, LIGHTING_DIRECTORY)
"""Every wire family; each model is declared in exactly one."""


_FAMILY_OF = {cls: family for family in FAMILIES for cls in family.models}


def wire_name(cls: type, attribute: str) -> str:
    """The key that carries ``attribute`` of model ``cls`` on the wire."""
    family = _FAMILY_OF.get(cls)
    if family is None:
        raise TypeError(f"{cls.__qualname__} is declared in no wire family")
    return family.wire_name(attribute)


def from_ms(value: int) -> datetime:
    """Epoch milliseconds to an aware UTC datetime, exactly (no float rounding)."""
    return _EPOCH + timedelta(0, 0, 0, value)  # milliseconds, positional: the fastest exact form


def to_ms(value: datetime) -> int:
    """An aware datetime to epoch milliseconds."""
    return (value - _EPOCH) // timedelta(milliseconds=1)


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


_INT_LIMIT = 2**63
"""Integers are 64-bit on the wire (Java ``long``); a larger one is a broken answer."""


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 40:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if -_INT_LIMIT <= value < _INT_LIMIT:
            return value
        raise ValueError("expected a 64-bit integer, got a larger one")
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _structure_datetime(value: Any, _: type) -> datetime:
    try:
        return from_ms(_structure_int(value, int))
    except OverflowError:
        raise ValueError("expected epoch milliseconds within years 1–9999") from None


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


def _is_model(cls: Any) -> bool:
    try:
        return cls in _FAMILY_OF
    except TypeError:  # an unhashable type form
        return False


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

    def renames(cls: type) -> dict[str, Any]:
        return {a.name: override(rename=wire_name(cls, a.name)) for a in attrs.fields(cls)}

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        structure: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls, converter, **renames(cls)
        )
        fallbacks = {
            wire_name(cls, attribute): key
            for attribute, key in _FAMILY_OF[cls].fallbacks.items()
            if attribute in attrs.fields_dict(cls)
        }
        if not fallbacks:
            return structure

        def structure_with_fallbacks(value: Any, type_: Any) -> Any:
            if isinstance(value, Mapping):
                for own_key, fallback_key in fallbacks.items():
                    if value.get(own_key) is None:
                        fallback = value.get(fallback_key)
                        if fallback is not None:
                            value = {**value, own_key: fallback}
            return structure(value, type_)

        return structure_with_fallbacks

    def unstructure_factory(cls: type) -> Callable[[Any], Any]:
        return make_dict_unstructure_fn(
            cls, converter, _cattrs_omit_if_default=True, **renames(cls)
        )

    converter.register_structure_hook_factory(_is_model, structure_factory)
    converter.register_unstructure_hook_factory(_is_model, unstructure_factory)
    return converter


_converter = _make_converter()


class _Unhandled(Exception):
    """The fast path met a payload only the converter decodes exactly."""


class _FastCodegen:
    """Python source for one model's fast structuring function, from its family's declaration.

    The function takes exactly typed JSON values (``dict``, ``list``, ``str``, ``int``, ``bool``)
    straight and calls the converter's own hooks for anything else; it raises on any payload it
    does not decode, and :func:`decode` then asks the converter instead.
    """

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {
            "_Unhandled": _Unhandled,
            "_EPOCH": _EPOCH,
            "_timedelta": timedelta,
        }

    def constant(self, value: Any) -> str:
        """The name under which the generated code sees ``value``."""
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def hook(self, type_: Any) -> str:
        """An expression calling the converter's own hook for ``type_`` on ``@``."""
        hook = self.constant(_converter.get_structure_hook(type_))
        return f"{hook}(@, {self.constant(type_)})"

    def item(self, type_: Any) -> str:
        """An expression structuring ``@`` (a plain name) as ``type_``."""
        if type_ is int:
            limit = _INT_LIMIT
            return f"(@ if @.__class__ is int and -{limit} <= @ < {limit} else {self.hook(type_)})"
        if type_ is str:  # an ID sent as a JSON number keeps its decimal text
            return (
                f"(@ if @.__class__ is str else str(@) if @.__class__ is int else {self.hook(str)})"
            )
        if type_ is bool:
            return f"(@ if @.__class__ is bool else {self.hook(bool)})"
        if type_ is datetime:
            from_ms = "_EPOCH + _timedelta(0, 0, 0, @)"  # @ milliseconds
            return f"({from_ms} if @.__class__ is int else {self.hook(type_)})"
        fast = _fast_for(type_)
        return self.hook(type_) if fast is None else f"{self.constant(fast)}(@)"

    def assign(self, type_: Any, target: str) -> list[str]:
        """Statements setting ``target`` to ``v`` (not ``None``) structured as ``type_``."""
        if _is_tuple_of(type_):
            item = self.item(get_args(type_)[0]).replace("@", "x")
            return [
                "if v.__class__ is not list:",
                "    raise _Unhandled",
                f"{target} = tuple([{item} for x in v])",
            ]
        if isinstance(type_, type) and issubclass(type_, FallbackEnum) and issubclass(type_, Enum):
            base = "int" if issubclass(type_, int) else "str"
            members = self.constant(dict(type_._value2member_map_))
            return [
                f"{target} = {members}.get(v) if v.__class__ is {base} else None",
                f"if {target} is None:",
                f"    {target} = {self.hook(type_).replace('@', 'v')}",
            ]
        return [f"{target} = {self.item(type_).replace('@', 'v')}"]

    def absent(self, target: str, value: Any) -> str:
        """The statement for a null or missing value that gives ``value`` (``NOTHING``: only the
        converter can say)."""
        if value is attrs.NOTHING:
            return "raise _Unhandled"
        return f"{target} = {repr(value) if value in (None, ()) else self.constant(value)}"

    def model(self, cls: type) -> str:
        """The source of ``structure(o)`` for model ``cls``."""
        family = _FAMILY_OF[cls]
        hints = typing.get_type_hints(cls)
        fields = attrs.fields(cls)
        slots = [getattr(cls, field.name, None) for field in fields]
        if not all(isinstance(slot, types.MemberDescriptorType) for slot in slots):
            raise _Unhandled  # not slotted: the converter decodes it
        lines = ["if o.__class__ is not dict:", "    raise _Unhandled", "get = o.get"]
        for index, field in enumerate(fields):
            if not field.init or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                raise _Unhandled
            target, key, type_ = f"a{index}", family.wire_name(field.name), hints[field.name]
            inner = _optional_of(type_)
            null = None if inner is not None else () if _is_tuple_of(type_) else attrs.NOTHING
            lines.append(f"v = get({key!r})")
            fallback = family.fallbacks.get(field.name)
            if fallback is not None:
                lines += ["if v is None:", f"    v = get({fallback!r})"]
            lines.append("if v is None:")
            if null == field.default:  # a missing key and a null give the same
                lines.append("    " + self.absent(target, null))
            else:
                lines += [f"    if {key!r} in o:", "        " + self.absent(target, null)]
                lines += ["    else:", "        " + self.absent(target, field.default)]
            lines.append("else:")
            lines += ["    " + line for line in self.assign(inner or type_, target)]
        # Filled through the slots' own setters, as a frozen class's __init__ would (the models
        # have no validators or converters).
        lines.append(f"m = {self.constant(object.__new__)}({self.constant(cls)})")
        for index, slot in enumerate(slots):
            lines.append(f"{self.constant(slot.__set__)}(m, a{index})")  # type: ignore[union-attr]
        body = "".join(f"    {line}\n" for line in [*lines, "return m"])
        return f"def structure(o):\n{body}"


_fast: dict[Any, Callable[[Any], Any] | None] = {}


def _fast_tuple(structure_item: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    def structure(value: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if value.__class__ is not list:
            raise _Unhandled
        return tuple([structure_item(item) for item in value])

    return structure


def _fast_for(type_: Any) -> Callable[[Any], Any] | None:
    """The generated structuring function for a model or a tuple of models (made at first use),
    else ``None``."""
    try:
        return _fast[type_]
    except KeyError:
        pass
    except TypeError:  # an unhashable type form
        return None
    _fast[type_] = None  # a model nested in itself goes through the converter
    fast: Callable[[Any], Any] | None = None
    if _is_tuple_of(type_) and _is_model(get_args(type_)[0]):
        structure_item = _fast_for(get_args(type_)[0])
        fast = None if structure_item is None else _fast_tuple(structure_item)
    elif _is_model(type_):
        codegen = _FastCodegen()
        try:
            source = codegen.model(type_)
        except _Unhandled:
            return None
        name = f"<tuyaio fast structure {type_.__qualname__}>"
        exec(compile(source, name, "exec"), codegen.namespace)
        fast = codegen.namespace["structure"]
    _fast[type_] = fast
    return fast


def _decode_with_converter(data: Any, type_: Any, *, method: str, route: str) -> Any:
    try:
        return _converter.structure(data, type_)
    except (
        cattrs.BaseValidationError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
    ) as exc:
        try:
            raw = json.dumps(data, default=repr).encode()
            errors = tuple(cattrs.transform_error(exc, path="result"))
        except (ValueError, RecursionError):  # nested too deeply, or a number too long to print
            raw, errors = b"", ("the result is nested too deeply or too large @ result",)
        failure = DecodeError(errors=errors, body_excerpt=excerpt(raw), method=method, route=route)
    # Raised outside the handler, with no cause: cattrs' exceptions quote the values (a token the
    # server echoed); the paths in ``errors`` say what was wrong.
    raise failure


def decode(data: Any, type_: Any, *, method: str, route: str) -> Any:
    """Structure ``data`` into ``type_``, or raise :class:`DecodeError` with cattrs' paths."""
    fast = _fast_for(type_)
    if fast is not None:
        try:
            return fast(data)
        except Exception:  # the converter decodes it, or explains why not
            pass
    return _decode_with_converter(data, type_, method=method, route=route)


def encode(model: Any) -> Any:
    """A model as a wire payload (unset optional fields left out)."""
    return _converter.unstructure(model)
