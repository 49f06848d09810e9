"""Reads of provisioning for listings: targets with their times and last export, the
tenant's provisioning jobs (outbox messages), and stored reconciliation runs.

What a provisioning job is, in this data model: a row of the tenant's outbox for the
export or the reconciliation actor. The outbox says whether the relay has handed it to
the workers (`sent_at`); the worker that runs it records its outcome under its outbox id
(`job_outcomes`, `jobs.py`). A job is therefore pending (not yet sent), sent (not yet
finished), done, or failed (with what went wrong). What a job did is in what it leaves
behind: `export_runs` per target, and `reconciliations` per run.

Pages are keyset-paged by id, newest first: `before_id` 0 starts at the newest.

This module does not import `reconcile` (which loads every directory client, ldap3
among them): a listing reads stored rows only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..outbox import outbox
from .changes import EXPORT_ACTOR
from .tables import export_runs, export_targets, job_outcomes, reconciliations

# The nightly reconciliation's actor (`scheduling.JOBS`, `workers.actors.reconcile_tenant`);
# a person's reconciliation is queued for the same actor so it does exactly what the night does.
RECONCILE_ACTOR = "reconcile_tenant"
PROVISIONING_ACTORS = (EXPORT_ACTOR, RECONCILE_ACTOR)
MAX_PAGE = 100  # jobs or reconciliation runs in one page


class JobState(enum.StrEnum):
    PENDING = "pending"  # in the outbox, not yet handed to the workers
    SENT = "sent"  # handed to the workers, not finished yet
    DONE = "done"  # a worker ran it to the end (`jobs.record_done`)
    FAILED = "failed"  # its latest run failed; `error` says why (a retry may still follow)


class JobKind(enum.StrEnum):
    EXPORT = "export"
    RECONCILE = "reconcile"


_KINDS = {EXPORT_ACTOR: JobKind.EXPORT, RECONCILE_ACTOR: JobKind.RECONCILE}


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: JobKind
    actor: str
    args: Mapping[str, Any]
    created_at: datetime
    sent_at: datetime | None
    outcome: str | None = None  # done or failed, once a worker has recorded it
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def state(self) -> JobState:
        if self.outcome is not None:
            # Before sent_at, too: a relay that died after sending sends the job again.
            return JobState(self.outcome)
        return JobState.PENDING if self.sent_at is None else JobState.SENT

    @property
    def target(self) -> str | None:
        """The one target an export job exports; None: every enabled target."""
        target = self.args.get("target")
        return target if isinstance(target, str) else None


def _job(row: Row[Any]) -> Job:
    return Job(
        row.id,
        _KINDS[row.actor],
        row.actor,
        dict(row.args),
        row.created_at,
        row.sent_at,
        row.outcome,
        row.finished_at,
        row.error,
    )


def _jobs() -> Select[Any]:
    """Outbox messages with their recorded outcomes."""
    return select(outbox, job_outcomes.c.outcome, job_outcomes.c.finished_at, job_outcomes.c.error).outerjoin(
        job_outcomes, job_outcomes.c.outbox_id == outbox.c.id
    )


async def job_page(
    conn: AsyncConnection, *, before_id: int = 0, limit: int = MAX_PAGE, state: JobState | None = None
) -> list[Job]:
    """Provisioning jobs by id before `before_id`, newest first, at most `limit` (capped
    at MAX_PAGE); `state`: only the jobs in that state."""
    query = _jobs().where(outbox.c.actor.in_(PROVISIONING_ACTORS))
    if before_id:
        query = query.where(outbox.c.id < before_id)
    if state is JobState.PENDING:
        query = query.where(outbox.c.sent_at.is_(None), job_outcomes.c.outcome.is_(None))
    elif state is JobState.SENT:
        query = query.where(outbox.c.sent_at.is_not(None), job_outcomes.c.outcome.is_(None))
    elif state is not None:
        query = query.where(job_outcomes.c.outcome == state.value)
    rows = await conn.execute(query.order_by(outbox.c.id.desc()).limit(min(limit, MAX_PAGE)))
    return [_job(row) for row in rows]


async def pending_job(conn: AsyncConnection, actor: str, key: str = "") -> Job | None:
    """The unsent message for `actor` and `key`: the one `outbox.enqueue` just wrote, or
    the earlier one that stands for it (messages coalesce)."""
    row = (
        await conn.execute(_jobs().where(outbox.c.actor == actor, outbox.c.key == key, outbox.c.sent_at.is_(None)))
    ).one_or_none()
    return None if row is None else _job(row)


@dataclass(frozen=True, slots=True)
class ExportRun:
    started_at: datetime
    finished_at: datetime
    outcome: str  # written, unchanged or failed
    accounts: int
    error: str | None


@dataclass(frozen=True, slots=True)
class TargetDetails:
    """What a listing shows of a target beyond `targets.Target`."""

    created_at: datetime
    updated_at: datetime
    last_export: ExportRun | None


async def target_details(conn: AsyncConnection, target_ids: Iterable[int]) -> dict[int, TargetDetails]:
    """Times and latest export of each target, in two queries for a whole listing."""
    ids = sorted(set(target_ids))
    if not ids:
        return {}
    newest = (
        select(func.max(export_runs.c.id)).where(export_runs.c.target_id.in_(ids)).group_by(export_runs.c.target_id)
    )
    latest = select(export_runs).where(export_runs.c.id.in_(newest.scalar_subquery()))
    runs = {
        row.target_id: ExportRun(row.started_at, row.finished_at, row.outcome, row.accounts, row.error)
        for row in await conn.execute(latest)
    }
    times = select(export_targets.c.id, export_targets.c.created_at, export_targets.c.updated_at).where(
        export_targets.c.id.in_(ids)
    )
    return {
        row.id: TargetDetails(row.created_at, row.updated_at, runs.get(row.id)) for row in await conn.execute(times)
    }


@dataclass(frozen=True, slots=True)
class StoredFinding:
    finding: str  # a `reconcile.Finding` value
    key: str
    detail: str


@dataclass(frozen=True, slots=True)
class Run:
    """A stored reconciliation of one subject (a target, or the RADIUS sessions)."""

    id: int
    subject: str
    target: str | None  # the target's name; None for the RADIUS sessions
    ran_at: datetime
    missing: int
    unbilled: int
    differing: int  # for the RADIUS sessions: live sessions of services that are not active
    fixed: bool
    note: str | None
    findings: tuple[StoredFinding, ...]  # at most reconcile.MAX_FINDINGS


async def reconciliation_page(conn: AsyncConnection, *, before_id: int = 0, limit: int = MAX_PAGE) -> list[Run]:
    """Stored reconciliation runs by id before `before_id`, newest first, at most `limit`."""
    query = select(reconciliations, export_targets.c.name.label("target_name")).outerjoin(
        export_targets, export_targets.c.id == reconciliations.c.target_id
    )
    if before_id:
        query = query.where(reconciliations.c.id < before_id)
    rows = await conn.execute(query.order_by(reconciliations.c.id.desc()).limit(min(limit, MAX_PAGE)))
    return [
        Run(
            row.id,
            row.subject,
            row.target_name,
            row.ran_at,
            row.missing,
            row.unbilled,
            row.differing,
            row.fixed,
            row.note,
            tuple(StoredFinding(f["finding"], f["key"], f["detail"]) for f in row.findings),
        )
        for row in rows
    ]
