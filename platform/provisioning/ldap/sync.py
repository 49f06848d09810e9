"""Synchronising an LDAP directory with a tenant's services: the only module that talks to it.

`sync` builds the desired entries (`entries`), reads what the directory holds below the
managed containers, plans the difference (`plan`) and applies it: add, modify, delete.
It is idempotent (a second run with the same accounts changes nothing) and a dry run
reads but never writes. A sync that fails half-way leaves the changes made so far;
running it again finishes the job.

The bind DN must be allowed to read, add, modify and delete below base_dn, including
`userPassword` (a bind DN that cannot read it sees every hash as missing and rewrites
them all on each run). Every failure the server or the network reports becomes one
`DirectoryError` naming the URL and the step that failed, never the password.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from ldap3 import (
    ALL_ATTRIBUTES,
    AUTO_BIND_NONE,
    BASE,
    MODIFY_REPLACE,
    NONE,
    SUBTREE,
    SYNC,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult
from ldap3.utils.dn import parse_dn

from ..accounts import Account
from .entries import Attributes, Entries, containers, desired_entries, dn_key
from .options import LdapOptions
from .plan import Changes, plan

__all__ = [
    "Changes",
    "DirectoryError",
    "SyncResult",
    "apply",
    "connect",
    "current_entries",
    "ensure_containers",
    "plan",
    "read_entries",
    "sync",
]

PAGE_SIZE = 500  # entries per search page; slapd's default size limit for non-root binds
ENTRIES_MAX = 500_000  # below the managed containers; more means base_dn is wrong
T = TypeVar("T")


class DirectoryError(Exception):
    """The directory server refused or could not be reached; the message says where and what."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: int  # entries, the managed containers included
    modified: int
    deleted: int
    lines: tuple[str, ...]  # what changed (or would change, in a dry run), as a diff
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.deleted)


def _run(where: str, what: str, step: Callable[[], T], *, secret: str = "") -> T:
    """`step()`, with an LDAP or network failure turned into DirectoryError."""
    try:
        return step()
    except LDAPException as error:
        detail = str(error) or type(error).__name__
        if secret:  # a server's diagnostic text may echo what it was sent
            detail = detail.replace(secret, "***")
        raise DirectoryError(f"LDAP server {where}: {what} failed: {detail}") from None


@contextmanager
def connect(options: LdapOptions, password: str) -> Iterator[Connection]:
    """A connection bound as `options.bind_dn`, over TLS when the URL or start_tls asks for it.

    TLS certificates are verified against the system's CAs and the URL's host name.
    Opening and binding are separate steps rather than ldap3's auto_bind, so that a
    failed attempt still closes its socket (ldap3 leaves it open when it raises).
    """
    if not password:
        raise DirectoryError(f"LDAP server {options.url}: no bind password is stored for {options.bind_dn!r}")
    host, port, use_ssl = options.address()
    tls = Tls(validate=ssl.CERT_REQUIRED, sni=host) if use_ssl or options.start_tls else None
    server = Server(host, port=port, use_ssl=use_ssl, tls=tls, get_info=NONE, connect_timeout=options.timeout_s)
    conn = Connection(
        server,
        user=options.bind_dn,
        password=password,
        client_strategy=SYNC,
        raise_exceptions=True,
        receive_timeout=options.timeout_s,
        auto_bind=AUTO_BIND_NONE,
    )

    def open_and_bind() -> None:
        conn.open(read_server_info=False)
        if options.start_tls:
            conn.start_tls(read_server_info=False)
        conn.bind(read_server_info=False)

    try:
        _run(options.url, f"connecting and binding as {options.bind_dn!r}", open_and_bind, secret=password)
        yield conn
    finally:
        _close(conn)


def _close(conn: Connection) -> None:
    # The connection is being dropped; an error that matters was already raised.
    with suppress(LDAPException, OSError):
        conn.unbind()
    if conn.socket is not None:
        conn.socket.close()


def _where(conn: Connection) -> str:
    return str(conn.server.name)  # "ldap://host:port", for messages


