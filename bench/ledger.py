"""Ledger throughput benchmark (DESIGN.md §3 "Ledger"): `python bench/ledger.py`.

Starts an embedded PostgreSQL in a fresh temporary folder (or, with
BUREAU_BENCH_DATABASE_URL, creates a fresh database on that server and drops it
afterwards), migrates, creates a tenant with subscribers funded by opening entries, then
measures, each for a fixed time after a warm-up:

  uniform   one entry per transaction, random pairs of subscriber main balances
            (no hot account), concurrent tasks each in its own tenant unit of work;
  batch-N   the same entries, N per transaction (post_entries);
  hot       one entry per transaction, each charging a subscriber to ISP 4000
            ("Revenue: usage", a sharded hot account).

The client load runs in worker processes (`--processes`), so the Python client and the
server can be told apart when one of them is the bottleneck. The run ends with
`check_ledger` on the tenant and exits non-zero if the ledger is not sound.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from math import nan

from _setup import database, machine, parent_pid, server_facts, server_jiffies
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.db.engine import create_engine
from bureau.platform.ledger import entities
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.check import check_ledger
from bureau.platform.ledger.posting import post_entries
from bureau.platform.ledger.rules import MAX_BATCH, NewEntry, credit, debit
from bureau.tenants import lifecycle, migrate, routing

CURRENCY = "USD"
OPENING_MICROS = 1_000_000_000  # 1,000.00 per subscriber; transfers move 1 micro-unit
AMOUNT_MICROS = 1
FUNDING_BATCH = 500
SETUP_BATCH = 250  # subscribers created per transaction
START_DELAY_S = 2.0  # lets every worker process connect before the clock starts
MAX_CONCURRENCY = 64
# DESIGN.md §3 targets on the reference 2-core machine.
TARGET_BATCHED_PER_S = 5_000
TARGET_SINGLE_PER_S = 800
TARGET_SINGLE_P99_MS = 25.0
TARGET_HOT_SHARE = 0.70


@dataclass(frozen=True, slots=True)
class Books:
    """What a worker needs to post: the tenant and the account ids."""

    url: str
    tenant: routing.TenantRef
    mains: tuple[int, ...]  # subscriber 1000 accounts
    revenue: int  # ISP 4000
    postmaster: int | None  # pid of the server, when it runs on this machine


@dataclass(frozen=True, slots=True)
class Load:
    """One phase of load for one worker process."""

    kind: str  # "uniform" or "hot"
    batch: int
    tasks: int
    start_at: float  # time.monotonic() (system-wide clock) when measuring starts
    warmup_s: float
    duration_s: float
    worker: int


@dataclass(slots=True)
class WorkerResult:
    entries: int = 0
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PhaseResult:
    name: str
    entries_per_s: float
    transactions: int
    p50_ms: float
    p99_ms: float
    client_cpu: float  # all worker processes' CPU, in cores
    busiest_client: float  # the busiest worker process's CPU, in cores (1.0: it is the bottleneck)
    server_cpu: float  # the PostgreSQL server's CPU, in cores (nan when not local)
    machine_cpu: float  # whole machine busy share over the measured window
    errors: list[str]

    @property
    def other_cpu(self) -> float:
        """Cores busy with neither the client nor the server: other load skews the figures."""
        return max(0.0, self.machine_cpu * (os.cpu_count() or 1) - self.client_cpu - self.server_cpu)


# --- load (runs in worker processes) -------------------------------------------------


def _entry(kind: str, key: str, rng: random.Random, books: Books) -> NewEntry:
    if kind == "hot":
        payer = rng.choice(books.mains)
        postings = (debit(payer, AMOUNT_MICROS, CURRENCY), credit(books.revenue, AMOUNT_MICROS, CURRENCY))
        return NewEntry(key, "usage charge", postings)
    payer, payee = rng.sample(books.mains, 2)
    postings = (debit(payer, AMOUNT_MICROS, CURRENCY), credit(payee, AMOUNT_MICROS, CURRENCY))
    return NewEntry(key, "transfer", postings)


async def _task(engine: AsyncEngine, books: Books, load: Load, number: int, out: WorkerResult) -> None:
    rng = random.Random(f"{load.kind}-{load.batch}-{load.worker}-{number}")
    begin = load.start_at + load.warmup_s
    end = begin + load.duration_s
    prefix = f"{load.kind}{load.batch}-{uuid.uuid4().hex[:8]}-{number}"
    sequence = 0
    while True:
        started = time.monotonic()
        if started >= end:
            return
        batch = [_entry(load.kind, f"{prefix}-{sequence + i}", rng, books) for i in range(load.batch)]
        sequence += load.batch
        try:
            async with routing.tenant_unit(engine, books.tenant, actor="bench") as conn:
                await post_entries(conn, batch)
        except Exception as exc:  # report, keep the load going
            out.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            continue
        finished = time.monotonic()
        if begin <= started and finished <= end:
            out.entries += load.batch
            out.latencies_s.append(finished - started)


async def _clock_cpu(load: Load, out: WorkerResult) -> None:
    """This process's CPU time over the measured window."""
    begin = load.start_at + load.warmup_s
    await asyncio.sleep(max(0.0, begin - time.monotonic()))
    cpu = time.process_time()
    await asyncio.sleep(max(0.0, begin + load.duration_s - time.monotonic()))
    out.cpu_s = time.process_time() - cpu


