"""Targets that are synchronised rather than rendered: LDAP and the FreeRADIUS SQL tables.

A file target is written whole from the desired state (`export.py`); a directory is a
live system that holds entries, so it is compared with the desired state and only the
differences are applied. Each directory kind says which service kinds it takes, how its
options are built, how to sync, what it holds (for reconciliation) and what it should
hold. `sync` and `held` are coroutines here; the LDAP client blocks, so its calls run in
a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .accounts import Account
from .formats.base import Held
from .formats.radius_users import KINDS as RADIUS_KINDS
from .ldap import entries as ldap_entries
from .ldap import read as ldap_read
from .ldap import sync as ldap_sync
from .ldap.options import LDAP_KINDS
from .ldap.options import options_from as ldap_options
from .radius_sql import options as sql_options
from .radius_sql import rows as sql_rows
from .radius_sql import sync as sql_sync


class SyncReport(Protocol):
    @property
    def added(self) -> int: ...
    @property
    def modified(self) -> int: ...
    @property
    def deleted(self) -> int: ...
    @property
    def lines(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Directory:
    name: str
    kinds: frozenset[str]
    options_from: Callable[[Mapping[str, Any]], Any]
    sync: Callable[..., Awaitable[SyncReport]]  # (options, secret, accounts, *, dry_run) -> report
    held: Callable[[Any, str | None], Awaitable[dict[str, Held]]]  # (options, secret) -> what it holds
    should_hold: Callable[[Sequence[Account], Any], dict[str, Held]]  # pure
    needs_secret: bool  # LDAP always binds with a password; PostgreSQL may trust the host


async def _ldap_sync(options: Any, secret: str | None, accounts: Sequence[Account], *, dry_run: bool) -> SyncReport:
    return await asyncio.to_thread(ldap_sync.sync, options, secret or "", accounts, dry_run=dry_run)


async def _ldap_held(options: Any, secret: str | None) -> dict[str, Held]:
    def read() -> dict[str, Held]:
        with ldap_sync.connect(options, secret or "") as conn:
            return ldap_read.held(ldap_sync.read_entries(conn, options), options)

    return await asyncio.to_thread(read)


def _ldap_should_hold(accounts: Sequence[Account], options: Any) -> dict[str, Held]:
    return ldap_read.held(ldap_entries.desired_entries(accounts, options), options)


LDAP = Directory(
    name="ldap",
    kinds=frozenset(LDAP_KINDS),
    options_from=ldap_options,
    sync=_ldap_sync,
    held=_ldap_held,
    should_hold=_ldap_should_hold,
    needs_secret=True,
)

RADIUS_SQL = Directory(
    name=sql_options.NAME,
    kinds=frozenset(RADIUS_KINDS),
    options_from=sql_options.options_from,
    sync=sql_sync.sync,
    held=sql_sync.held,
    should_hold=sql_rows.desired_held,
    needs_secret=False,
)

DIRECTORIES: dict[str, Directory] = {d.name: d for d in (LDAP, RADIUS_SQL)}

# Errors a directory raises when the far end refuses or cannot be reached: worth a retry.
UNREACHABLE: tuple[type[Exception], ...] = (ldap_sync.DirectoryError, sql_sync.SqlTargetError)
