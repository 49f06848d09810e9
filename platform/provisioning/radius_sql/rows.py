"""The rows FreeRADIUS's SQL tables should hold for a tenant's RADIUS logins (pure).

The tables are those of FreeRADIUS's PostgreSQL schema
(`mods-config/sql/main/postgresql/schema.sql`), whose default queries read a user's
rows `ORDER BY id`:

- `radcheck (id, username, attribute, op, value)`: check items;
- `radreply (id, username, attribute, op, value)`: reply items;
- `radusergroup (id, username, groupname, priority)`: group memberships.

Each login means what the `radius_users` format writes for it:

- active, with a password: radcheck `Crypt-Password := $6$...`; radreply the options'
  `reply` items (`=`); and, when the options name a `group`, a radusergroup row;
- suspended: radcheck `Crypt-Password := $6$...` (kept) and `Auth-Type := Reject`;
  radreply only `Reply-Message = <suspended_message>`; no group;
- without a password: radcheck `Auth-Type := Reject` only (suspended: with the
  Reply-Message too); no group.

A login that may not log in gets no group because a group's reply items would reach
its Access-Reject, which the `users` file never sends. Values are stored as they are:
SQL needs no quoting, and values rlm_sql would read as quoted are refused.

`held` turns rows, desired or read from the database, into `Held` values keyed by user
name with the attributes the `radius_users` reader gives (crypt, locked, reply) and
`groups`, so reconciliation compares billed and held logins the same way for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..accounts import Account
from ..formats.base import FormatError, Held, OptionsError, exported, keyed
from ..formats.radius_users import KINDS
from ..formats.radius_users import _held as users_held  # the users file's Held, so both read alike
from .options import RadiusSqlOptions, check_value

CRYPT = "Crypt-Password"
AUTH_TYPE, REJECT = "Auth-Type", "Reject"
REPLY_MESSAGE = "Reply-Message"
SET, EQUALS = ":=", "="  # a check item's operator, a reply item's

Item = tuple[str, str, str]  # attribute, op, value: as the radius_users format's Item
Group = tuple[str, int]  # groupname, priority


@dataclass(frozen=True, slots=True)
class UserRows:
    """One user's rows in each table, in the order FreeRADIUS reads them (by id)."""

    check: tuple[Item, ...] = ()
    reply: tuple[Item, ...] = ()
    groups: tuple[Group, ...] = ()

    @property
    def count(self) -> int:
        return len(self.check) + len(self.reply) + len(self.groups)


@dataclass(frozen=True, slots=True)
class Rows:
    """The rows of radcheck, radreply and radusergroup, each row with its user name first."""

    radcheck: tuple[tuple[str, str, str, str], ...] = ()  # username, attribute, op, value
    radreply: tuple[tuple[str, str, str, str], ...] = ()
    radusergroup: tuple[tuple[str, str, int], ...] = ()  # username, groupname, priority

    @property
    def count(self) -> int:
        return len(self.radcheck) + len(self.radreply) + len(self.radusergroup)

    def users(self) -> dict[str, UserRows]:
        """User name -> that user's rows, for every name in any of the three tables, sorted."""
        check: dict[str, list[Item]] = {}
        reply: dict[str, list[Item]] = {}
        groups: dict[str, list[Group]] = {}
        for name, attribute, op, value in self.radcheck:
            check.setdefault(name, []).append((attribute, op, value))
        for name, attribute, op, value in self.radreply:
            reply.setdefault(name, []).append((attribute, op, value))
        for name, group, priority in self.radusergroup:
            groups.setdefault(name, []).append((group, priority))
        names = sorted(check.keys() | reply.keys() | groups.keys())
        return {
            name: UserRows(tuple(check.get(name, ())), tuple(reply.get(name, ())), tuple(groups.get(name, ())))
            for name in names
        }

    @classmethod
    def of(cls, users: Iterable[tuple[str, UserRows]]) -> Rows:
        """The rows of `users`, each user's rows together and in order."""
        pairs = list(users)
        return cls(
            radcheck=tuple((name, *item) for name, rows in pairs for item in rows.check),
            radreply=tuple((name, *item) for name, rows in pairs for item in rows.reply),
            radusergroup=tuple((name, *group) for name, rows in pairs for group in rows.groups),
        )


def _checked(value: str, what: str) -> str:
    try:
        return check_value(value, what)
    except OptionsError as error:  # a value of the account, not of the options
        raise FormatError(str(error)) from None


def user_rows(account: Account, options: RadiusSqlOptions) -> UserRows:
    """The rows of one login: the same check and reply items as its `users` file entry."""
    crypt = account.password_crypt
    what = f"service {account.service_id}: password hash"
    check = [] if crypt is None else [(CRYPT, SET, _checked(crypt, what))]
    reply = [(attribute, EQUALS, value) for attribute, value in options.reply]
    groups = [] if options.group is None else [(options.group, options.priority)]
    if account.locked or crypt is None:
        check.append((AUTH_TYPE, SET, REJECT))
        reply = [(REPLY_MESSAGE, EQUALS, options.suspended_message)] if account.locked else []
        groups = []
    return UserRows(tuple(check), tuple(reply), tuple(groups))


def desired_users(accounts: Sequence[Account], options: RadiusSqlOptions) -> dict[str, UserRows]:
    """User name (the login) -> rows, sorted by name; two services with one login are refused."""
    logins = exported(accounts, KINDS)
    users = keyed([(_checked(a.login, f"service {a.service_id}: login"), a) for a in logins], "RADIUS user")
    return {name: user_rows(account, options) for name, account in users}


def desired_rows(accounts: Sequence[Account], options: RadiusSqlOptions) -> Rows:
    """The exact rows radcheck, radreply and radusergroup should hold for `accounts`.

    Only radius_login services are exported; FormatError for two services with one
    login, or a login or hash that cannot be stored.
    """
    return Rows.of(desired_users(accounts, options).items())


def held(rows: Rows) -> dict[str, Held]:
    """Every user name of `rows` as a Held value, as the `radius_users` reader keys and describes it."""
    found: dict[str, Held] = {}
    for name, user in rows.users().items():
        entry = users_held(name, list(user.check), list(user.reply))
        groups = ", ".join(f"{group} ({priority})" for group, priority in user.groups)
        found[name] = Held(name, {**entry.attributes, "groups": groups})
    return found


def desired_held(accounts: Sequence[Account], options: RadiusSqlOptions) -> dict[str, Held]:
    """What the tables should hold for `accounts`, in the shape `sync.held` reads them."""
    return held(desired_rows(accounts, options))
