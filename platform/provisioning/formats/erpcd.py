"""Xylogics / Bay Networks Annex ERPCD files for dial-up (radius_login) accounts.

`acp_passwd` is "Annex password file, like /etc/passwd" (erpcd's acp.c file list):
name:password:uid:gid:gecos:home:shell. erpcd checks the hash with the host's crypt(3),
so "$6$" hashes need a host whose libc knows SHA-512 crypt. The user name is the login
as typed ("alice@demo.example"); a suspended account's hash gets a '!' before it.
The file has no comment syntax, so it gets no header.

`acp_dialup` gives a user fixed dial-up addresses. Its syntax is the one erpcd's own
parser reads (findacpdialup() in erpcd's acp_dialup reader, and the Remote Annex
Server Tools user guide, chapter 3 "Understanding Erpcd"): blank-separated
`user [ports@]annex remote_address [local_address]`, where annex is an Annex name or
address or '*', remote_address an address, '*' or DHCP, local_address an address or
'*', and '#' starts a comment. Accounts carry no addresses of their own, so every
active login gets the same `annex`, `remote_address` and `local_address` options;
suspended logins are left out (they cannot log in anyway).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..accounts import Account
from .base import Format, FormatError, Held, OptionsError, exported, keyed
from .naming import check_path
from .text import check_ipv4, check_token, content_lines, render_lines
from .unix import lock_state, passwd_line, password_field, read_passwd

ACP_PASSWD, ACP_DIALUP = "acp_passwd", "acp_dialup"
KINDS = frozenset({"radius_login"})
LOCK = "!"
_ANNEX = re.compile(r"(?:[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*@)?(?:\*|[A-Za-z0-9.-]+)")


@dataclass(frozen=True, slots=True)
class ErpcdOptions:
    gid: int = 100
    home: str = "/nonexistent"  # dial-up users have no home on the security host
    shell: str = "/bin/false"
    annex: str = "*"  # "[ports@]annex" the entries apply to: "1,3,6-10@annex01", "*"
    remote_address: str = "*"  # the address given to the caller: IPv4, "*" or "DHCP"
    local_address: str | None = None  # the Annex's end of the link: IPv4 or "*"; None leaves it out

    def __post_init__(self) -> None:
        check_path(self.home, "home")
        check_path(self.shell, "shell")
        if not _ANNEX.fullmatch(self.annex):
            raise OptionsError(f"annex {self.annex!r} must look like 'annex01', '*' or '1,3,6-10@annex01'")
        try:
            for value, what in ((self.remote_address, "remote_address"), (self.local_address, "local_address")):
                if value is not None and value != "*" and not (what == "remote_address" and value == "DHCP"):
                    check_ipv4(value, what)
        except FormatError as error:
            raise OptionsError(str(error)) from None


def render(accounts: Sequence[Account], options: ErpcdOptions) -> dict[str, str]:
    """`acp_passwd` for every dial-up login and `acp_dialup` for the active ones."""
    logins = exported(accounts, KINDS)
    users = keyed([(check_token(a.login, f"service {a.service_id}: login", forbidden=":#"), a) for a in logins], "user")
    passwd = [
        passwd_line(name, password_field(a, lock=LOCK), a, gid=options.gid, home=options.home, shell=options.shell)
        for name, a in users
    ]
    tail = "" if options.local_address is None else f" {options.local_address}"
    dialup = [f"{name} {options.annex} {options.remote_address}{tail}" for name, a in users if not a.locked]
    return {ACP_PASSWD: render_lines(passwd, comment=None), ACP_DIALUP: render_lines(dialup)}


def read(files: Mapping[str, str], options: ErpcdOptions) -> dict[str, Held]:
    """Users of `acp_passwd` (uid, gid, gecos, home, shell, hash, lock) and their dial-up entry."""
    users = read_passwd(files.get(ACP_PASSWD, ""), ACP_PASSWD, 7)
    for attributes in users.values():
        attributes.update(lock_state(attributes.pop("password"), LOCK))
    seen: set[str] = set()
    for number, line in content_lines(files.get(ACP_DIALUP, "")):
        words = line.partition("#")[0].split()
        if len(words) not in (3, 4):
            raise FormatError("expected 'user annex remote_address [local_address]'", file=ACP_DIALUP, line=number)
        if words[0] in seen:
            raise FormatError(f"user {words[0]!r} has two dial-up entries", file=ACP_DIALUP, line=number)
        seen.add(words[0])
        entry = {"annex": words[1], "remote_address": words[2], "local_address": words[3] if len(words) == 4 else ""}
        users.setdefault(words[0], {}).update(entry)  # erpcd also serves dial-up users from elsewhere
    return {name: Held(name, attributes) for name, attributes in users.items()}


FORMAT = Format(name="erpcd", kinds=KINDS, options_type=ErpcdOptions, render=render, read=read)
