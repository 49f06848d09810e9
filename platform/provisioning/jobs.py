"""Provisioning jobs: an export or a reconciliation queued for the workers, and what
became of it.

A job is a message in the tenant's outbox (`listing.Job`), written in the caller's
transaction exactly as a service change (export) or the nightly scheduler (reconcile)
writes it, and relayed to the same actors. An unsent message for the same work stands
for a new one (the outbox coalesces), so asking twice queues once; an unsent export of
every target stands for an export of one.

The relay hands the worker each message's outbox id, and the worker records the job's
outcome under it (`job_outcomes`): done, in the transaction of its last piece of work,
so the outcome commits with the work; failed, with what went wrong, in a transaction of
its own, as the work's was rolled back. A message that runs again (a retry, a
redelivery) records again: the latest run's outcome stands.

This module does not import `export` or `reconcile` (which load every directory client):
the API queues jobs with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import outbox
from .changes import EXPORT_ACTOR
from .listing import RECONCILE_ACTOR, Job, JobState, pending_job
from .tables import job_outcomes
from .targets import TargetError, get_target, list_targets

# The args and coalescing key of a reconciliation asked for by a person; the nightly
# job's are its period (platform/scheduled.py), so the two never stand for each other.
ON_REQUEST = "on-request"
TARGET_KEY = "target:"  # coalescing key of an export of one target: "target:<name>"
MAX_ERROR_CHARS = 2_000  # of a failed job's error, as stored


async def queue_export(conn: AsyncConnection, target: str | None = None) -> Job:
    """Queue an export of every enabled target, or of the enabled target named `target`
    only, and answer with the job (or with the unsent one that stands for it).

    Raises TargetNotFound for a target this tenant does not have, and TargetError when
    the named target is disabled (field `target`) or, with no name, none is enabled."""
    if target is None:
        if not await list_targets(conn, enabled_only=True):
            raise TargetError("no export target is enabled: add one or enable one first")
        return await _queue(conn, EXPORT_ACTOR)
    if not (await get_target(conn, target)).enabled:
        raise TargetError(f"target {target!r} is disabled; enable it first", "target")
    everything = await pending_job(conn, EXPORT_ACTOR)
    if everything is not None:
        return everything
    return await _queue(conn, EXPORT_ACTOR, {"target": target}, key=f"{TARGET_KEY}{target}")


async def queue_reconciliation(conn: AsyncConnection) -> Job:
    """Queue a reconciliation of every enabled target and the RADIUS sessions, as the
    nightly job does; answer with the job (or with the unsent one that stands for it)."""
    return await _queue(conn, RECONCILE_ACTOR, {"period": ON_REQUEST}, key=ON_REQUEST)


async def _queue(conn: AsyncConnection, actor: str, args: Mapping[str, Any] | None = None, *, key: str = "") -> Job:
    await outbox.enqueue(conn, actor, args, key=key)
    job = await pending_job(conn, actor, key)
    if job is None:
        raise RuntimeError(f"the outbox holds no unsent {actor} message right after queueing one")
    return job


async def record_done(conn: AsyncConnection, job: int) -> None:
    """The job (an outbox id) ran to the end: record it in the transaction of its work."""
    await _record(conn, job, JobState.DONE, None)


async def record_failure(conn: AsyncConnection, job: int, error: str) -> None:
    """The job's run failed with `error` (a person reads it: no secrets, no internals)."""
    await _record(conn, job, JobState.FAILED, error[:MAX_ERROR_CHARS])


async def _record(conn: AsyncConnection, job: int, state: JobState, error: str | None) -> None:
    values = {"outcome": state.value, "finished_at": datetime.now(UTC), "error": error}
    await conn.execute(
        pg_insert(job_outcomes)
        .values(outbox_id=job, **values)
        .on_conflict_do_update(index_elements=[job_outcomes.c.outbox_id], set_=values)
    )
