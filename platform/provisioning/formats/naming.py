"""Unix user names for accounts, and the options of formats that write Unix users.

A Unix user name cannot hold '@', so a login with a realm is mapped. With the default
`user_from="login"`, "alice@demo.example" becomes "alice.demo.example" (the
`realm_separator` replaces '@', and the realm is lower-cased), which keeps users of different realms apart; with
`user_from="local"` it becomes "alice", which is shorter but lets two realms collide.
Logins without a realm (web and ftp accounts, "alice") are used as they are. Two
accounts that would get the same name are refused (naming both services), never
merged: the same login sold as a RADIUS login and a mailbox has two uids. Names are
letters, digits, '.', '_' and '-', not starting with '-' or '.', not all digits, at most
32 characters (the common useradd limit); anything else is refused, not rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from ..accounts import Account
from .base import FormatError, OptionsError

UNIX_NAME_MAX = 32  # characters (useradd's default LOGIN_NAME_MAX-style limit)
UID_MAX = 4_294_967_294  # 2**32 - 2; 2**32 - 1 is (uid_t)-1, "no user"
UNIX_KINDS = frozenset({"radius_login", "mailbox", "web", "ftp"})
# No interactive login for any of them: dial-up and mail users never need a shell, and
# web/ftp users get /bin/false, which FTP daemons accept once it is listed in /etc/shells.
DEFAULT_SHELLS: Mapping[str, str] = {
    "radius_login": "/sbin/nologin",
    "mailbox": "/sbin/nologin",
    "web": "/bin/false",
    "ftp": "/bin/false",
}

UNIX_NAME_CACHE = 262_144  # logins; a few exports' worth
_UNIX_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_PATH = re.compile(r"/[A-Za-z0-9_./+-]*")


@dataclass(frozen=True, slots=True)
class UnixNaming:
    """How an account's login becomes a Unix user name (see the module docstring)."""

    user_from: Literal["login", "local"] = "login"
    realm_separator: Literal[".", "_", "-"] = "."

    def unix_name(self, account: Account) -> str:
        name = _unix_name(account.login, self.user_from, self.realm_separator)
        if name is None:
            shown = _joined(account.login, self.user_from, self.realm_separator)
            raise FormatError(
                f"service {account.service_id}: login {account.login!r} gives Unix user name {shown!r}, which is "
                f"not 1 to {UNIX_NAME_MAX} letters, digits, '.', '_' or '-' (not starting with '.' or '-', "
                "not all digits); choose another login or user_from='local'"
            )
        return name


def _joined(login: str, user_from: str, separator: str) -> str:
    # The realm is lower-cased, as Account.domain and the mail formats do.
    user, at, domain = login.rpartition("@")
    if not (at and user):
        return login
    return f"{user}{separator}{domain.lower()}" if user_from == "login" else user


@lru_cache(maxsize=UNIX_NAME_CACHE)
def _unix_name(login: str, user_from: str, separator: str) -> str | None:
    """The Unix name of a login, or None when it cannot be one; cached, as every
    passwd-like format of an export asks for the same names."""
    name = _joined(login, user_from, separator)
    if len(name) > UNIX_NAME_MAX or not _UNIX_NAME.fullmatch(name) or name.isdigit():
        return None
    return name


def check_uid(account: Account) -> int:
    if not 0 < account.uid <= UID_MAX:
        raise FormatError(
            f"service {account.service_id}: uid {account.uid} is out of range 1..{UID_MAX} "
            "(uid 0 is root and is never exported)"
        )
    return account.uid


def check_path(path: str, what: str) -> str:
    if not _PATH.fullmatch(path):
        raise OptionsError(f"{what} {path!r} must be an absolute path of letters, digits and '_./+-'")
    return path


@dataclass(frozen=True, slots=True)
class UnixUsers(UnixNaming):
    """Options shared by the passwd-like formats: group, homes, shells, kinds exported."""

    gid: int = 100
    home_base: str = "/home"
    shells: Mapping[str, str] = field(default_factory=dict)  # per kind; missing kinds use DEFAULT_SHELLS
    kinds: tuple[str, ...] = tuple(sorted(UNIX_KINDS))  # a subset, to split kinds across targets

    def __post_init__(self) -> None:
        if not 0 <= self.gid <= UID_MAX:
            raise OptionsError(f"gid {self.gid} is out of range 0..{UID_MAX}")
        check_path(self.home_base, "home_base")
        for kind, shell in self.shells.items():
            if kind not in UNIX_KINDS:
                raise OptionsError(f"shells names kind {kind!r}; Unix users are made for {sorted(UNIX_KINDS)}")
            check_path(shell, f"the shell for {kind}")
        unknown = sorted(set(self.kinds) - UNIX_KINDS)
        if unknown:
            raise OptionsError(f"kinds {unknown} cannot be Unix users; choose from {sorted(UNIX_KINDS)}")

    def shell(self, kind: str) -> str:
        return self.shells.get(kind, DEFAULT_SHELLS[kind])

    def home(self, name: str) -> str:
        return f"{self.home_base.rstrip('/')}/{name}"
