"""Exporting a tenant's accounts to its targets, from billing's current state.

`export_target` is idempotent. A file target's files are rendered whole from the
desired state and the folder made to hold exactly them; a directory (LDAP, SQL tables)
is compared with the desired state and only the differences applied. Either way,
running it twice, late, or after a crash leaves the same result. The target's row is
locked for the export, so two workers never export one target at once. Each export is
recorded in `export_runs`.

The caller passes the tenant's exports root (the operator's exports folder joined with
the tenant's slug: platform code does not resolve tenants) and the box that opens
sealed passwords, for accounts whose crypt(3) hash has not been made yet.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..crypto.secretbox import SecretBox
from . import files
from .accounts import Account
from .desired import ALL_KINDS, desired_accounts, fill_password_crypts
from .directories import DIRECTORIES, Directory, Where
from .formats import bind
from .formats.base import FORMATS, options_from
from .jobs import record_done
from .tables import export_runs
from .targets import Target, TargetError, get_target, list_targets, target_secret


@dataclass(frozen=True, slots=True)
class Exported:
    target: str
    accounts: int
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    diff: str | None = None  # a dry run's unified diff; None when files were written
    counts: Mapping[str, int] | None = None  # a directory's added, modified, deleted

    @property
    def outcome(self) -> str:
        return "written" if self.changed or self.removed else "unchanged"


def target_folder(root: Path, target: Target) -> Path:
    """Where a target's files go: its folder under the tenant's exports root."""
    return root / target.folder


def for_target(accounts: Sequence[Account], kinds: Collection[str], options: Any) -> list[Account]:
    """The accounts a target exports: its format's kinds, narrowed by a `kinds` option."""
    wanted = set(kinds) & set(getattr(options, "kinds", kinds))
    return [account for account in accounts if account.kind in wanted]


async def render_target(
    conn: AsyncConnection, target: Target, folder: Path, accounts: Sequence[Account] | None = None
) -> tuple[int, dict[str, str]]:
    """The number of accounts and the files the target should hold now (from `accounts`,
    every exported account loaded once for several targets, or loaded here).

    A zone's serial must grow when the zone changes and stay when it does not, so BIND
    zones are rendered against the zones the folder holds now.
    """
    fmt = FORMATS[target.format]
    options = options_from(target.format, target.options)
    chosen = for_target(
        accounts if accounts is not None else await desired_accounts(conn, fmt.kinds), fmt.kinds, options
    )
    if fmt is bind.FORMAT:
        return len(chosen), bind.render_keeping_serials(chosen, options, files.current(folder), date.today())
    return len(chosen), fmt.render(chosen, options)


def directory_secret(box: SecretBox, target: Target, directory: Directory) -> str | None:
    secret = target_secret(box, target)
    if secret is None and directory.needs_secret:
        raise TargetError(
            f"target {target.name!r} ({target.format}) has no secret (bind password or signing key): add it again"
        )
    return secret


async def directory_accounts(
    conn: AsyncConnection, directory: Directory, options: Any, accounts: Sequence[Account] | None = None
) -> list[Account]:
    loaded = accounts if accounts is not None else await desired_accounts(conn, directory.kinds)
    return for_target(loaded, directory.kinds, options)


async def _sync_directory(
    conn: AsyncConnection,
    box: SecretBox,
    target: Target,
    directory: Directory,
    *,
    dry_run: bool,
    loaded: Sequence[Account] | None,
    where: Where,
) -> Exported:
    options = directory.options_from(target.options)
    accounts = await directory_accounts(conn, directory, options, loaded)
    secret = directory_secret(box, target, directory)
    report = await directory.sync(options, secret, accounts, dry_run=dry_run, where=where)
    counts = {"added": report.added, "modified": report.modified, "deleted": report.deleted}
    if dry_run:
        return Exported(target.name, len(accounts), (), (), "".join(line + "\n" for line in report.lines), counts)
    return Exported(target.name, len(accounts), report.lines, (), None, counts)