async def _run_load(books: Books, load: Load) -> WorkerResult:
    engine = create_engine(books.url, pool_size=load.tasks)
    out = WorkerResult()
    try:
        # Open the pool's connections before the clock starts.
        conns = [await engine.connect() for _ in range(load.tasks)]
        for conn in conns:
            await conn.close()
        await asyncio.sleep(max(0.0, load.start_at - time.monotonic()))
        await asyncio.gather(_clock_cpu(load, out), *(_task(engine, books, load, n, out) for n in range(load.tasks)))
    finally:
        await engine.dispose()
    return out


def run_load(books: Books, load: Load) -> WorkerResult:
    """Entry point of a worker process for one phase."""
    return asyncio.run(_run_load(books, load))


# --- measuring ----------------------------------------------------------------------


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(
    pool: ProcessPoolExecutor, books: Books, args: argparse.Namespace, kind: str, batch: int, concurrency: int
) -> PhaseResult:
    processes = min(args.processes, concurrency)
    shares = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    start_at = time.monotonic() + START_DELAY_S
    futures = [
        pool.submit(run_load, books, Load(kind, batch, tasks, start_at, args.warmup, args.duration, worker))
        for worker, tasks in enumerate(shares)
    ]
    time.sleep(max(0.0, start_at + args.warmup - time.monotonic()))
    busy0, total0 = _machine_busy()
    server0 = server_jiffies(books.postmaster)
    time.sleep(max(0.0, start_at + args.warmup + args.duration - time.monotonic()))
    busy1, total1 = _machine_busy()
    server1 = server_jiffies(books.postmaster)
    tick = os.sysconf("SC_CLK_TCK")
    server_cpu = (server1 - server0) / tick / args.duration if server0 is not None and server1 is not None else nan
    results = [f.result() for f in futures]
    latencies = [s for r in results for s in r.latencies_s]
    name = "hot" if kind == "hot" else ("uniform" if batch == 1 else f"batch-{batch}")
    return PhaseResult(
        name=name,
        entries_per_s=sum(r.entries for r in results) / args.duration,
        transactions=len(latencies),
        p50_ms=statistics.median(latencies) * 1000 if latencies else float("nan"),
        p99_ms=_percentile(latencies, 0.99) * 1000,
        client_cpu=sum(r.cpu_s for r in results) / args.duration,
        busiest_client=max(r.cpu_s for r in results) / args.duration,
        server_cpu=server_cpu,
        machine_cpu=(busy1 - busy0) / max(1, total1 - total0),
        errors=[e for r in results for e in r.errors],
    )


