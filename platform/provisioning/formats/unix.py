"""Linux `passwd` and `shadow` files for RADIUS, mail, web and FTP accounts.

Meant for a users database of its own (libnss-extrausers' /var/lib/extrausers, or a
chroot), not for a host's /etc/passwd, since the whole file is rewritten. Names, homes
and shells follow `naming.UnixUsers`. In `shadow` a suspended account keeps its hash
behind a '!' (as `passwd -l` does) and an account without a password gets '*'.

The last-change day is an option because it must not be today: output depends only on
the accounts. It is left empty by default, which turns password ageing off; 0 would
instead force a password change at the next login (shadow(5)). Neither file has a
comment syntax, so neither gets the header; `read` still skips '#' lines a person adds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..accounts import Account
from .base import NO, YES, Format, FormatError, Held, OptionsError, exported, keyed
from .naming import UNIX_KINDS, UnixUsers, check_uid
from .text import check_token, content_lines, fields, number, render_lines, sanitize_gecos

PASSWD, SHADOW = "passwd", "shadow"
NO_HASH = "*"
LOCK = "!"
DAY_MAX = 99_999  # shadow's "never" for the maximum age; also the bound for the last-change day


@dataclass(frozen=True, slots=True)
class UnixOptions(UnixUsers):
    last_change_day: int | None = None  # days since 1970-01-01; None leaves the field empty

    def __post_init__(self) -> None:
        UnixUsers.__post_init__(self)  # not super(): slots dataclasses break its zero-argument form
        if self.last_change_day is not None and not 0 <= self.last_change_day <= DAY_MAX:
            raise OptionsError(f"last_change_day {self.last_change_day} is out of range 0..{DAY_MAX}")


def password_field(account: Account, *, lock: str) -> str:
    """The hash as a passwd-like file writes it: '*' for none, `lock` before it when suspended."""
    crypt = account.password_crypt
    hashed = NO_HASH if crypt is None else check_token(crypt, f"service {account.service_id}: hash", forbidden=":")
    return lock + hashed if account.locked else hashed


def passwd_line(
    name: str, password: str, account: Account, *, gid: int, home: str, shell: str, middle: str = ""
) -> str:
    """name:password:uid:gid[:middle]:gecos:home:shell, shared with master.passwd and acp_passwd."""
    parts = [name, password, str(check_uid(account)), str(gid)]
    if middle:
        parts.append(middle)
    parts += [sanitize_gecos(account.name), home, shell]
    return ":".join(parts)


def user_line(name: str, password: str, account: Account, options: UnixUsers, *, middle: str = "") -> str:
    """A passwd-like line with group, home and shell from Unix user options."""
    home, shell = options.home(name), options.shell(account.kind)
    return passwd_line(name, password, account, gid=options.gid, home=home, shell=shell, middle=middle)


def render(accounts: Sequence[Account], options: UnixOptions) -> dict[str, str]:
    """`passwd` and `shadow`, one line per account, sorted by user name."""
    users = keyed(
        [(options.unix_name(a), a) for a in exported(accounts, UNIX_KINDS & frozenset(options.kinds))], "Unix user"
    )
    day = "" if options.last_change_day is None else str(options.last_change_day)
    passwd = [user_line(name, "x", account, options) for name, account in users]
    shadow = [f"{name}:{password_field(account, lock=LOCK)}:{day}:0:{DAY_MAX}:7:::" for name, account in users]
    return {PASSWD: render_lines(passwd, comment=None), SHADOW: render_lines(shadow, comment=None)}


def read_passwd(text: str, file: str, count: int) -> dict[str, dict[str, str]]:
    """Entries of a passwd-like file with `count` fields: name, _, uid, gid, ..., gecos, home, shell."""
    entries: dict[str, dict[str, str]] = {}
    for line_number, line in content_lines(text):
        name, password, uid, gid, *_, gecos, home, shell = fields(line, count, file, line_number)
        if name in entries:
            raise FormatError(f"user {name!r} is defined twice; remove one of the lines", file=file, line=line_number)
        entries[name] = {
            "password": password,
            "uid": number(uid, "the uid", file, line_number),
            "gid": number(gid, "the gid", file, line_number),
            "gecos": gecos,
            "home": home,
            "shell": shell,
        }
    return entries


def lock_state(password: str, lock: str) -> dict[str, str]:
    locked = password.startswith(lock)
    return {"crypt": password[len(lock) :] if locked else password, "locked": YES if locked else NO}


def read(files: Mapping[str, str], options: UnixOptions) -> dict[str, Held]:
    """Users in `passwd`, with hash and lock state from `shadow`; a missing file reads as empty."""
    users = read_passwd(files.get(PASSWD, ""), PASSWD, 7)
    for name in users:
        del users[name]["password"]  # always "x" with shadow passwords; nothing to compare
    seen: set[str] = set()
    for line_number, line in content_lines(files.get(SHADOW, "")):
        name, password, *_ = fields(line, 9, SHADOW, line_number)
        if name not in users or name in seen:
            problem = "is defined twice" if name in seen else "has no line in passwd"
            raise FormatError(f"user {name!r} {problem}", file=SHADOW, line=line_number)
        seen.add(name)
        users[name].update(lock_state(password, LOCK))
    return {name: Held(name, attributes) for name, attributes in users.items()}


FORMAT = Format(name="unix", kinds=UNIX_KINDS, options_type=UnixOptions, render=render, read=read)
