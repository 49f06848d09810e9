"""Building a format's frozen options dataclass from the JSON that staff configured.

Each field's annotation says what JSON it takes: integers (never booleans), text,
true/false, null for an optional field, one of a fixed set of strings (Literal), a list
(stored as a tuple), and an object of text to text. A list of pairs also takes an
object, whose order is kept. Unknown keys and wrong types are refused by name; the
dataclass's own `__post_init__` then checks ranges and syntax.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union

from .base import FormatError, OptionsError

T = TypeVar("T")


def _describe(hint: object) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if origin is tuple:
        return f"a list of {_describe(args[0])}" if args[-1] is Ellipsis else f"a list of {len(args)} items"
    if origin in (Mapping, dict):
        return f"an object of {_describe(args[1])}"
    names: dict[object, str] = {bool: "true or false", int: "an integer", str: "text", type(None): "null"}
    return names.get(hint, str(hint))


def _convert(value: object, hint: object, what: str) -> object:
    """`value` as `hint` wants it, or OptionsError naming `what` and the expected JSON."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        for arg in args:
            try:
                return _convert(value, arg, what)
            except OptionsError:
                continue
    elif origin is Literal:
        if value in args and isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, Mapping) and args[-1] is Ellipsis and typing.get_origin(args[0]) is tuple:
            value = [list(item) for item in value.items()]  # {"Service-Type": "Framed-User"} as pairs
        if isinstance(value, list | tuple):
            if args[-1] is Ellipsis:
                return tuple(_convert(item, args[0], f"{what}[{i}]") for i, item in enumerate(value))
            if len(value) == len(args):
                return tuple(
                    _convert(item, arg, f"{what}[{i}]") for i, (item, arg) in enumerate(zip(value, args, strict=True))
                )
    elif origin in (Mapping, dict):
        if isinstance(value, Mapping):
            return {
                _convert(key, args[0], f"a key of {what}"): _convert(item, args[1], f"{what}[{key!r}]")
                for key, item in value.items()
            }
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is type(None):
        if value is None:
            return value
    elif isinstance(hint, type) and isinstance(value, hint):
        return value
    raise OptionsError(f"{what} must be {_describe(hint)}, got {value!r}")


def build(options_type: type[T], mapping: Mapping[str, Any], format_name: str) -> T:
    """An `options_type` from a JSON-like mapping; defaults fill what it leaves out."""
    if not isinstance(mapping, Mapping):
        raise OptionsError(f"{format_name} options must be a JSON object, got {type(mapping).__name__}")
    known = {field.name for field in dataclasses.fields(options_type)}  # type: ignore[arg-type]
    unknown = sorted(str(key) for key in mapping if key not in known)
    if unknown:
        raise OptionsError(
            f"format {format_name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(sorted(known))}"
        )
    required = {
        field.name
        for field in dataclasses.fields(options_type)  # type: ignore[arg-type]
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    }
    missing = sorted(required - set(mapping))
    if missing:
        raise OptionsError(f"format {format_name!r} needs option {', '.join(map(repr, missing))}")
    hints = typing.get_type_hints(options_type)
    values = {name: _convert(value, hints[name], f"{format_name} option {name!r}") for name, value in mapping.items()}
    try:
        return options_type(**values)
    except FormatError as error:  # a value check shared with rendering
        raise OptionsError(f"{format_name} options: {error}") from None
