"""The scheduler: every tenant's recurring jobs, queued when due in the tenant's time zone.

Each worker process runs a scheduler thread (`Scheduler`, started after the worker
boots); the one holding a PostgreSQL advisory lock is the leader and does the work, the
others wait to take over. Every `TICK_S` the leader asks `platform.scheduled.queue_due`
for each active tenant: a due job is recorded for its period and put in the tenant's
outbox in one transaction, and the outbox relay sends it. A period is queued once
whoever runs (the record's key), so a second leader after a network split, or a restart
in the middle, queues nothing twice; a scheduler that was down catches up when it is
back (a period is due from its moment until the next period starts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.scheduled import queue_due
from bureau.platform.scheduling import time_zone
from bureau.tenants.lifecycle import list_tenants
from bureau.tenants.routing import tenant_unit

from .database import connect

TICK_S = 30.0
LEADER_LOCK = 0x42_55_52_45_41_55_53  # pg_try_advisory_lock key of the scheduling leader ("BUREAUS")

log = logging.getLogger(__name__)


async def schedule_all(engine: AsyncEngine, now: datetime, only: set[int] | None = None) -> list[tuple[str, str, str]]:
    """Queue what is due for every active tenant (or those with these ids); (tenant, job,
    period) of each queued."""
    queued = []
    for tenant in await list_tenants(engine):
        if tenant.status != "active" or (only is not None and tenant.id not in only):
            continue
        try:
            async with tenant_unit(engine, tenant.ref, actor="scheduler") as conn:
                for job, period in await queue_due(conn, time_zone(tenant.time_zone), now):
                    queued.append((tenant.slug, job, period))
        except Exception:  # one tenant's trouble must not stop the others' jobs
            log.exception("scheduling the jobs of tenant %s failed; trying again next tick", tenant.slug)
    return queued


class Scheduler(Middleware):
    """Runs the scheduler on a thread of each worker process (one leads at a time)."""

    def __init__(
        self, database_url: str, run: Callable[..., Any], close: Callable[[], None], *, tick_s: float = TICK_S
    ) -> None:
        self.database_url = database_url
        self.run = run
        self.close = close
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.tick_s + 5)

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._lead()
                except Exception:
                    log.exception("the scheduler failed; starting again in %.0f s", self.tick_s)
                self._stop.wait(self.tick_s)
        finally:
            self.close()

    def _lead(self) -> None:
        with connect(self.database_url) as lock:
            while not self._stop.is_set():
                leader = lock.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()
                if leader is not None and leader[0]:
                    break
                self._stop.wait(self.tick_s)
            while not self._stop.is_set():
                queued = self.run(lambda engine: schedule_all(engine, datetime.now(UTC)))
                for tenant, job, period in queued:
                    log.info("scheduled %s for tenant %s, period %s", job, tenant, period)
                self._stop.wait(self.tick_s)
