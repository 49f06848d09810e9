"""Month-end bill run benchmark (platform/billing/run.py): `python bench/billrun.py`.

Starts an embedded PostgreSQL in a fresh temporary folder (or, with
BUREAU_BENCH_DATABASE_URL, creates a fresh database on that server and drops it
afterwards), migrates, and for each scenario of `--tenants` (default "1,50": all
`--subscribers` in one tenant, then the same total spread evenly over 50 tenants):

  seed   creates the tenants (`create_tenant`), their plans, tax rate, realms and a
         reseller through the service functions, then the subscribers set-at-a-time
         (COPY into the tenant schema: entities with their chart of accounts and balance
         rows, customers, one RADIUS service each, its billing history and a month of
         post-paid usage), and funds the prepaid customers with opening entries posted
         through the ledger. Timed, but not the measured figure.
  run    bills period `--period` for every tenant (`bill_run`), in a fresh client process
         so that its memory is the bill run's; tenants one after another, or with
         `--concurrency 2` up to two at once (each level gets its own freshly seeded
         tenants, a finished period cannot be billed twice).
  check  `check_ledger` on every tenant, and the invoices written against the customers.

The subscriber mix: 50 % post-paid DSL (sign-up fee, monthly charge, usage over a 10 GB
allowance), 20 % post-paid hourly dial-up, 30 % prepaid with a monthly charge and enough
prepaid balance; every fifth customer sold by a reseller; 1 in 41 starting mid-month (so
prorated, with the sign-up fee), 1 in 41 starting on the 1st (sign-up fee), 1 in 41
cancelled mid-month; 3 usage records per post-paid service within its billable days.

`--profile N` instead seeds N subscribers in one tenant and prints where the bill run's
time goes (cProfile, top functions by own and by cumulative time).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import multiprocessing
import os
import platform
import pstats
import random
import resource
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from _setup import copy_rows, database, machine, reserve_ids, server_facts, server_jiffies
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.billing import run as billing_run
from bureau.platform.billing.period import Period, parse_period
from bureau.platform.billing.run import MAX_BATCH, bill_run
from bureau.platform.billing.tables import invoices
from bureau.platform.catalog import plans, taxes, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.db.engine import create_engine
from bureau.platform.ledger import entities
from bureau.platform.ledger.chart import EntityKind, template_for
from bureau.platform.ledger.check import check_ledger
from bureau.platform.ledger.posting import post_entries
from bureau.platform.ledger.rules import MAX_BATCH as MAX_ENTRIES
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.rating.tariff import GIGABYTE, HOUR, UsageRate
from bureau.platform.rating.usage import Meter
from bureau.platform.subscribers import customers, resellers
from bureau.tenants import lifecycle, migrate, routing

CURRENCY = "USD"
DOLLAR = 1_000_000
PRICES_FROM = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_PERIOD = "2026-10"
PLANS: dict[str, tuple[str, tuple[PriceComponent, ...]]] = {
    "dsl-10": (
        "postpaid",
        (
            PriceComponent.signup_fee(15 * DOLLAR),
            PriceComponent.recurring(29_990_000),
            PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10 * DOLLAR, allowance=10 * GIGABYTE)),
        ),
    ),
    "dial-hourly": ("postpaid", (PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000)),)),
    "box-monthly": ("prepaid", (PriceComponent.recurring(5 * DOLLAR),)),
}
PREPAID_OPENING = 50 * DOLLAR  # covers the 5.00 + 5 % tax monthly charge many times over
USAGE_RECORDS = 3  # per post-paid service
CYCLE = 41  # one in CYCLE starts mid-month, one on the 1st, one cancels; prime to 10: meets every plan
MID_MONTH_START = 3
FIRST_DAY_START = 19
MID_MONTH_CANCEL = 11
RESELLER_EVERY = 5
TARGET_SECONDS_100K = 60.0
TARGET_PER_S = 100_000 / TARGET_SECONDS_100K
PLACEHOLDER_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$YmVuY2hiZW5jaGJlbmNo"  # never checked
PLACEHOLDER_SECRET = b"bench-placeholder-secret"


# --- seeding ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    tenant: routing.TenantRef
    subscribers: int


@dataclass(frozen=True, slots=True)
class Setup:
    """What the service functions created: ids the bulk rows refer to."""

    isp_entity: int
    opening_account: int  # ISP 3900
    plan_ids: dict[str, int]
    isp_realm: str
    reseller_id: int
    reseller_entity: int
    reseller_realm: str


async def _setup(conn: AsyncConnection, suffix: str) -> Setup:
    """Plans, tax, realms and a reseller, through the service functions (few rows)."""
    await plans.create_category(conn, "all", "All plans")
    for code, (billing, components) in PLANS.items():
        await plans.create_plan(conn, code, code.upper(), category="all", billing=billing)
        await versions.add_plan_version(conn, code, effective_from=PRICES_FROM, components=components)
    await taxes.create_tax_rate(
        conn,
        name="Sales tax",
        locale=taxes.Locale("US"),
        tax_class="standard",
        rate_bp=500,
        inclusive=False,
        effective_from=PRICES_FROM,
    )
    isp_realm, reseller_realm = f"isp-{suffix}.example", f"rs-{suffix}.example"
    await resellers.add_realm(conn, isp_realm)
    seller = await resellers.create_reseller(
        conn,
        code=f"northnet-{suffix}",
        name="Northnet",
        branding=resellers.Branding(name="Northnet Internet", support_email="help@northnet.example"),
        commission_bp=1000,
        realms=[reseller_realm],
    )
    for code in PLANS:
        await resellers.allow_plan(conn, seller.code, code)
    isp = await entities.isp_entity(conn)
    isp_accounts = {a.code: a.id for a in await entities.list_accounts(conn, isp.id)}
    plan_ids = {code: (await plans.get_plan(conn, code)).id for code in PLANS}
    return Setup(isp.id, isp_accounts["3900"], plan_ids, isp_realm, seller.id, seller.entity_id, reseller_realm)


def _plan_of(n: int) -> str:
    slot = n % 10
    return "dsl-10" if slot < 5 else ("dial-hourly" if slot < 7 else "box-monthly")


def _billable(n: int, period: Period) -> tuple[datetime, datetime | None]:
    """When customer n's service started and (if cancelled) ended."""
    cycle = n % CYCLE
    if cycle == MID_MONTH_START:
        return period.starts_at + timedelta(days=14, hours=9), None
    if cycle == FIRST_DAY_START:
        return period.starts_at, None
    started = period.previous().starts_at + timedelta(days=n % 20, hours=10)
    if cycle == MID_MONTH_CANCEL:
        return started, period.starts_at + timedelta(days=19, hours=17)
    return started, None