async def export_target(
    conn: AsyncConnection,
    box: SecretBox,
    root: Path,
    name: str,
    *,
    dry_run: bool = False,
    accounts: Sequence[Account] | None = None,
    commands_dir: Path | None = None,
) -> Exported:
    """Export the target from the current state (or, dry, say what would change).

    `accounts`: every exported account, when the caller exports several targets and
    loads them once (`all_accounts`); else the target's are loaded here. `commands_dir`:
    the operator's folder of programs that command targets may run."""
    started = datetime.now(UTC)
    target = await get_target(conn, name, for_update=True)
    if not dry_run:
        await fill_password_crypts(conn, box)
    directory = DIRECTORIES.get(target.format)
    if directory is not None:
        where = Where(target_folder(root, target), commands_dir)
        result = await _sync_directory(conn, box, target, directory, dry_run=dry_run, loaded=accounts, where=where)
        if not dry_run:
            await _record(conn, target, started, result, dict(result.counts or {}))
        return result
    folder = target_folder(root, target)
    count, rendered = await render_target(conn, target, folder, accounts)
    if dry_run:
        change = files.diff(folder, rendered)
        return Exported(target.name, count, (), (), change)
    written = files.write_whole(folder, rendered)
    result = Exported(target.name, count, written.changed, written.removed)
    await _record(conn, target, started, result, dict(written.digests))
    return result


async def _record(
    conn: AsyncConnection, target: Target, started: datetime, result: Exported, details: dict[str, object]
) -> None:
    await conn.execute(
        insert(export_runs).values(
            target_id=target.id,
            started_at=started,
            finished_at=datetime.now(UTC),
            outcome=result.outcome,
            accounts=result.accounts,
            files=details,
        )
    )


UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


@dataclass(frozen=True, slots=True)
class Failed:
    target: str
    error: Exception


async def export_each(
    units: UnitOfWork,
    box: SecretBox,
    root: Path,
    *,
    commands_dir: Path | None = None,
    only: str | None = None,
    job: int | None = None,
) -> list[Exported | Failed]:
    """Export every enabled target, or only the one named `only` (if it is still enabled:
    else nothing), each in a transaction of its own (`units()` opens one), so that a
    target that is down does not hold up the others' exports.

    `job`: the outbox id of the message being run. When every target is exported, the
    job is recorded done in the last one's transaction (in the first, when there is
    nothing to export); a failure is the caller's to record (`jobs.record_failure`)."""
    async with units() as conn:
        await fill_password_crypts(conn, box)
        enabled = await list_targets(conn, enabled_only=True)
        names = [target.name for target in enabled if only is None or target.name == only]
        accounts = await all_accounts(conn) if names else []
        if job is not None and not names:
            await record_done(conn, job)
    results: list[Exported | Failed] = []
    for index, name in enumerate(names):
        last = index == len(names) - 1
        try:
            async with units() as conn:
                exported = await export_target(conn, box, root, name, accounts=accounts, commands_dir=commands_dir)
                if job is not None and last and not any(isinstance(r, Failed) for r in results):
                    await record_done(conn, job)
            results.append(exported)  # committed
        except Exception as error:  # reported to the caller, which retries or gives up
            results.append(Failed(name, error))
    return results


async def export_all(
    conn: AsyncConnection, box: SecretBox, root: Path, *, commands_dir: Path | None = None
) -> list[Exported]:
    """Export every enabled target of the tenant, in name order, in the caller's transaction."""
    await fill_password_crypts(conn, box)
    names = [target.name for target in await list_targets(conn, enabled_only=True)]
    accounts = await all_accounts(conn) if names else []
    return [await export_target(conn, box, root, name, accounts=accounts, commands_dir=commands_dir) for name in names]


async def all_accounts(conn: AsyncConnection) -> list[Account]:
    """Every account any target may export (all kinds), loaded once for several targets."""
    return await desired_accounts(conn, ALL_KINDS)
