"""A FreeRADIUS `users` file for dial-up and broadband (radius_login) accounts.

    "alice@demo.example"	Crypt-Password := "$6$..."
        Service-Type = Framed-User,
        Framed-Protocol = PPP

Check items share the name's line; reply items follow on indented lines, each but the
last ending in ','. Every user gets the `reply` items of the options. A suspended
account keeps its hash but gets `Auth-Type := Reject` and only the `Reply-Message`
(`suspended_message`); an account without a password gets `Auth-Type := Reject` and no
reply. Names and text values are double-quoted with '\\' and '"' escaped; values that
are plain words (Framed-User, 192.0.2.1) are written bare, as people write them.

`read` takes entries over several lines, '#' comments and hand-added users; DEFAULT
entries are not accounts and are skipped; check items other than Crypt-Password and
Auth-Type are not compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..accounts import Account
from .base import NO, YES, Format, FormatError, Held, OptionsError, exported, held_once, keyed
from .text import numbered, render_lines

USERS = "users"
KINDS = frozenset({"radius_login"})
NOT_AN_ACCOUNT = "DEFAULT"
_ATTRIBUTE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*")
_BARE = re.compile(r"[A-Za-z0-9_.:/+-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_NAME = re.compile(rf'(?P<name>{_QUOTED}|[^\s"#,]+)')
_ITEM = re.compile(
    rf"\s*(?P<attr>{_ATTRIBUTE.pattern})\s*(?P<op>:=|==|\+=|!=|>=|<=|=~|!~|=\*|!\*|=|>|<)\s*"
    rf'(?P<value>{_QUOTED}|[^\s"#,]+)\s*(?P<comma>,?)'
)
_UNESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}

Item = tuple[str, str, str]  # attribute, operator, value (unquoted)


def _text(value: str, what: str) -> str:
    if not value or _CONTROL.search(value):
        raise FormatError(f"{what} {value!r} cannot be written: it must be non-empty, without control characters")
    return value


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(value: str) -> str:
    return value if _BARE.fullmatch(value) else quote(value)


def _unquote(token: str) -> str:
    if not token.startswith('"'):
        return token
    return _UNESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


@dataclass(frozen=True, slots=True)
class RadiusUsersOptions:
    reply: tuple[tuple[str, str], ...] = (("Service-Type", "Framed-User"), ("Framed-Protocol", "PPP"))
    suspended_message: str = "Account suspended"

    def __post_init__(self) -> None:
        for attribute, value in self.reply:
            if not _ATTRIBUTE.fullmatch(attribute):
                raise OptionsError(f"reply attribute name {attribute!r} is not a RADIUS attribute name")
            if _CONTROL.search(value):
                raise OptionsError(f"reply value {value!r} of {attribute} contains a control character")
        if _CONTROL.search(self.suspended_message):
            raise OptionsError("suspended_message must not contain control characters")


def _entry(login: str, account: Account, options: RadiusUsersOptions) -> list[str]:
    crypt = account.password_crypt
    check = [] if crypt is None else [f"Crypt-Password := {quote(_text(crypt, 'password hash'))}"]
    reply = list(options.reply)
    if account.locked or crypt is None:
        check.append("Auth-Type := Reject")
        reply = [("Reply-Message", options.suspended_message)] if account.locked else []
    lines = [f"{quote(login)}\t{', '.join(check)}"]
    lines += [f"\t{attr} = {_value(value)}{',' if i < len(reply) - 1 else ''}" for i, (attr, value) in enumerate(reply)]
    return [*lines, ""]


def render(accounts: Sequence[Account], options: RadiusUsersOptions) -> dict[str, str]:
    """The `users` file, one entry per login, sorted by login, a blank line after each."""
    logins = exported(accounts, KINDS)
    users = keyed([(_text(a.login, f"service {a.service_id}: login"), a) for a in logins], "RADIUS user")
    lines: list[str] = []
    for login, account in users:
        lines += _entry(login, account, options)
    return {USERS: render_lines(lines)}


def _items(text: str, file: str, line: int) -> tuple[list[Item], bool]:
    """The attribute items of `text`, and whether it ends with ',' (more on the next line)."""
    items: list[Item] = []
    position = 0
    while position < len(text) and not text[position:].lstrip().startswith("#") and text[position:].strip():
        match = _ITEM.match(text, position)
        if match is None:
            raise FormatError(f"cannot read an attribute in {text[position:].strip()!r}", file=file, line=line)
        items.append((match["attr"], match["op"], _unquote(match["value"])))
        position = match.end()
        if not match["comma"]:
            rest = text[position:].strip()
            if rest and not rest.startswith("#"):
                raise FormatError(f"expected ',' before {rest!r}", file=file, line=line)
            return items, False
    return items, bool(items)


def _held(name: str, check: list[Item], reply: list[Item]) -> Held:
    crypt = next((value for attr, _, value in check if attr == "Crypt-Password"), "")
    locked = any(attr == "Auth-Type" and value == "Reject" for attr, _, value in check)
    replies = ", ".join(f"{attr} {op} {_value(value)}" for attr, op, value in reply)
    return Held(name, {"crypt": crypt, "locked": YES if locked else NO, "reply": replies})


def read(files: Mapping[str, str], options: RadiusUsersOptions) -> dict[str, Held]:
    """Users of the `users` file with their hash, lock state and reply items."""
    held: dict[str, Held] = {}
    entry: tuple[str, int, list[Item], list[Item]] | None = None
    more = False  # whether the entry's last reply line ended with ','
    for number, raw in numbered(files.get(USERS, "")):
        if not raw.strip() or raw.strip().startswith("#"):
            continue
        if raw[0] in " \t":  # a reply line of the current entry
            if entry is None or (entry[3] and not more):
                raise FormatError(
                    "indented attribute line outside an entry, or after one without ','", file=USERS, line=number
                )
            items, more = _items(raw, USERS, number)
            entry[3].extend(items)
            continue
        if more:
            raise FormatError("the previous line ends with ',' but no attribute follows", file=USERS, line=number)
        if entry is not None and entry[0] != NOT_AN_ACCOUNT:
            held_once(held, _held(entry[0], entry[2], entry[3]), USERS, entry[1])
        name = _NAME.match(raw)
        if name is None:
            raise FormatError("an entry must start with a user name", file=USERS, line=number)
        check, trailing = _items(raw[name.end() :], USERS, number)
        if trailing:
            raise FormatError(
                "check items must end on the entry's first line (no trailing ',')", file=USERS, line=number
            )
        entry, more = (_unquote(name["name"]), number, check, []), False
    if more:
        raise FormatError("the file ends after a ',' with no attribute following", file=USERS)
    if entry is not None and entry[0] != NOT_AN_ACCOUNT:
        held_once(held, _held(entry[0], entry[2], entry[3]), USERS, entry[1])
    return held


FORMAT = Format(name="radius_users", kinds=KINDS, options_type=RadiusUsersOptions, render=render, read=read)