async def _bulk(
    conn: AsyncConnection, tenant: routing.TenantRef, setup: Setup, count: int, period: Period
) -> list[int]:
    """The subscribers' rows, set at a time; returns the number of prepaid main accounts funded."""
    schema = routing.schema_name(tenant.slug)
    first = (await conn.execute(select(func.coalesce(func.max(customers.customers.c.number), 0)))).scalar_one() + 1
    raw = (await conn.get_raw_connection()).driver_connection  # in the unit's transaction (begun above)
    rng = random.Random(f"billrun-{tenant.slug}")
    template = template_for(EntityKind.SUBSCRIBER)
    entity_ids = await reserve_ids(raw, schema, "entities", count)
    account_ids = await reserve_ids(raw, schema, "accounts", count * len(template))
    customer_ids = await reserve_ids(raw, schema, "customers", count)
    service_ids = await reserve_ids(raw, schema, "services", count)
    rows: dict[str, list[tuple[Any, ...]]] = {
        "entities": [],
        "accounts": [],
        "account_balances": [],
        "customers": [],
        "services": [],
        "service_periods": [],
        "usage_records": [],
    }
    prepaid_mains: list[int] = []
    accounts_iter = iter(account_ids)
    for i in range(count):
        n = first + i
        plan = _plan_of(n)
        prepaid = PLANS[plan][0] == "prepaid"
        sold = (n // 10) % RESELLER_EVERY == 1  # ten in a row: every plan
        realm = setup.reseller_realm if sold else setup.isp_realm
        login = f"s{n:07d}@{realm}"
        entity_id = entity_ids[i]
        rows["entities"].append(
            (
                entity_id,
                EntityKind.SUBSCRIBER.value,
                login,
                f"Subscriber {n}",
                setup.reseller_entity if sold else setup.isp_entity,
                setup.reseller_entity if sold else None,
                CURRENCY,
                prepaid,
            )
        )
        for account in template:
            account_id = next(accounts_iter)
            rows["accounts"].append(
                (
                    account_id,
                    entity_id,
                    account.code,
                    account.name,
                    account.unit(CURRENCY),
                    account.side.sign,
                    account.shards,
                )
            )
            rows["account_balances"].extend(
                (account_id, shard, 0, account.floor(prepaid)) for shard in range(account.shards)
            )
            if prepaid and account.code == entities.MAIN_BALANCE:
                prepaid_mains.append(account_id)
        rows["customers"].append(
            (
                customer_ids[i],
                entity_id,
                n,
                customers.format_number(n),
                f"Subscriber {n}",
                f"s{n:07d}@mail.example",
                "US",
                "CA",
                "Springfield",
                "94000",
                [f"{n % 900 + 1} Main St"],
                setup.reseller_id if sold else None,
            )
        )
        started, ended = _billable(n, period)
        rows["services"].append(
            (
                service_ids[i],
                customer_ids[i],
                "radius_login",
                login,
                setup.plan_ids[plan],
                "active" if ended is None else "cancelled",
                PLACEHOLDER_HASH,
                PLACEHOLDER_SECRET,
            )
        )
        rows["service_periods"].append((service_ids[i], setup.plan_ids[plan], started, ended))
        if prepaid:
            continue
        begins = max(started, period.starts_at)
        span = (ended or period.ends_at) - begins
        for k in range(USAGE_RECORDS):
            at = begins + span * (k + rng.random()) / USAGE_RECORDS
            if plan == "dsl-10":
                seconds = rng.randint(600, 86_400)
                octets_in, octets_out = rng.randint(GIGABYTE // 10, GIGABYTE), rng.randint(GIGABYTE // 2, 4 * GIGABYTE)
            else:
                seconds = rng.randint(300, 7_200)
                octets_in, octets_out = rng.randint(1, 50_000_000), rng.randint(1, 200_000_000)
            rows["usage_records"].append((service_ids[i], f"session-{k}", at, seconds, octets_in, octets_out))
    columns = {
        "entities": ("id", "kind", "code", "name", "parent_id", "reseller_id", "currency", "prepaid"),
        "accounts": ("id", "entity_id", "code", "name", "unit", "sign", "shards"),
        "account_balances": ("account_id", "shard", "balance", "floor"),
        "customers": (
            "id",
            "entity_id",
            "number",
            "customer_number",
            "name",
            "email",
            "country",
            "state",
            "city",
            "postal_code",
            "address_lines",
            "reseller_id",
        ),
        "services": ("id", "customer_id", "kind", "login", "plan_id", "state", "password_hash", "password_secret"),
        "service_periods": ("service_id", "plan_id", "started_at", "ended_at"),
        "usage_records": ("service_id", "source", "started_at", "seconds", "octets_in", "octets_out"),
    }
    await copy_rows(raw, schema, rows, columns)
    return prepaid_mains


async def _fund(engine: AsyncEngine, tenant: routing.TenantRef, setup: Setup, mains: Sequence[int]) -> None:
    """Opening balances of the prepaid customers, posted through the ledger."""
    for first in range(0, len(mains), MAX_ENTRIES):
        opening = [
            NewEntry(
                f"opening-{account}",
                "opening balance",
                (debit(setup.opening_account, PREPAID_OPENING, CURRENCY), credit(account, PREPAID_OPENING, CURRENCY)),
            )
            for account in mains[first : first + MAX_ENTRIES]
        ]
        async with routing.tenant_unit(engine, tenant, actor="bench") as conn:
            await post_entries(conn, opening)


async def _analyze(engine: AsyncEngine, tenant: routing.TenantRef) -> None:
    """VACUUM ANALYZE the seeded tables, as autovacuum would have long done for a month of data."""
    schema = routing.schema_name(tenant.slug)
    tables = ("entities", "accounts", "account_balances", "customers", "services", "service_periods")
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in (*tables, "usage_records", "journal_entries", "postings", "invoices"):
            await conn.execute(text(f'VACUUM ANALYZE "{schema}".{table}'))


async def seed_tenant(engine: AsyncEngine, slug: str, count: int, period: Period) -> Seeded:
    tenant = await lifecycle.create_tenant(
        engine, slug, name=f"Bill run bench {slug}", currency=CURRENCY, actor="bench"
    )
    suffix = slug.replace("_", "-")
    async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
        setup = await _setup(conn, suffix)
    async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
        mains = await _bulk(conn, tenant.ref, setup, count, period)
    await _fund(engine, tenant.ref, setup, mains)
    await _analyze(engine, tenant.ref)
    return Seeded(tenant.ref, count)


async def seed(url: str, sizes: Sequence[int], period: Period, label: str) -> list[Seeded]:
    engine = create_engine(url)
    try:
        batch = uuid.uuid4().hex[:6]
        return [
            await seed_tenant(engine, f"bill_{label}_{batch}_{k:03d}", size, period) for k, size in enumerate(sizes)
        ]
    finally:
        await engine.dispose()


def seed_job(url: str, sizes: Sequence[int], period: str, label: str) -> list[Seeded]:
    """Entry point of the seeding process."""
    return asyncio.run(seed(url, sizes, parse_period(period), label))


async def migrate_database(url: str) -> None:
    engine = create_engine(url)
    try:
        report = await migrate.migrate_all(engine)
        if not report.ok:
            raise SystemExit(f"migration failed: {report.failed}")
    finally:
        await engine.dispose()


# --- the measured run (in a fresh process) --------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    url: str
    tenants: tuple[routing.TenantRef, ...]
    period: str
    now: datetime
    batch_size: int
    concurrency: int
    postmaster: int | None
    profile: bool = False
    profile_out: str | None = None


@dataclass
class Outcome:
    seconds: float = 0.0
    invoices: int = 0
    customers: int = 0
    gross_micros: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unfinished: int = 0
    client_cpu_s: float = 0.0
    server_cpu_s: float = float("nan")
    rss_before: int = 0  # bytes
    rss_after: int = 0
    rss_peak_sampled: int = 0  # highest RSS seen at the end of a batch
    hwm: int = 0  # VmHWM: peak RSS of this process image, bytes
    maxrss: int = 0  # ru_maxrss of the whole process, bytes
    machine_busy: float = 0.0  # cores busy over the run, whole machine
    machine_iowait: float = 0.0  # cores idle waiting for I/O over the run
    profile: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds in each step of a batch


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _vm_hwm() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _machine() -> tuple[int, int, int]:
    """(busy, iowait, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], fields[4], sum(fields)


async def _run(job: Job) -> Outcome:
    out = Outcome()
    period = parse_period(job.period)
    engine = create_engine(job.url, pool_size=max(2, job.concurrency))
    try:
        conns = [await engine.connect() for _ in range(job.concurrency)]  # warm the pool outside the clock
        for conn in conns:
            await conn.close()
        gate = asyncio.Semaphore(job.concurrency)

        def sample(done: int, total: int) -> None:
            out.rss_peak_sampled = max(out.rss_peak_sampled, _rss())

        async def one(tenant: routing.TenantRef) -> None:
            async with gate:
                report = await bill_run(
                    lambda: routing.tenant_unit(engine, tenant, actor="bench"),
                    period,
                    now=job.now,
                    batch_size=job.batch_size,
                    progress=sample,
                )
            out.invoices += report.invoices
            out.customers += report.customers
            out.gross_micros += report.gross_micros
            out.skipped.extend(report.skipped)
            out.unfinished += not report.finished

        profiler = cProfile.Profile() if job.profile else None
        out.rss_before = out.rss_peak_sampled = _rss()
        server0 = server_jiffies(job.postmaster)
        busy0, iowait0, total0 = _machine()
        cpu0 = time.process_time()
        started = time.perf_counter()
        with _timed_phases(out.phases):
            if profiler:
                profiler.enable()
            await asyncio.gather(*(one(t) for t in job.tenants))
            if profiler:
                profiler.disable()
        out.seconds = time.perf_counter() - started
        out.client_cpu_s = time.process_time() - cpu0
        busy1, iowait1, total1 = _machine()
        cores = os.cpu_count() or 1
        out.machine_busy = (busy1 - busy0) / max(1, total1 - total0) * cores
        out.machine_iowait = (iowait1 - iowait0) / max(1, total1 - total0) * cores
        server1 = server_jiffies(job.postmaster)
        if server0 is not None and server1 is not None:
            out.server_cpu_s = (server1 - server0) / os.sysconf("SC_CLK_TCK")
        out.rss_after = _rss()
        out.hwm = _vm_hwm()
        out.maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if profiler:
            out.profile = _profile_text(profiler)
            if job.profile_out:
                profiler.dump_stats(job.profile_out)
    finally:
        await engine.dispose()
    return out


PHASES = ("_customers", "_stretches", "_balances", "_previous_due", "_draft", "_post", "_write")


@contextmanager
def _timed_phases(phases: dict[str, float]) -> Iterator[None]:
    """Wall time of each step of `run._batch` (wrapping the module's functions; bench only)."""
    originals = {name: getattr(billing_run, name) for name in PHASES}

    def wrap(name: str, function: Any) -> Any:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        return timed

    for name, function in originals.items():
        setattr(billing_run, name, wrap(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(billing_run, name, function)


def _profile_text(profiler: cProfile.Profile, top: int = 30) -> str:
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.strip_dirs()
    stream.write("--- by own time (tottime) ---\n")
    stats.sort_stats("tottime").print_stats(top)
    stream.write("--- by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(top)
    return stream.getvalue()


def run_job(job: Job) -> Outcome:
    """Entry point of the client process."""
    return asyncio.run(_run(job))


# --- checking -----------------------------------------------------------------------


async def check(url: str, tenants: Sequence[Seeded], period: Period) -> tuple[bool, int, int, list[str]]:
    """(sound, entries checked, invoices of the period written, problems) over all tenants."""
    engine = create_engine(url)
    entries, written, problems = 0, 0, []
    try:
        for seeded in tenants:
            async with routing.tenant_unit(engine, seeded.tenant, actor="bench") as conn:
                report = await check_ledger(conn)
                written += (
                    await conn.execute(
                        select(func.count()).select_from(invoices).where(invoices.c.period_start == period.start)
                    )
                ).scalar_one()
            entries += report.entries
            problems.extend(f"{seeded.tenant.slug}: {p}" for p in report.problems)
        return not problems, entries, written, problems
    finally:
        await engine.dispose()


def check_job(url: str, tenants: Sequence[Seeded], period: str) -> tuple[bool, int, int, list[str]]:
    """Entry point of the checking process (check_ledger holds a tenant's balances in memory)."""
    return asyncio.run(check(url, tenants, parse_period(period)))


# --- plumbing (as in bench/ledger.py) -----------------------------------------------


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _spread(total: int, tenants: int) -> list[int]:
    return [total // tenants + (1 if k < total % tenants else 0) for k in range(tenants)]


def _scenario(
    url: str, args: argparse.Namespace, tenants: int, concurrency: int, postmaster: int | None
) -> tuple[Outcome, bool]:
    label = f"t{tenants}c{concurrency}"
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:  # keeps this process small
        seeded = pool.submit(seed_job, url, _spread(args.subscribers, tenants), args.period, label).result()
    print(
        f"seed: {args.subscribers:,} subscribers in {tenants} tenant(s) in {time.monotonic() - started:.1f} s "
        "(not measured)",
        flush=True,
    )
    job = Job(
        url,
        tuple(s.tenant for s in seeded),
        args.period,
        args.now,
        args.batch_size,
        concurrency,
        postmaster,
        profile=bool(args.profile),
        profile_out=args.profile_out,
    )
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:  # fresh: its memory is the run's
        out = pool.submit(run_job, job).result()
    rate = out.invoices / out.seconds if out.seconds else 0.0
    other = max(0.0, out.machine_busy - (out.client_cpu_s + out.server_cpu_s) / out.seconds)
    mode = "one tenant" if tenants == 1 else f"{tenants} tenants, {concurrency} at a time"
    print(
        f"  bill run ({mode}): {out.invoices:,} invoices for {out.customers:,} customers in {out.seconds:.1f} s = "
        f"{rate:,.0f} invoices/s; gross {out.gross_micros / DOLLAR:,.2f} {CURRENCY}; skipped {len(out.skipped)}"
        + (f"; {out.unfinished} run(s) unfinished" if out.unfinished else "")
    )
    print(
        f"  CPU: client {out.client_cpu_s:.1f} s ({out.client_cpu_s / out.seconds:.0%} of a core), "
        f"server {out.server_cpu_s:.1f} s ({out.server_cpu_s / out.seconds:.0%} of a core); "
        f"per invoice: client {out.client_cpu_s / max(out.invoices, 1) * 1e6:,.0f} us, "
        f"server {out.server_cpu_s / max(out.invoices, 1) * 1e6:,.0f} us; whole machine "
        f"{out.machine_busy:.2f} cores busy ({other:.2f} by other processes), {out.machine_iowait:.2f} waiting for I/O"
    )
    print(
        f"  memory (client process): RSS before {_mib(out.rss_before)}, after {_mib(out.rss_after)}, "
        f"highest at a batch end {_mib(out.rss_peak_sampled)}, peak {_mib(out.hwm)} (VmHWM; "
        f"ru_maxrss {_mib(out.maxrss)})"
    )
    if concurrency == 1:
        steps = ", ".join(f"{name.strip('_')} {seconds:.1f}" for name, seconds in out.phases.items())
        rest = out.seconds - sum(out.phases.values())
        print(f"  wall seconds per step of the batches: {steps}, other {rest:.1f}")
    for number, why in out.skipped[:5]:
        print(f"  skipped {number}: {why}")
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        ok, entries, written, problems = pool.submit(check_job, url, seeded, args.period).result()
    verdict = "sound" if ok else f"NOT SOUND: {problems[:5]}"
    print(
        f"  ledger check: {entries:,} entries over {tenants} tenant(s), {verdict}; {written:,} invoices of "
        f"{args.period} in the tables ({time.monotonic() - started:.1f} s)"
    )
    if tenants == 1 and not args.profile:
        scaled = args.subscribers / TARGET_PER_S
        met = out.seconds <= scaled
        print(
            f"  target ({TARGET_SECONDS_100K:g} s per 100,000, >= {TARGET_PER_S:,.0f} invoices/s): "
            f"{'met' if met else 'MISSED'} ({rate:,.0f} invoices/s)"
        )
    if out.profile:
        print(out.profile)
    good = ok and written == out.invoices and not out.unfinished and out.invoices == args.subscribers
    return out, good


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


def _levels(value: str) -> list[int]:
    return [_positive(v) for v in value.split(",") if v]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=_positive, default=100_000, help="in all, per scenario")
    parser.add_argument(
        "--tenants", type=_levels, default=[1, 50], help="scenarios: tenants the subscribers are spread over"
    )
    parser.add_argument(
        "--concurrency",
        type=_levels,
        default=[1],
        help="bill runs at once in the multi-tenant scenarios, comma separated (e.g. 1,2)",
    )
    parser.add_argument("--batch-size", type=_positive, default=500, help=f"customers per transaction (<= {MAX_BATCH})")
    parser.add_argument("--period", default=DEFAULT_PERIOD, help="the billed month, YYYY-MM")
    parser.add_argument(
        "--profile",
        type=_positive,
        metavar="N",
        help="profile the bill run on N subscribers in one tenant instead (cProfile)",
    )
    parser.add_argument("--profile-out", metavar="FILE", help="with --profile: also save the pstats data to FILE")
    args = parser.parse_args(argv)
    if args.batch_size > MAX_BATCH:
        parser.error(f"--batch-size must be at most {MAX_BATCH}")
    period = parse_period(args.period)
    args.now = period.ends_at + timedelta(hours=6)
    if args.profile:
        args.subscribers, args.tenants, args.concurrency = args.profile, [1], [1]
    if any(t > args.subscribers for t in args.tenants):
        parser.error("more tenants than subscribers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}; Python {platform.python_version()}")
    good = True
    with database() as url:
        facts, postmaster = asyncio.run(
            server_facts(url, ("shared_buffers", "synchronous_commit", "fsync", "work_mem"))
        )
        settings = ", ".join(f"{k}={v}" for k, v in facts.items() if k != "version")
        print(f"PostgreSQL {facts['version']} ({settings})")
        asyncio.run(migrate_database(url))
        print(f"period {args.period}, batch size {args.batch_size}, bill run at {args.now.isoformat()}")
        for tenants in args.tenants:
            for concurrency in args.concurrency if tenants > 1 else [1]:
                print(f"\n== {args.subscribers:,} subscribers, {tenants} tenant(s), {concurrency} at a time ==")
                _, ok = _scenario(url, args, tenants, concurrency, postmaster)
                good = good and ok
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
