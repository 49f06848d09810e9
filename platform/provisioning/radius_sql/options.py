"""The options of a FreeRADIUS SQL target, built from staff's JSON like a file format's.

`url` names the ISP's FreeRADIUS database, libpq style, without a password:
`postgresql://bureau@radius-db.isp.example:5432/radius` or, over a Unix socket,
`postgresql://bureau@/radius?host=/run/postgresql`. The password is not an option: it
is stored sealed with the target and handed to `sync` as a string, so it never sits in
the options JSON, in logs or in error messages. `reply` and `suspended_message` are the
`radius_users` format's, checked by its own options type, so both targets give a login
the same items.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..formats import options as building
from ..formats.base import OptionsError
from ..formats.radius_users import KINDS, RadiusUsersOptions

NAME = "radius_sql"  # in OptionsError messages, where a file format's name would be
SCHEMES = ("postgresql", "postgres")  # as libpq and psql take them
QUERY_KEYS = frozenset({"host", "port", "sslmode"})  # libpq parameters a URL may carry
PORT_MAX = 65_535
PRIORITY_MIN, PRIORITY_MAX = 0, 2_147_483_647  # radusergroup.priority is a PostgreSQL integer
TIMEOUT_MIN_S, TIMEOUT_MAX_S = 1, 300  # per connect and per statement, not for a whole sync
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # unquoted PostgreSQL name, as schema.sql's
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
QUOTES = "'\"`"
DEFAULTS = RadiusUsersOptions()


def check_value(value: str, what: str) -> str:
    """`value` if rlm_sql reads it back unchanged; otherwise OptionsError.

    rlm_sql takes a Value that starts and ends with the same quote as quoted: it drops
    '"' and "'" quotes, and expands a back-quoted one as a command. An empty value or a
    control character would not survive the `users` format either.
    """
    if not value or _CONTROL.search(value):
        raise OptionsError(f"{what} {value!r} must be non-empty, without control characters")
    if value[0] in QUOTES and value[0] == value[-1]:
        raise OptionsError(
            f"{what} {value!r} starts and ends with {value[0]}, which FreeRADIUS's rlm_sql reads as quoting; "
            "remove the quotes"
        )
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class RadiusSqlOptions:
    url: str  # postgresql://user@host[:port]/database, or ...@/database?host=/socket/dir
    schema: str = "public"  # where radcheck, radreply and radusergroup are
    group: str | None = None  # a radusergroup group for every login that may log in ("broadband")
    priority: int = 1  # of that radusergroup row
    reply: tuple[tuple[str, str], ...] = DEFAULTS.reply
    suspended_message: str = DEFAULTS.suspended_message
    kinds: tuple[Literal["radius_login"], ...] = ("radius_login",)
    timeout_s: int = 10

    def __post_init__(self) -> None:
        self.address()  # raises OptionsError for a bad url
        if not IDENTIFIER.fullmatch(self.schema):
            raise OptionsError(
                f"schema {self.schema!r} must be a lower-case PostgreSQL name: a letter or '_', then letters, "
                "digits or '_', at most 63"
            )
        if self.group is not None:
            check_value(self.group, "group")
        if not PRIORITY_MIN <= self.priority <= PRIORITY_MAX:
            raise OptionsError(f"priority {self.priority} is out of range {PRIORITY_MIN}..{PRIORITY_MAX}")
        self.users_options()  # reply items and message, checked as the users file checks them
        for attribute, value in self.reply:
            check_value(value, f"reply value of {attribute}")
        check_value(self.suspended_message, "suspended_message")
        if set(self.kinds) != KINDS:
            raise OptionsError(f"kinds must be {sorted(KINDS)}: FreeRADIUS's tables hold RADIUS logins only")
        if not TIMEOUT_MIN_S <= self.timeout_s <= TIMEOUT_MAX_S:
            raise OptionsError(f"timeout_s {self.timeout_s} is out of range {TIMEOUT_MIN_S}..{TIMEOUT_MAX_S}")

    def users_options(self) -> RadiusUsersOptions:
        """The `radius_users` format's options with the same reply items and message."""
        return RadiusUsersOptions(reply=self.reply, suspended_message=self.suspended_message)

    def address(self) -> URL:
        """`url` parsed; OptionsError says what is wrong with it."""
        try:
            parsed = make_url(self.url)
            port = parsed.port
        except (ArgumentError, ValueError) as error:
            raise OptionsError(f"url {self.url!r} cannot be read: {error}") from None
        if parsed.password or "password" in parsed.query:
            # Said without echoing the URL: it holds the password.
            raise OptionsError(
                "url must not contain a password; remove it from the url and give it as the target's secret, "
                "which is stored sealed"
            )
        example = "postgresql://user@host:5432/database or postgresql://user@/database?host=/run/postgresql"
        if parsed.drivername not in SCHEMES:
            raise OptionsError(f"url {self.url!r} must be a PostgreSQL URL like {example}")
        if not parsed.username:
            raise OptionsError(f"url {self.url!r} names no user; write it as {example}")
        if not parsed.database:
            raise OptionsError(f"url {self.url!r} names no database; write it as {example}")
        unknown = sorted(set(parsed.query) - QUERY_KEYS)
        if unknown:
            raise OptionsError(f"url {self.url!r} has parameters {unknown}; it may have only {sorted(QUERY_KEYS)}")
        if not parsed.host and not parsed.query.get("host"):
            raise OptionsError(f"url {self.url!r} names no host or ?host= socket folder; write it as {example}")
        if port is not None and not 1 <= port <= PORT_MAX:
            raise OptionsError(f"url {self.url!r} has port {port}; use 1..{PORT_MAX}")
        return parsed

    def where(self) -> str:
        """The database for people: "user@host:port/database", never the password."""
        parsed = self.address()
        host = parsed.host or str(parsed.query.get("host"))
        port = f":{parsed.port}" if parsed.port else ""
        return f"{parsed.username}@{host}{port}/{parsed.database}"


def options_from(mapping: Mapping[str, Any]) -> RadiusSqlOptions:
    """RadiusSqlOptions from staff's JSON; OptionsError names the option that is wrong."""
    return building.build(RadiusSqlOptions, mapping, NAME)
