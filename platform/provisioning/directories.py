"""Targets that are synchronised rather than rendered: LDAP, FreeRADIUS's SQL tables, an
operator's commands and a signed webhook.

A file target is written whole from the desired state (`export.py`); a directory is a
live system that holds entries, so it is compared with the desired state and only the
differences are applied. Each directory kind says which service kinds it takes, how its
options are built, how to sync, what it holds (for reconciliation) and what it should
hold. `sync` and `held` are coroutines here; the LDAP client blocks, so its calls run in
a thread. The command and webhook targets cannot read back what the far end holds: they
keep what they last applied in a state file in the target's folder (`applied/`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .accounts import Account
from .applied.state import StateError
from .command import options as command_options
from .command import sync as command_sync
from .command import values as command_values
from .command.run import CommandFailed
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
from .webhook import options as webhook_options
from .webhook import payload as webhook_payload
from .webhook import sync as webhook_sync


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
class Where:
    """What a target may need of the host: its own folder, and the operator's commands folder."""

    folder: Path
    commands_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class Directory:
    name: str
    kinds: frozenset[str]
    options_from: Callable[[Mapping[str, Any]], Any]
    sync: Callable[..., Awaitable[SyncReport]]  # (options, secret, accounts, *, dry_run, where) -> report
    held: Callable[[Any, str | None, Where], Awaitable[dict[str, Held]]]  # what it holds
    should_hold: Callable[[Sequence[Account], Any], dict[str, Held]]  # pure
    needs_secret: bool  # LDAP always binds with a password; PostgreSQL may trust the host


async def _ldap_sync(
    options: Any, secret: str | None, accounts: Sequence[Account], *, dry_run: bool, where: Where
) -> SyncReport:
    return await asyncio.to_thread(ldap_sync.sync, options, secret or "", accounts, dry_run=dry_run)


async def _ldap_held(options: Any, secret: str | None, where: Where) -> dict[str, Held]:
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


async def _sql_sync(
    options: Any, secret: str | None, accounts: Sequence[Account], *, dry_run: bool, where: Where
) -> SyncReport:
    return await sql_sync.sync(options, secret, accounts, dry_run=dry_run)


async def _sql_held(options: Any, secret: str | None, where: Where) -> dict[str, Held]:
    return await sql_sync.held(options, secret)


RADIUS_SQL = Directory(
    name=sql_options.NAME,
    kinds=frozenset(RADIUS_KINDS),
    options_from=sql_options.options_from,
    sync=_sql_sync,
    held=_sql_held,
    should_hold=sql_rows.desired_held,
    needs_secret=False,
)


async def _command_sync(
    options: Any, secret: str | None, accounts: Sequence[Account], *, dry_run: bool, where: Where
) -> SyncReport:
    return await command_sync.sync(
        options, secret, accounts, dry_run=dry_run, folder=where.folder, commands_dir=where.commands_dir
    )


async def _command_held(options: Any, secret: str | None, where: Where) -> dict[str, Held]:
    return await command_sync.held(options, secret, folder=where.folder, commands_dir=where.commands_dir)


COMMAND = Directory(
    name=command_options.NAME,
    kinds=frozenset(command_options.COMMAND_KINDS),
    options_from=command_options.options_from,
    sync=_command_sync,
    held=_command_held,
    should_hold=command_values.desired_held,
    needs_secret=False,
)


async def _webhook_sync(
    options: Any, secret: str | None, accounts: Sequence[Account], *, dry_run: bool, where: Where
) -> SyncReport:
    return await webhook_sync.sync(options, secret, accounts, dry_run=dry_run, folder=where.folder)


async def _webhook_held(options: Any, secret: str | None, where: Where) -> dict[str, Held]:
    return await webhook_sync.held(options, secret, folder=where.folder)


WEBHOOK = Directory(
    name=webhook_options.NAME,
    kinds=frozenset(webhook_options.WEBHOOK_KINDS),
    options_from=webhook_options.options_from,
    sync=_webhook_sync,
    held=_webhook_held,
    should_hold=webhook_payload.desired_held,
    needs_secret=True,
)

DIRECTORIES: dict[str, Directory] = {d.name: d for d in (LDAP, RADIUS_SQL, COMMAND, WEBHOOK)}

# Errors of a far end that refuses or cannot be reached now: worth a retry.
UNREACHABLE: tuple[type[Exception], ...] = (
    ldap_sync.DirectoryError,
    sql_sync.SqlTargetError,
    CommandFailed,
    webhook_sync.WebhookFailed,
    StateError,
)
