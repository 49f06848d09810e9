"""What a directory holds, as `Held` values keyed like the file formats, for reconciliation (pure).

Accounts are keyed by their Unix user name (`uid`, else the value the DN is named by),
domains by their domain name (`associatedDomain`, else the DN's value), so an entry a
person added by hand under a managed container is found whatever it looks like. Both
sides of a comparison go through here: `held(desired_entries(...))` is what should be
there and `held(current_entries(...))` what is.

An account reads as locked when its `{CRYPT}` hash starts with '!' or it has any
`shadowExpire`: Bureau sets neither on an active account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ldap3.utils.dn import parse_dn

from ..formats.base import NO, YES, FormatError, Held
from .entries import ACCOUNTS, CRYPT, DOMAINS, LOCK, SUSPENDED, Attributes, container_dn, dn_key
from .options import LdapOptions


def _first(attributes: Mapping[str, Sequence[str]], name: str) -> str | None:
    for key, values in attributes.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None


def _rdn_value(dn: str) -> str:
    value: str = parse_dn(dn, strip=True)[0][1]
    return value


def _account(dn: str, attributes: Attributes) -> Held:
    key = _first(attributes, "uid") or _rdn_value(dn)
    found = {
        name: value
        for name, value in (
            ("uid", _first(attributes, "uidNumber")),
            ("gid", _first(attributes, "gidNumber")),
            ("home", _first(attributes, "homeDirectory")),
            ("shell", _first(attributes, "loginShell")),
        )
        if value is not None
    }
    password = _first(attributes, "userPassword") or ""
    hash_locked = password[: len(CRYPT)].upper() == CRYPT and password[len(CRYPT) :].startswith(LOCK)
    found["locked"] = YES if hash_locked or _first(attributes, "shadowExpire") is not None else NO
    return Held(key, found)


def _domain(dn: str, attributes: Attributes) -> Held:
    key = (_first(attributes, "associatedDomain") or _rdn_value(dn)).lower()
    suspended = (_first(attributes, "description") or "").endswith(SUSPENDED)
    return Held(key, {"locked": YES if suspended else NO})


def held(entries: Mapping[str, Attributes], options: LdapOptions) -> dict[str, Held]:
    """Entries below the managed containers as Held values; other DNs are ignored.

    Two entries with one key (two accounts with one uid, or an account named like a
    domain) raise FormatError naming both DNs: only a person can tell which is meant.
    """
    below = {
        ou: "," + dn_key(container_dn(ou, options)) for ou in (ACCOUNTS, DOMAINS)
    }  # a suffix: entries below, at any depth
    found: dict[str, Held] = {}
    dns: dict[str, str] = {}
    for dn, attributes in sorted(entries.items()):
        key = dn_key(dn)
        if key.endswith(below[ACCOUNTS]):
            entry = _account(dn, attributes)
        elif key.endswith(below[DOMAINS]):
            entry = _domain(dn, attributes)
        else:
            continue
        if entry.key in found:
            raise FormatError(
                f"{dns[entry.key]!r} and {dn!r} both read as {entry.key!r}; remove or rename one of the entries"
            )
        found[entry.key], dns[entry.key] = entry, dn
    return found
