"""The options of an LDAP target, built from staff's JSON like a file format's.

The bind password is not an option: it is stored sealed with the target and handed to
`sync` as a string, so it never sits in the options JSON, in logs or in error messages.
Unix user naming is `formats.naming.UnixNaming` (`user_from`, `realm_separator`), so a
login gets the same user name in LDAP as in a passwd file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

from ..formats import options as building
from ..formats.base import OptionsError
from ..formats.naming import UNIX_KINDS, UnixNaming, UnixUsers

NAME = "ldap"  # in OptionsError messages, where a file format's name would be
LDAP_KINDS = UNIX_KINDS | {"domain"}
SCHEMES = {"ldap": 389, "ldaps": 636}  # scheme -> default port
PORT_MAX = 65_535
TIMEOUT_MIN_S, TIMEOUT_MAX_S = 1, 300  # per connect and per answer, not for a whole sync


def check_dn(dn: str, what: str) -> str:
    """`dn` if it is a non-empty DN ("dc=isp,dc=example"); otherwise OptionsError."""
    try:
        parse_dn(dn, strip=True)
    except LDAPInvalidDnError as error:
        raise OptionsError(f"{what} {dn!r} is not a distinguished name like 'dc=isp,dc=example' ({error})") from None
    return dn


@dataclass(frozen=True, slots=True, kw_only=True)
class LdapOptions(UnixNaming):
    url: str  # ldap://host[:port] or ldaps://host[:port]
    base_dn: str  # the managed containers (ou=accounts, ou=domains) are made below it
    bind_dn: str
    start_tls: bool = False  # only with ldap://; ldaps:// is TLS from the first byte
    timeout_s: int = 10
    kinds: tuple[str, ...] = tuple(sorted(LDAP_KINDS))  # a subset, to split kinds across targets
    gid: int = 100
    home_base: str = "/home"
    shells: Mapping[str, str] = field(default_factory=dict)  # per kind; missing kinds use naming.DEFAULT_SHELLS

    def __post_init__(self) -> None:
        self.address()  # raises OptionsError for a bad url
        if self.start_tls and urlsplit(self.url).scheme == "ldaps":
            raise OptionsError(f"url {self.url!r} is already TLS (ldaps://); set start_tls only with ldap://")
        check_dn(self.base_dn, "base_dn")
        check_dn(self.bind_dn, "bind_dn")
        if not TIMEOUT_MIN_S <= self.timeout_s <= TIMEOUT_MAX_S:
            raise OptionsError(f"timeout_s {self.timeout_s} is out of range {TIMEOUT_MIN_S}..{TIMEOUT_MAX_S}")
        unknown = sorted(set(self.kinds) - LDAP_KINDS)
        if unknown:
            raise OptionsError(f"kinds {unknown} cannot be exported to LDAP; choose from {sorted(LDAP_KINDS)}")
        self.unix_users()  # gid, home_base and shells are checked where the passwd formats check them

    def address(self) -> tuple[str, int, bool]:
        """(host, port, TLS from the start) from `url`; OptionsError says what is wrong with it."""
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as error:  # a port that is not a number or out of range
            raise OptionsError(f"url {self.url!r} cannot be read: {error}") from None
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise OptionsError(f"url {self.url!r} must look like ldap://host:389 or ldaps://host:636")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
            raise OptionsError(
                f"url {self.url!r} may hold only scheme, host and port; the base DN is the base_dn option "
                "and the bind password is stored separately"
            )
        if port == 0:
            raise OptionsError(f"url {self.url!r} has port 0; use 1..{PORT_MAX}")
        return parts.hostname, port or SCHEMES[parts.scheme], parts.scheme == "ldaps"

    def unix_users(self) -> UnixUsers:
        """The Unix side of these options, as the passwd-like formats take it (homes, shells)."""
        return UnixUsers(
            user_from=self.user_from,
            realm_separator=self.realm_separator,
            gid=self.gid,
            home_base=self.home_base,
            shells=self.shells,
            kinds=tuple(kind for kind in self.kinds if kind in UNIX_KINDS),
        )


def options_from(mapping: Mapping[str, Any]) -> LdapOptions:
    """LdapOptions from staff's JSON; OptionsError names the option that is wrong."""
    return building.build(LdapOptions, mapping, NAME)