# --- setup --------------------------------------------------------------------------


async def open_books(url: str, subscribers: int) -> Books:
    engine = create_engine(url)
    try:
        report = await migrate.migrate_all(engine)
        if not report.ok:
            raise SystemExit(f"migration failed: {report.failed}")
        slug = f"bench_{uuid.uuid4().hex[:8]}"
        tenant = await lifecycle.create_tenant(engine, slug, name="Ledger bench", currency=CURRENCY, actor="bench")
        async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
            isp = await entities.isp_entity(conn)
            isp_accounts = {a.code: a.id for a in await entities.list_accounts(conn, isp.id)}
        mains: list[int] = []
        for first in range(0, subscribers, SETUP_BATCH):
            async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
                for n in range(first, min(subscribers, first + SETUP_BATCH)):
                    sub = await entities.create_entity(
                        conn, kind=EntityKind.SUBSCRIBER, code=f"sub{n:06d}", name=f"Subscriber {n}", currency=CURRENCY
                    )
                    main = await entities.query_account(conn, sub.id, entities.MAIN_BALANCE)
                    mains.append(main.id)
        for first in range(0, len(mains), FUNDING_BATCH):
            opening = [
                NewEntry(
                    f"opening-{account}",
                    "opening balance",
                    (debit(isp_accounts["3900"], OPENING_MICROS, CURRENCY), credit(account, OPENING_MICROS, CURRENCY)),
                )
                for account in mains[first : first + FUNDING_BATCH]
            ]
            async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
                await post_entries(conn, opening)
        return Books(url, tenant.ref, tuple(mains), isp_accounts["4000"], await _postmaster(engine))
    finally:
        await engine.dispose()


async def _postmaster(engine: AsyncEngine) -> int | None:
    async with engine.connect() as conn:
        backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return parent_pid(backend)


async def check(books: Books) -> tuple[bool, int, list[str]]:
    engine = create_engine(books.url)
    try:
        async with routing.tenant_unit(engine, books.tenant, actor="bench") as conn:
            report = await check_ledger(conn)
        return report.ok, report.entries, report.problems
    finally:
        await engine.dispose()


def _row(phase: PhaseResult) -> str:
    rate = max(phase.entries_per_s, 1e-9) / 1e6
    return (
        f"  {phase.name:<9} {phase.entries_per_s:>7,.0f} entries/s {phase.transactions:>6,} tx  "
        f"p50 {phase.p50_ms:5.1f} ms  p99 {phase.p99_ms:5.1f} ms | "
        f"CPU per entry: client {phase.client_cpu / rate:4.0f} us, server {phase.server_cpu / rate:4.0f} us; "
        f"busiest client process {phase.busiest_client:4.0%} of a core; other load {phase.other_cpu:3.1f} cores"
    )


def _verdicts(uniform: PhaseResult, batches: list[PhaseResult], hot: PhaseResult) -> list[str]:
    best_batch = max((b.entries_per_s for b in batches), default=0.0)
    share = hot.entries_per_s / uniform.entries_per_s if uniform.entries_per_s else 0.0
    checks = [
        (f"batched >= {TARGET_BATCHED_PER_S:,}/s", best_batch >= TARGET_BATCHED_PER_S, f"{best_batch:,.0f}/s"),
        (
            f"one per transaction >= {TARGET_SINGLE_PER_S}/s",
            uniform.entries_per_s >= TARGET_SINGLE_PER_S,
            f"{uniform.entries_per_s:,.0f}/s",
        ),
        (f"p99 <= {TARGET_SINGLE_P99_MS:g} ms", uniform.p99_ms <= TARGET_SINGLE_P99_MS, f"{uniform.p99_ms:.1f} ms"),
        (f"hot >= {TARGET_HOT_SHARE:.0%} of uniform", share >= TARGET_HOT_SHARE, f"{share:.0%}"),
    ]
    return [f"  {'met   ' if ok else 'MISSED'} {label}: {value}" for label, ok, value in checks]


