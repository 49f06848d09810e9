"""Queueing a tenant's scheduled jobs when they are due (`scheduling.py` says when).

`queue_due` runs in a tenant unit of work: for each job due now, in the tenant's time
zone, it records (job, period) in `scheduled_runs` and puts a message for the job's
actor in the outbox, in one transaction. The record's primary key makes a period queue
once: a second scheduler, a restart or a retry finds it there and queues nothing.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Column, DateTime, Table, Text, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from . import outbox
from .db.schema import tenant_metadata
from .scheduling import JOBS, Job, due_period

scheduled_runs = Table(
    "scheduled_runs",
    tenant_metadata,
    Column("job", Text, primary_key=True),
    Column("period", Text, primary_key=True),
    Column("queued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


async def queue_due(
    conn: AsyncConnection, zone: ZoneInfo, now: datetime, jobs: tuple[Job, ...] = JOBS
) -> list[tuple[str, str]]:
    """Queue every job due at `now` that was not queued for its period yet; (job, period) of each."""
    queued = []
    for job in jobs:
        period = due_period(job, now, zone)
        if period is None:
            continue
        inserted = (
            await conn.execute(
                pg_insert(scheduled_runs)
                .values(job=job.name, period=period)
                .on_conflict_do_nothing()
                .returning(scheduled_runs.c.job)
            )
        ).first()
        if inserted is not None:
            await outbox.enqueue(conn, job.name, {"period": period}, key=period)
            queued.append((job.name, period))
    return queued
