"""Reconciliation: does what each target holds match what is billed?

For a directory (LDAP, SQL tables), what it holds is read from it and compared with
what it should hold. For a file target, the files the target should hold are rendered from billing's current
state and read back with the format's own reader, and so are the files it does hold;
the two are compared entry by entry (`Held`: a key such as the Unix user name, mail
address or domain, and the attributes worth comparing). Findings:

- **missing**: billed and active or suspended, but not on the target;
- **unbilled**: on the target, but not billed (a hand-added account, or one an
  attacker slipped in): with the target's policy `remove` the next export (or
  `--fix`) takes it out; with `flag` it is reported and the files are left alone
  until a person decides;
- **differing**: on both, with different attributes (uid, home, lock, address).

RADIUS: a live session (authorised or open) of a service that is not active is
reported; the operator disconnects it (`bureau session disconnect`).

Each run is stored in `reconciliations` with up to `MAX_FINDINGS` findings.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..crypto.secretbox import SecretBox
from ..sessions.control import LIVE
from ..sessions.tables import radius_sessions
from ..subscribers.tables import services
from . import files
from .directories import DIRECTORIES, Where
from .export import directory_accounts, directory_secret, export_target, render_target, target_folder
from .formats.base import FORMATS, Held, options_from
from .tables import reconciliations
from .targets import OnUnbilled, Target, list_targets

MAX_FINDINGS = 1_000  # stored per run; the counts are always complete
SESSIONS_SUBJECT = "radius-sessions"


class Finding(enum.StrEnum):
    MISSING = "missing"
    UNBILLED = "unbilled"
    DIFFERING = "differing"
    SESSION_NOT_ACTIVE = "session of a service that is not active"


@dataclass(frozen=True, slots=True)
class Found:
    finding: Finding
    key: str
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {"finding": self.finding.value, "key": self.key, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Reconciled:
    subject: str  # the target's name, or "radius-sessions"
    findings: tuple[Found, ...]
    fixed: bool = False
    note: str | None = None
    counts: Mapping[Finding, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.findings


def compare(should: Mapping[str, Held], holds: Mapping[str, Held]) -> list[Found]:
    """What differs between the entries a target should hold and those it holds (pure)."""
    found: list[Found] = []
    for key in sorted(should.keys() - holds.keys()):
        found.append(Found(Finding.MISSING, key))
    for key in sorted(holds.keys() - should.keys()):
        found.append(Found(Finding.UNBILLED, key, _describe(holds[key].attributes)))
    for key in sorted(should.keys() & holds.keys()):
        want, have = should[key].attributes, holds[key].attributes
        changed = sorted(name for name in want.keys() | have.keys() if want.get(name) != have.get(name))
        if changed:
            detail = "; ".join(f"{name}: billed {want.get(name)!r}, target {have.get(name)!r}" for name in changed)
            found.append(Found(Finding.DIFFERING, key, detail))
    return found


def _describe(attributes: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(attributes.items()))


async def reconcile_target(
    conn: AsyncConnection,
    box: SecretBox,
    root: Path,
    target: Target,
    *,
    fix: bool = False,
    commands_dir: Path | None = None,
) -> Reconciled:
    """Compare one target with billing; with `fix`, export it again where its policy allows."""
    directory = DIRECTORIES.get(target.format)
    if directory is not None:
        options = directory.options_from(target.options)
        should = directory.should_hold(await directory_accounts(conn, directory, options), options)
        where = Where(target_folder(root, target), commands_dir)
        holds = await directory.held(options, directory_secret(box, target, directory), where)
        found = compare(should, holds)
    else:
        folder = target_folder(root, target)
        _, rendered = await render_target(conn, target, folder)
        fmt, file_options = FORMATS[target.format], options_from(target.format, target.options)
        found = compare(fmt.read(rendered, file_options), fmt.read(files.current(folder), file_options))
    fixed, note = False, None
    if fix and found:
        unbilled = [f for f in found if f.finding is Finding.UNBILLED]
        if unbilled and target.on_unbilled is OnUnbilled.FLAG:
            note = f"not rewritten: {len(unbilled)} account(s) not billed, and the target's policy is to flag them"
        else:
            await export_target(conn, box, root, target.name, commands_dir=commands_dir)
            fixed = True
    return await _store(conn, target, found, fixed, note)


async def reconcile_sessions(conn: AsyncConnection) -> Reconciled:
    """Live RADIUS sessions of services that are not active (suspended, cancelled)."""
    rows = (
        await conn.execute(
            select(radius_sessions.c.id, radius_sessions.c.login, services.c.state)
            .join(services, services.c.id == radius_sessions.c.service_id)
            .where(radius_sessions.c.state.in_(LIVE), services.c.state != "active")
            .order_by(radius_sessions.c.id)
        )
    ).all()
    found = [Found(Finding.SESSION_NOT_ACTIVE, str(row.id), f"{row.login} is {row.state}") for row in rows]
    note = "disconnect with `bureau session disconnect`" if found else None
    return await _store(conn, None, found, False, note)


async def reconcile_all(
    conn: AsyncConnection, box: SecretBox, root: Path, *, fix: bool = False, commands_dir: Path | None = None
) -> list[Reconciled]:
    """Every enabled target of the tenant, then its RADIUS sessions."""
    results = [
        await reconcile_target(conn, box, root, target, fix=fix, commands_dir=commands_dir)
        for target in await list_targets(conn, enabled_only=True)
    ]
    results.append(await reconcile_sessions(conn))
    return results


async def _store(
    conn: AsyncConnection, target: Target | None, found: Sequence[Found], fixed: bool, note: str | None
) -> Reconciled:
    subject = target.name if target is not None else SESSIONS_SUBJECT
    counts = {kind: sum(1 for f in found if f.finding is kind) for kind in Finding}
    await conn.execute(
        insert(reconciliations).values(
            target_id=target.id if target is not None else None,
            subject=subject,
            ran_at=datetime.now(UTC),
            missing=counts[Finding.MISSING],
            unbilled=counts[Finding.UNBILLED],
            differing=counts[Finding.DIFFERING] + counts[Finding.SESSION_NOT_ACTIVE],
            fixed=fixed,
            findings=[f.as_json() for f in found[:MAX_FINDINGS]],
            note=note,
        )
    )
    if fixed:
        await audit.record(conn, "target.reconcile.fix", f"target:{subject}", findings=len(found))
    return Reconciled(subject, tuple(found), fixed, note, counts)


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A stored reconciliation (the nightly job's, or a person's)."""

    subject: str
    ran_at: datetime
    missing: int
    unbilled: int
    differing: int
    fixed: bool
    note: str | None
    findings: tuple[Found, ...]  # at most MAX_FINDINGS


async def last_reconciliations(conn: AsyncConnection) -> list[StoredRun]:
    """The latest stored run per subject (each target, and the RADIUS sessions)."""
    latest = (
        select(reconciliations)
        .distinct(reconciliations.c.subject)
        .order_by(reconciliations.c.subject, reconciliations.c.id.desc())
    )
    return [
        StoredRun(
            row.subject,
            row.ran_at,
            row.missing,
            row.unbilled,
            row.differing,
            row.fixed,
            row.note,
            tuple(Found(Finding(f["finding"]), f["key"], f["detail"]) for f in row.findings),
        )
        for row in await conn.execute(latest)
    ]
