"""Dunning benchmark (platform/billing/dunning.py): `python bench/dunning.py`.

Starts an embedded PostgreSQL in a fresh temporary folder (or, with
BUREAU_BENCH_DATABASE_URL, a fresh database on that server), migrates, seeds one tenant
with `--subscribers` subscribers as the bill-run bench does (70 % post-paid), bills
`--period`, and then measures, on the tenant's real tables:

  remind   the daily run 7 days after the due date: every post-paid customer is late
           and gets a reminder (a case opened, an event written, an audit record);
  suspend  the daily run 21 days after: every one of them is suspended (each service
           through `change_service_state`, an export queued, an event, audit records);
  again    the same run once more: nothing to do, every case already at its step;
  pay      `--payments` suspended customers pay in full, one transaction each (`record_payment`,
           which allocates, reviews the case and restores the services at once).

Then it checks that the suspended and restored services are what they should be, and
`check_ledger`. Prints customers per second for each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _setup import database, machine, server_facts
from billrun import DEFAULT_PERIOD, migrate_database, seed_tenant
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.billing.dunning import run_dunning
from bureau.platform.billing.payments import record_payment
from bureau.platform.billing.period import Period, parse_period
from bureau.platform.billing.run import DEFAULT_DUE_DAYS, bill_run
from bureau.platform.billing.tables import dunning_suspensions, invoices
from bureau.platform.db.engine import create_engine
from bureau.platform.ledger.check import check_ledger
from bureau.platform.subscribers.tables import customers, services
from bureau.tenants import routing


def _rate(count: int, seconds: float) -> str:
    return f"{count:,} customers in {seconds:.2f} s = {count / seconds:,.0f}/s" if seconds else f"{count:,}"


async def _states(engine: AsyncEngine, tenant: routing.TenantRef) -> dict[str, int]:
    async with routing.tenant_unit(engine, tenant, actor="bench") as conn:
        rows = await conn.execute(select(services.c.state, func.count()).group_by(services.c.state))
        return {state: count for state, count in rows}


async def _suspended_and_owing(engine: AsyncEngine, tenant: routing.TenantRef, limit: int) -> list[Any]:
    async with routing.tenant_unit(engine, tenant, actor="bench") as conn:
        query = (
            select(customers.c.customer_number, (invoices.c.gross_micros - invoices.c.paid_micros).label("open"))
            .join(customers, customers.c.id == invoices.c.customer_id)
            .where(
                invoices.c.gross_micros > invoices.c.paid_micros + invoices.c.credited_micros,
                invoices.c.customer_id.in_(select(dunning_suspensions.c.customer_id)),  # one service each
            )
            .order_by(invoices.c.id)
            .limit(limit)
        )
        return list(await conn.execute(query))


async def bench(url: str, subscribers: int, period: Period, payments: int) -> bool:
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        seeded = await seed_tenant(engine, f"dun_{uuid.uuid4().hex[:6]}", subscribers, period)
        tenant = seeded.tenant

        def unit() -> Any:
            return routing.tenant_unit(engine, tenant, actor="bench")

        report = await bill_run(unit, period, now=period.ends_at + timedelta(days=1))
        print(f"seeded and billed {subscribers:,} subscribers in {time.perf_counter() - started:.1f} s "
              f"({report.invoices:,} invoices)")  # fmt: skip
        due = period.end + timedelta(days=DEFAULT_DUE_DAYS)
        good = True
        phases: list[tuple[str, date]] = [
            ("remind", due + timedelta(days=7)),
            ("suspend", due + timedelta(days=21)),
            ("again", due + timedelta(days=21)),
        ]
        for name, on in phases:
            began = time.perf_counter()
            result = await run_dunning(unit, on)
            took = time.perf_counter() - began
            print(f"{name:8} {on}: {_rate(result.reviewed, took)}; reminded {result.reminded:,}, "
                  f"suspended {result.suspended:,}")  # fmt: skip
        states = await _states(engine, tenant)
        print(f"services by state: {states}")
        late = await _suspended_and_owing(engine, tenant, payments)
        began = time.perf_counter()
        for number, (customer, amount) in enumerate(late):
            async with unit() as conn:
                await record_payment(
                    conn, customer=customer, amount_micros=amount, method="bank_transfer", idempotency_key=f"b{number}"
                )
        took = time.perf_counter() - began
        print(f"pay      {_rate(len(late), took)}, each restoring its services in the payment's transaction")
        after = await _states(engine, tenant)
        restored = after.get("active", 0) - states.get("active", 0)
        print(f"services by state after payments: {after}")
        if restored != len(late):
            print(f"FAILED: {len(late)} customers paid but {restored} services were restored")
            good = False
        async with unit() as conn:
            ledger = await check_ledger(conn)
        print(f"ledger check: {'ok' if ledger.ok else ledger.problems[:5]}")
        return good and ledger.ok
    finally:
        await engine.dispose()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=20_000, help="subscribers in the tenant (default 20,000)")
    parser.add_argument("--payments", type=int, default=2_000, help="customers who then pay (default 2,000)")
    parser.add_argument("--period", default=DEFAULT_PERIOD, help=f"the month billed (default {DEFAULT_PERIOD})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}; Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    with database() as url:
        facts, _ = asyncio.run(server_facts(url, ("shared_buffers", "synchronous_commit")))
        print(f"PostgreSQL {facts['version']}")
        asyncio.run(migrate_database(url))
        ok = asyncio.run(bench(url, args.subscribers, parse_period(args.period), args.payments))
    print("all checks passed" if ok else "CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