def _positive(kind: Callable[[str], float], limit: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        number = kind(value)
        if not 0 < number <= limit:
            raise argparse.ArgumentTypeError(f"must be above 0 and at most {limit}, got {value}")
        return number

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=_positive(int, 100_000), default=1_000)
    parser.add_argument("--duration", type=_positive(float, 600), default=10.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=_positive(float, 60), default=2.0, help="unmeasured seconds per phase")
    parser.add_argument(
        "--concurrency",
        type=_positive(int, MAX_CONCURRENCY),
        default=8,
        help="concurrent transactions for the one-entry phases",
    )
    parser.add_argument(
        "--batch-concurrency",
        type=_positive(int, MAX_CONCURRENCY),
        default=2,
        help="concurrent transactions for the batch phases",
    )
    parser.add_argument("--batches", default="100,500", help="batch sizes, comma separated")
    parser.add_argument(
        "--processes", type=_positive(int, MAX_CONCURRENCY), default=2, help="client processes the load is spread over"
    )
    args = parser.parse_args(argv)
    args.batches = [int(b) for b in args.batches.split(",") if b]
    if not all(2 <= b <= MAX_BATCH for b in args.batches):
        parser.error(f"batch sizes must be 2 to {MAX_BATCH}")
    args.subscribers = int(args.subscribers)
    args.concurrency = int(args.concurrency)
    args.batch_concurrency = int(args.batch_concurrency)
    args.processes = int(args.processes)
    if args.subscribers < 2:
        parser.error("at least 2 subscribers are needed")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}; Python {platform.python_version()}")
    with database() as url:
        facts, _ = asyncio.run(
            server_facts(url, ("shared_buffers", "synchronous_commit", "fsync", "max_connections", "wal_level"))
        )
        settings = ", ".join(f"{k}={v}" for k, v in facts.items() if k != "version")
        print(f"PostgreSQL {facts['version']} ({settings})")
        started = time.monotonic()
        books = asyncio.run(open_books(url, args.subscribers))
        print(f"setup: {args.subscribers:,} subscribers created and funded in {time.monotonic() - started:.1f} s")
        print(
            f"load: {args.processes} client process(es); {args.warmup:g} s warm-up + {args.duration:g} s measured "
            f"per phase; one-entry phases {args.concurrency} concurrent, batches {args.batch_concurrency} concurrent"
        )
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.processes, mp_context=context) as pool:
            # uniform and hot back to back, so that their ratio compares like with like
            uniform = measure(pool, books, args, "uniform", 1, args.concurrency)
            print(_row(uniform), flush=True)
            hot = measure(pool, books, args, "hot", 1, args.concurrency)
            print(_row(hot), flush=True)
            batches = []
            for size in args.batches:
                batches.append(measure(pool, books, args, "uniform", size, args.batch_concurrency))
                print(_row(batches[-1]), flush=True)
        share = hot.entries_per_s / uniform.entries_per_s if uniform.entries_per_s else 0.0
        print(f"hot-account rate: {share:.0%} of the uniform rate")
        print("targets (DESIGN.md §3, 2-core machine):", *_verdicts(uniform, batches, hot), sep="\n")
        errors = [e for p in (uniform, *batches, hot) for e in p.errors]
        if errors:
            print(f"{len(errors)} transactions failed; first: {errors[0]}")
        started = time.monotonic()
        ok, entries_checked, problems = asyncio.run(check(books))
        verdict = "sound" if ok else f"NOT SOUND: {problems[:5]}"
        print(f"ledger check: {entries_checked:,} entries, {verdict} ({time.monotonic() - started:.1f} s)")
    return 0 if ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
