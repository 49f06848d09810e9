"""Exporting a tenant's accounts to its targets: render from billing, write whole.

`export_target` is idempotent: it renders the target's files from the current desired
state and makes the folder hold exactly them, so running it twice, late, or after a
crash leaves the same files. The target's row is locked for the export, so two workers
never write one folder at once. Each export is recorded in `export_runs`.

The caller passes the tenant's exports root (the operator's exports folder joined with
the tenant's slug: platform code does not resolve tenants) and the box that opens
sealed passwords, for accounts whose crypt(3) hash has not been made yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..crypto.secretbox import SecretBox
from . import files
from .desired import desired_accounts, fill_password_crypts
from .formats import bind
from .formats.base import FORMATS, options_from
from .tables import export_runs
from .targets import Target, get_target, list_targets


@dataclass(frozen=True, slots=True)
class Exported:
    target: str
    accounts: int
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    diff: str | None = None  # a dry run's unified diff; None when files were written

    @property
    def outcome(self) -> str:
        return "written" if self.changed or self.removed else "unchanged"


def target_folder(root: Path, target: Target) -> Path:
    """Where a target's files go: its folder under the tenant's exports root."""
    return root / target.folder


async def render_target(conn: AsyncConnection, target: Target, folder: Path) -> tuple[int, dict[str, str]]:
    """The number of accounts and the files the target should hold now.

    A zone's serial must grow when the zone changes and stay when it does not, so BIND
    zones are rendered against the zones the folder holds now.
    """
    fmt = FORMATS[target.format]
    accounts = await desired_accounts(conn, fmt.kinds)
    options = options_from(target.format, target.options)
    if fmt is bind.FORMAT:
        return len(accounts), bind.render_keeping_serials(accounts, options, files.current(folder), date.today())
    return len(accounts), fmt.render(accounts, options)


async def export_target(
    conn: AsyncConnection, box: SecretBox, root: Path, name: str, *, dry_run: bool = False
) -> Exported:
    """Write the target's files from the current state (or, dry, say what would change)."""
    started = datetime.now(UTC)
    target = await get_target(conn, name, for_update=True)
    if not dry_run:
        await fill_password_crypts(conn, box)
    folder = target_folder(root, target)
    count, rendered = await render_target(conn, target, folder)
    if dry_run:
        change = files.diff(folder, rendered)
        return Exported(target.name, count, (), (), change)
    written = files.write_whole(folder, rendered)
    result = Exported(target.name, count, written.changed, written.removed)
    await conn.execute(
        insert(export_runs).values(
            target_id=target.id,
            started_at=started,
            finished_at=datetime.now(UTC),
            outcome=result.outcome,
            accounts=count,
            files=dict(written.digests),
        )
    )
    return result


async def export_all(conn: AsyncConnection, box: SecretBox, root: Path) -> list[Exported]:
    """Export every enabled target of the tenant, in name order."""
    return [await export_target(conn, box, root, target.name) for target in await list_targets(conn, enabled_only=True)]
