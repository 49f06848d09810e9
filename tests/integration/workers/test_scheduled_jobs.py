"""Scheduled jobs: queued once per period in the tenant's time zone, run by a worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import dramatiq
from sqlalchemy import select

from bureau.platform import outbox
from bureau.platform.billing import dunning
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.billing.tables import bill_runs
from bureau.platform.scheduled import queue_due, scheduled_runs
from bureau.platform.scheduling import JOBS, time_zone
from bureau.platform.settings import load_settings
from bureau.platform.subscribers.services import find_service
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit
from bureau.workers import app
from bureau.workers.dead_letters import list_dead_letters
from bureau.workers.scheduler import schedule_all
from tests.integration.platform.billing.conftest import make_books

WAIT_S = 20.0
FAST = app.Limits(max_retries=0, min_backoff_ms=100, max_backoff_ms=200, pg_poll_interval_s=0.05, relay_sweep_s=0.3)
EVENING_IN_UTC = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)  # 05:00 on the 3rd in Tokyo, 15:00 on the 2nd in New York


@contextmanager
def worker_on(database_url, tmp_path) -> Iterator[None]:
    """A two-thread worker on the PostgreSQL broker, with its outbox relay and scheduler."""
    settings = load_settings(exports_dir=tmp_path, data_dir=tmp_path / "data")
    broker = app.build(None, database_url, limits=FAST, settings=settings)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    try:
        yield
    finally:
        worker.stop(timeout=10_000)
        broker.close()


async def unsent(engine, tenant) -> list[tuple[str, str]]:
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        rows = await conn.execute(
            select(outbox.outbox.c.actor, outbox.outbox.c.key)
            .where(outbox.outbox.c.sent_at.is_(None))
            .order_by(outbox.outbox.c.id)
        )
        return [tuple(row) for row in rows]


async def test_each_job_is_queued_once_for_its_period_in_the_tenant_s_time_zone(engine, make_tenant):
    tokyo = await make_tenant("tyo")
    new_york = await make_tenant("nyc")
    async with tenant_unit(engine, tokyo.ref, actor="test") as conn:
        queued = await queue_due(conn, time_zone("Asia/Tokyo"), EVENING_IN_UTC)
        again = await queue_due(conn, time_zone("Asia/Tokyo"), EVENING_IN_UTC)
    assert queued == [
        ("reap_sessions", "2026-12-03T05:00"),
        ("expire_vouchers", "2026-12-03"),
        ("reconcile_tenant", "2026-12-03"),
        ("bill_month", "2026-12"),
    ]  # dunning waits for 09:00 in Tokyo
    assert again == [], "a period is queued once"
    assert await unsent(engine, tokyo) == [(job, period) for job, period in queued]

    async with tenant_unit(engine, new_york.ref, actor="test") as conn:
        queued = await queue_due(conn, time_zone("America/New_York"), EVENING_IN_UTC)
        periods = (await conn.execute(select(scheduled_runs.c.job, scheduled_runs.c.period))).all()
    assert ("reconcile_tenant", "2026-12-02") in queued and ("expire_vouchers", "2026-12-02") in queued
    assert ("dun_customers", "2026-12-02") in queued
    assert len(periods) == len(queued) == 5


async def test_a_time_zone_is_checked_when_it_is_set(engine, make_tenant):
    tenant = await make_tenant("tz")
    changed = await lifecycle.set_time_zone(engine, tenant.slug, "Europe/Berlin", actor="test")
    assert changed.time_zone == "Europe/Berlin"
    try:
        await lifecycle.set_time_zone(engine, tenant.slug, "Mars/Olympus", actor="test")
    except lifecycle.TenantError as exc:
        assert "unknown time zone 'Mars/Olympus'" in str(exc)
    else:
        raise AssertionError("an unknown time zone was accepted")


async def test_the_scheduler_s_jobs_are_relayed_and_run_by_a_worker(engine, make_tenant, database_url, tmp_path):
    tenant = await make_tenant("sch")
    now = datetime.now(UTC)
    queued = await schedule_all(engine, now, only={tenant.id})
    assert {job for _, job, _ in queued} >= {"reap_sessions"}
    assert await schedule_all(engine, now, only={tenant.id}) == []
    with worker_on(database_url, tmp_path):
        deadline = time.monotonic() + WAIT_S
        while await unsent(engine, tenant):
            assert time.monotonic() < deadline, "the scheduled jobs were not relayed"
            await asyncio.sleep(0.1)
        if any(job == "bill_month" for _, job, _ in queued):  # not on the 1st before 02:00 UTC
            last_month = (now.date().replace(day=1) - timedelta(days=1)).replace(day=1)
            while await finished_runs(engine, tenant) != [last_month]:
                assert time.monotonic() < deadline, "the month-end bill run did not finish"
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the other actors are quick; give them a moment
    assert await list_dead_letters(engine, tenant_slug=tenant.slug) == []


async def finished_runs(engine, tenant) -> list[date]:
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        query = select(bill_runs.c.period_start).where(bill_runs.c.status == "finished")
        return list((await conn.execute(query)).scalars().all())


async def test_the_daily_dunning_job_suspends_on_the_tenant_s_date(
    engine, make_tenant, database_url, tmp_path, assert_ledger_sound
):
    books = await make_books(engine, make_tenant, "dunjob")
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=datetime(2026, 11, 1, tzinfo=UTC))  # due 2026-10-15
    dunning_job = next(job for job in JOBS if job.name == "dun_customers")
    async with books.unit() as conn:
        # 23:30 UTC on 4 November is 09:30 on the 5th in Brisbane: 21 days overdue there.
        queued = await queue_due(conn, time_zone("Australia/Brisbane"), datetime(2026, 11, 4, 23, 30, tzinfo=UTC),
                                 (dunning_job,))  # fmt: skip
    assert queued == [("dun_customers", "2026-11-05")]
    with worker_on(database_url, tmp_path):
        deadline = time.monotonic() + WAIT_S
        login = f"bob@{books.realm}"
        while (service := await login_of(books, login)).state.value != "suspended":
            assert time.monotonic() < deadline, f"the dunning job did not suspend bob: {service}"
            await asyncio.sleep(0.1)
    async with books.unit() as conn:
        [case] = await dunning.open_cases(conn, date(2026, 11, 5))
    assert (case.customer, case.level, case.suspended) == (bob.number, 21, True)
    assert await list_dead_letters(engine, tenant_slug=books.tenant.slug) == []
    await assert_ledger_sound(books.tenant)


async def login_of(books, login):
    async with books.unit() as conn:
        return await find_service(conn, "radius_login", login)
