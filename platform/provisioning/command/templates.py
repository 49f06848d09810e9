"""Argument templates of a command target: checked when configured, rendered per account (pure).

A command is a list: a program's file name in the operator's commands folder, then
argument templates such as "--home={home}". Placeholders are exactly `PLACEHOLDERS`;
attribute access, indexing, conversions and format specs are refused when staff
configure the target, so `str.format_map` sees only plain names. Arguments are passed
as a list (never through a shell), so a value cannot start a second command; a value
that would put a '-' at the front of an argument, or a control character anywhere, is
refused, so it cannot pass as one of the program's options either.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence

from ..formats.base import FormatError, OptionsError

PLACEHOLDERS = frozenset({"login", "user", "uid", "gid", "home", "quota_mb", "state", "kind", "service_id", "email"})
ARGS_MAX = 64  # arguments after the program's name
ARG_CHARS_MAX = 1_024  # characters of one template
PROGRAM_NAME_MAX = 128
_PROGRAM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORMATTER = string.Formatter()


def check_program_name(name: str, what: str) -> str:
    """`name` if it is a plain file name (no '/', not '.' or '..', no leading '.'); otherwise OptionsError."""
    if len(name) > PROGRAM_NAME_MAX or not _PROGRAM_NAME.fullmatch(name) or ".." in name:
        raise OptionsError(
            f"{what} {name!r} must be the file name of a program in the operator's commands folder: "
            f"1 to {PROGRAM_NAME_MAX} letters, digits, '_', '.', '+' or '-', not starting with '.' or '-', "
            "without '/' or '..'"
        )
    return name


def fields(template: str, what: str) -> list[str]:
    """The placeholder names `template` uses; OptionsError for anything but known plain names."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as error:  # an unmatched '{' or '}'
        raise OptionsError(
            f"{what} {template!r} cannot be read ({error}); write a literal brace as '{{{{' or '}}}}'"
        ) from None
    known = ", ".join("{" + name + "}" for name in sorted(PLACEHOLDERS))
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise OptionsError(f"{what} {template!r} uses unknown placeholder {{{name}}}; known: {known}")
        if spec or conversion:
            raise OptionsError(f"{what} {template!r}: placeholder {{{name}}} may not have a format or conversion")
        names.append(name)
    return names


def check_command(command: Sequence[str], what: str) -> tuple[str, ...]:
    """`command` as a tuple if its program name and templates are acceptable; otherwise OptionsError."""
    if not command:
        raise OptionsError(f"{what} must be a list: a program's file name, then argument templates")
    program, *arguments = command
    check_program_name(program, f"{what}: program")
    if len(arguments) > ARGS_MAX:
        raise OptionsError(f"{what} has {len(arguments)} arguments; at most {ARGS_MAX}")
    for index, template in enumerate(arguments, start=1):
        where = f"{what} argument {index}"
        if len(template) > ARG_CHARS_MAX or _CONTROL.search(template):
            raise OptionsError(f"{where} must be at most {ARG_CHARS_MAX} characters, without control characters")
        fields(template, where)
    return tuple(command)


def render(command: Sequence[str], values: Mapping[str, str], key: str) -> list[str]:
    """The argument list of `command` for one account; its first item is the program's name.

    FormatError if a value would start an argument with '-', holds a control character,
    or is missing (a state file written by another version).
    """
    argv = [command[0]]
    for template in command[1:]:
        for name in fields(template, "argument"):
            if name not in values:
                raise FormatError(f"account {key!r} has no value for {{{name}}}; delete the target's state.json")
            if _CONTROL.search(values[name]):
                raise FormatError(f"account {key!r}: {{{name}}} {values[name]!r} holds a control character")
        argument = template.format_map(values)
        if argument.startswith("-") and not template.startswith("-"):
            raise FormatError(
                f"account {key!r}: argument {template!r} would be {argument!r}, which a program reads as an option; "
                "correct the value or put a literal prefix before the placeholder"
            )
        argv.append(argument)
    return argv
