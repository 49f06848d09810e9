"""FreeBSD `master.passwd` for RADIUS, mail, web and FTP accounts.

Ten fields: name:password:uid:gid:class:change:expire:gecos:home_dir:shell, with change
and expire 0 ("never"). A suspended account's hash gets the "*LOCKED*" prefix that
`pw lock` adds; no password is "*". Names, homes and shells follow `naming.UnixUsers`.
pwd_mkdb(8) skips '#' lines, so the file starts with the header; install it with
`pwd_mkdb -p -d <dir>`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..accounts import Account
from .base import Format, Held, OptionsError, exported, keyed
from .naming import UNIX_KINDS, UnixUsers
from .text import render_lines
from .unix import lock_state, password_field, read_passwd, user_line

MASTER_FILE = "master.passwd"
LOCK = "*LOCKED*"
CLASS_MAX = 32  # characters in a login class name (login.conf capability names stay short)


@dataclass(frozen=True, slots=True)
class BsdOptions(UnixUsers):
    login_class: str = ""  # login.conf(5) class; empty means "default"

    def __post_init__(self) -> None:
        UnixUsers.__post_init__(self)  # not super(): slots dataclasses break its zero-argument form
        if len(self.login_class) > CLASS_MAX or not all(c.isalnum() or c in "_-" for c in self.login_class):
            raise OptionsError(f"login_class {self.login_class!r} must be up to {CLASS_MAX} letters, digits, '_-'")


def render(accounts: Sequence[Account], options: BsdOptions) -> dict[str, str]:
    """`master.passwd`, one line per account, sorted by user name."""
    kinds = UNIX_KINDS & frozenset(options.kinds)
    users = keyed([(options.unix_name(a), a) for a in exported(accounts, kinds)], "Unix user")
    middle = f"{options.login_class}:0:0"  # class, change, expire
    lines = [user_line(name, password_field(a, lock=LOCK), a, options, middle=middle) for name, a in users]
    return {MASTER_FILE: render_lines(lines)}


def read(files: Mapping[str, str], options: BsdOptions) -> dict[str, Held]:
    """Users in `master.passwd` with uid, gid, gecos, home, shell, hash and lock state."""
    users = read_passwd(files.get(MASTER_FILE, ""), MASTER_FILE, 10)
    for attributes in users.values():
        attributes.update(lock_state(attributes.pop("password"), LOCK))
    return {name: Held(name, attributes) for name, attributes in users.items()}


FORMAT = Format(name="bsd", kinds=UNIX_KINDS, options_type=BsdOptions, render=render, read=read)