def _exists(conn: Connection, dn: str) -> bool:
    def look() -> bool:
        try:
            conn.search(dn, "(objectClass=*)", BASE, attributes=["1.1"])  # 1.1: no attributes, only the answer
        except LDAPNoSuchObjectResult:
            return False
        return True

    return _run(_where(conn), f"looking up {dn!r}", look)


def ensure_containers(conn: Connection, options: LdapOptions, *, create: bool = True) -> list[str]:
    """The managed ou= containers that were missing; with `create` they are added."""
    wanted = containers(options)
    missing = [dn for dn in wanted if not _exists(conn, dn)]

    def add(dn: str) -> None:
        try:
            conn.add(dn, attributes=wanted[dn])
        except LDAPNoSuchObjectResult:
            raise DirectoryError(
                f"LDAP server {_where(conn)}: base_dn {options.base_dn!r} does not exist there; "
                "create it or correct base_dn"
            ) from None

    if create:
        for dn in missing:
            _run(_where(conn), f"adding container {dn!r}", partial(add, dn))
    return missing


def _decoded(raw: Mapping[str, Sequence[bytes]]) -> Attributes:
    # Only compared, never written back, so a binary value (a photo) read lossily is harmless.
    return {name: [value.decode("utf-8", errors="replace") for value in values] for name, values in raw.items()}


def read_entries(conn: Connection, options: LdapOptions) -> Entries:
    """DN -> attributes of every entry below the managed containers (not the containers).

    A missing container reads as empty (a dry run does not create it).
    """
    found: Entries = {}

    def search(container: str) -> None:
        results: Any = conn.extend.standard.paged_search(
            container, "(objectClass=*)", SUBTREE, attributes=ALL_ATTRIBUTES, paged_size=PAGE_SIZE, generator=True
        )
        for result in results:
            if result.get("type") != "searchResEntry" or dn_key(result["dn"]) == dn_key(container):
                continue  # a referral, or the container itself
            found[result["dn"]] = _decoded(result["raw_attributes"])
            if len(found) > ENTRIES_MAX:
                raise DirectoryError(
                    f"LDAP server {_where(conn)}: more than {ENTRIES_MAX} entries below {container!r}; "
                    "is base_dn the tree Bureau should manage?"
                )

    for container in containers(options):
        if _exists(conn, container):
            _run(_where(conn), f"searching below {container!r}", partial(search, container))
    return found


def current_entries(conn: Connection, options: LdapOptions) -> Entries:
    """The entries below the managed containers, creating the containers first if missing."""
    ensure_containers(conn, options)
    return read_entries(conn, options)


def apply(conn: Connection, changes: Changes) -> None:
    """Delete (deepest first), add (parents first), then replace attributes."""
    where = _where(conn)
    for dn in changes.delete:
        _run(where, f"deleting {dn!r}", partial(conn.delete, dn))
    for dn in sorted(changes.add, key=lambda dn: len(parse_dn(dn, strip=True))):
        attributes = changes.add[dn]
        _run(where, f"adding {dn!r}", partial(conn.add, dn, attributes=attributes))
    for dn, replaced in changes.replace.items():
        modification = {name: [(MODIFY_REPLACE, values)] for name, values in replaced.items()}
        _run(where, f"modifying {dn!r} ({', '.join(replaced)})", partial(conn.modify, dn, modification))


def sync(options: LdapOptions, password: str, accounts: Sequence[Account], *, dry_run: bool = False) -> SyncResult:
    """Make the directory hold exactly `accounts` (active and suspended services) below base_dn.

    FormatError (two accounts with one user name, a value LDAP cannot hold) is raised
    before connecting; DirectoryError for anything the server or network refuses.
    """
    desired = desired_entries(accounts, options)
    with connect(options, password) as conn:
        missing = ensure_containers(conn, options, create=not dry_run)
        changes = plan(desired, read_entries(conn, options))
        if not dry_run:
            apply(conn, changes)
    return SyncResult(
        added=len(missing) + len(changes.add),
        modified=len(changes.replace),
        deleted=len(changes.delete),
        lines=(*(f"+ {dn}" for dn in missing), *changes.lines()),
        dry_run=dry_run,
    )
