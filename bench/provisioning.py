"""Provisioning benchmark: file exports and jobs through each broker: `python bench/provisioning.py`.

Starts an embedded PostgreSQL in a fresh temporary folder (or, with
BUREAU_BENCH_DATABASE_URL, creates a fresh database on that server and drops it
afterwards), migrates, and:

File targets. Seeds one tenant (in a fresh process) with `--services` services for one
customer per four services (COPY into the tenant schema, as bench/billrun.py does: a
ledger entity and a customer row each, no chart of accounts, which exports never read):
60 % radius_login ("u<n>@<realm>"), 25 % mailbox ("m<n>@<realm>"), 5 % web ("w<n>"),
5 % ftp ("f<n>"), 5 % domain ("d<n>.example"); one in twenty of each kind suspended, the
rest active. Every service with a password has the SAME password_crypt, one real "$6$"
hash made once with `sha512_crypt` (60,000 SHA-512 crypt hashes in pure Python would
take minutes and exports only copy the string). Nine targets use the eight file formats
(two `unix` ones: dial-up logins, and mail/web/ftp users; `bsd` takes all four Unix
kinds; `bind` writes a zone file per domain). Then, in a fresh process with a fresh
exports folder (a temporary directory): `export_all` in one tenant unit of work three
times: the first export (everything written), a second with nothing changed (nothing
written), and a third after 1 % of the services were suspended (a plain UPDATE,
committed before, not measured). Per target: accounts, files, seconds per run and bytes
written; per run: the total, split into the desired-state query, rendering, writing
(`files.write_whole`, which also reads and compares the current files) and commit
(`export_all` loads the accounts once for all targets: that query is the run's, not a
target's); the target is <= 10 s for 100,000 services. Then the exporting process's peak RSS.

Brokers. For each of `--brokers` (RabbitMQ on amqp://guest:guest@127.0.0.1:5672 in a
fresh virtual host made with `rabbitmqctl add_vhost` and deleted afterwards; Redis on
redis://127.0.0.1:6379/0 under a fresh key namespace whose keys are deleted afterwards;
PostgreSQL, the bench database's dramatiq tables), in a fresh process: the broker
`bureau.workers.app.build` makes (all of Bureau's middleware), `--jobs` no-op `ping`
messages sent one after another (the enqueue rate), then a dramatiq `Worker` with
`--threads` threads started in the process, timed from its start until a counting
middleware has seen every message processed (jobs/s; the target is >= 500 jobs/s on
RabbitMQ). `ping` is platform-wide: `TenantFairness` takes no slot for it. The tenant's
outbox is marked sent first, so the worker's `OutboxRelay` has nothing to relay.

LDAP add (`--ldap`, the default; `--no-ldap` skips it). A throw-away OpenLDAP slapd
(`_slapd.py`: the LDAP tests' set-up, installed with infra/install-slapd.sh if missing;
mdb in a fresh temporary folder) and, for each of `--brokers` as above (an isolated
broker, a fresh process, Bureau's middleware), `--ldap-jobs` messages of a bench-local
actor `ldap_add(n)` that adds service n's account entry (an `Account` made into an entry
by `ldap.entries.desired_entries`) with ldap3 over one connection per worker thread
(`ldap.sync.connect`, bound once and reused), below a base DN of the broker's own
(ou=<broker>,dc=bench) whose ou=accounts is created before the clock. Enqueue rate and
jobs/s as for `ping`; afterwards the entries below the base DN are counted (the
container excluded) and must be exactly `--ldap-jobs`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dramatiq
from _setup import copy_rows, database, machine, reserve_ids, server_facts
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.catalog import plans
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.crypto.unix_crypt import sha512_crypt
from bureau.platform.db.engine import create_engine
from bureau.platform.ledger import entities
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.provisioning import export, files
from bureau.platform.provisioning.accounts import Account, AccountState
from bureau.platform.provisioning.targets import add_target
from bureau.platform.subscribers import customers, resellers
from bureau.tenants import lifecycle, migrate, routing

CURRENCY = "USD"
PLAN = "hosting"
SERVICES_PER_CUSTOMER = 4
SUSPENDED_EVERY = 20  # one in twenty of each kind
SUSPEND_AFTER = 100  # the third export: one in a hundred more suspended
PLACEHOLDER_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$YmVuY2hiZW5jaGJlbmNo"  # never checked
PLACEHOLDER_SECRET = b"bench-placeholder-secret"  # never opened: every service has its crypt already
BENCH_PASSWORD, BENCH_SALT = "bench-password", "benchsaltbench12"
TARGET_EXPORT_S = 10.0  # for 100,000 services
TARGET_JOBS_PER_S = 500.0  # no-op, RabbitMQ
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672"
REDIS = "redis://127.0.0.1:6379/0"
BROKERS = ("rabbitmq", "redis", "postgres")
WAIT_MIN_S = 60.0  # a broker run gives up after max(this, jobs / 50) seconds
PING, LDAP_LABEL = "no-op ping", "LDAP add"  # what a broker line measured
LDAP_REALM = "bench.example"
LDAP_UID_BASE = 10_000

# kind of service n by n % 20: 12 radius_login, 5 mailbox, 1 web, 1 ftp, 1 domain
KIND_SLOTS = ("radius_login",) * 12 + ("mailbox",) * 5 + ("web", "ftp", "domain")
LDAP_KIND_SLOTS = tuple(kind for kind in KIND_SLOTS if kind != "domain")  # LDAP add: account entries only

# name, format, options, folder
TARGETS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("unix-dialup", "unix", {"kinds": ["radius_login"]}),
    ("unix-hosting", "unix", {"kinds": ["mailbox", "web", "ftp"], "home_base": "/srv/home"}),
    ("bsd", "bsd", {"login_class": "bench"}),
    ("erpcd", "erpcd", {"annex": "*", "remote_address": "DHCP"}),
    ("radius-users", "radius_users", {}),
    ("sendmail", "sendmail", {}),
    ("qmail", "qmail", {}),
    ("postfix", "postfix", {}),
    (
        "bind",
        "bind",
        {
            "primary_ns": "ns1.isp.example",
            "hostmaster": "hostmaster@isp.example",
            "name_servers": ["ns1.isp.example", "ns2.isp.example"],
            "address": "192.0.2.10",
            "mx_host": "mx.isp.example",
        },
    ),
)


def kind_of(n: int) -> str:
    return KIND_SLOTS[n % len(KIND_SLOTS)]


def login_of(n: int, realm: str) -> str:
    return login_for(kind_of(n), n, realm)


def login_for(kind: str, n: int, realm: str) -> str:
    if kind == "radius_login":
        return f"u{n:06d}@{realm}"
    if kind == "mailbox":
        return f"m{n:06d}@{realm}"
    if kind == "domain":
        return f"d{n:06d}.example"
    return f"{kind[0]}{n:06d}"  # w000017, f000018: no realm


def suspended(n: int) -> bool:
    """One in twenty of every kind (n // 20 walks through all kinds' blocks)."""
    return (n // len(KIND_SLOTS)) % SUSPENDED_EVERY == 3


# --- seeding (in a fresh process) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    tenant: routing.TenantRef
    realm: str
    services: int
    customers: int
    by_kind: dict[str, int]
    suspended: int


async def _bulk(conn: Any, tenant: routing.TenantRef, realm: str, count: int, crypt: str) -> Seeded:
    schema = routing.schema_name(tenant.slug)
    isp = await entities.isp_entity(conn)
    plan_id = (await plans.get_plan(conn, PLAN)).id
    raw: Any = (await conn.get_raw_connection()).driver_connection  # asyncpg's, in the unit's transaction
    n_customers = -(-count // SERVICES_PER_CUSTOMER)
    entity_ids = await reserve_ids(raw, schema, "entities", n_customers)
    customer_ids = await reserve_ids(raw, schema, "customers", n_customers)
    service_ids = await reserve_ids(raw, schema, "services", count)
    rows: dict[str, list[tuple[Any, ...]]] = {"entities": [], "customers": [], "services": []}
    for c in range(n_customers):
        number = c + 1
        rows["entities"].append(
            (
                entity_ids[c],
                EntityKind.SUBSCRIBER.value,
                f"c{number:07d}",
                f"Customer {number}",
                isp.id,
                CURRENCY,
                False,
            )
        )
        rows["customers"].append(
            (customer_ids[c], entity_ids[c], number, customers.format_number(number), f"Customer {number}",
             f"c{number:07d}@mail.example", "US", "CA", "Springfield", "94000", [f"{number % 900 + 1} Main St"])
        )  # fmt: skip
    by_kind: dict[str, int] = {}
    n_suspended = 0
    for n in range(count):
        kind = kind_of(n)
        by_kind[kind] = by_kind.get(kind, 0) + 1
        state = "suspended" if suspended(n) else "active"
        n_suspended += state == "suspended"
        radius = kind == "radius_login"
        rows["services"].append(
            (
                service_ids[n],
                customer_ids[n // SERVICES_PER_CUSTOMER],
                kind,
                login_of(n, realm),
                plan_id,
                state,
                PLACEHOLDER_HASH if radius else None,
                PLACEHOLDER_SECRET if radius else None,
                None if kind == "domain" else crypt,
                1024 if kind == "mailbox" else None,
            )
        )
    columns = {
        "entities": ("id", "kind", "code", "name", "parent_id", "currency", "prepaid"),
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
        ),
        "services": (
            "id",
            "customer_id",
            "kind",
            "login",
            "plan_id",
            "state",
            "password_hash",
            "password_secret",
            "password_crypt",
            "quota_mb",
        ),
    }
    await copy_rows(raw, schema, rows, columns)
    return Seeded(tenant, realm, count, n_customers, by_kind, n_suspended)


async def seed(url: str, count: int) -> Seeded:
    engine = create_engine(url)
    try:
        slug = f"prov_{uuid.uuid4().hex[:8]}"
        tenant = await lifecycle.create_tenant(
            engine, slug, name="Provisioning bench", currency=CURRENCY, actor="bench"
        )
        realm = f"pv{slug[-6:]}.example"
        crypt = sha512_crypt(BENCH_PASSWORD, BENCH_SALT)  # the one real hash every service shares
        async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
            await plans.create_category(conn, "all", "All plans")
            await plans.create_plan(conn, PLAN, "Hosting", category="all", billing="postpaid")
            await resellers.add_realm(conn, realm)
            for name, format_name, options in TARGETS:
                await add_target(conn, name, format_name, options)
        async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
            seeded = await _bulk(conn, tenant.ref, realm, count, crypt)
        schema = routing.schema_name(slug)
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("entities", "customers", "services", "plans"):
                await conn.execute(text(f'VACUUM ANALYZE "{schema}".{table}'))
        return seeded
    finally:
        await engine.dispose()


def seed_job(url: str, count: int) -> Seeded:
    """Entry point of the seeding process."""
    return asyncio.run(seed(url, count))


# --- the exports (in a fresh process) -----------------------------------------------


@dataclass
class TargetRun:
    accounts: int = 0  # Exported.accounts: the services of the format's kinds, not only those it writes
    files: int = 0  # files the target holds after the run
    seconds: float = 0.0
    query_s: float = 0.0
    write_s: float = 0.0
    written_files: int = 0
    written_bytes: int = 0


@dataclass
class ExportRun:
    label: str
    seconds: float = 0.0  # the whole unit of work, commit included
    cpu_s: float = 0.0  # CPU time of the exporting process over the same span
    query_s: float = 0.0  # desired_accounts (and fill_password_crypts)
    write_s: float = 0.0  # files.write_whole: read the folder, compare, write what changed
    commit_s: float = 0.0
    targets: dict[str, TargetRun] = field(default_factory=dict)

    @property
    def render_s(self) -> float:
        return sum(t.seconds - t.query_s - t.write_s for t in self.targets.values())

    @property
    def written_bytes(self) -> int:
        return sum(t.written_bytes for t in self.targets.values())

    @property
    def accounts(self) -> int:
        return sum(t.accounts for t in self.targets.values())


@dataclass
class ExportOutcome:
    runs: list[ExportRun]
    suspended_now: int
    peak_rss: int  # bytes, ru_maxrss of the exporting process
    rss_before: int


WRAPPED = (  # (module, attribute) the bench times
    (export, "export_target"),
    (export, "desired_accounts"),
    (export, "fill_password_crypts"),
    (files, "write_whole"),
)


@contextmanager
def _timed(run_box: list[ExportRun]) -> Iterator[None]:
    """Time export_target (per target) and its query and write steps (wrapping module
    attributes, as bench/billrun.py does; bench only)."""
    originals: dict[str, Any] = {name: getattr(module, name) for module, name in WRAPPED}
    active: list[TargetRun] = []  # the target being exported; empty in export_all's shared steps

    def charge(field: str, seconds: float) -> None:
        run = run_box[-1]
        setattr(run, field, getattr(run, field) + seconds)
        if active:
            setattr(active[-1], field, getattr(active[-1], field) + seconds)

    async def export_target(conn: Any, box: Any, root: Path, name: str, **kwargs: Any) -> Any:
        one = run_box[-1].targets[name] = TargetRun()
        started = time.perf_counter()
        active.append(one)
        try:
            result = await originals["export_target"](conn, box, root, name, **kwargs)
        finally:
            active.pop()
        one.accounts, one.seconds = result.accounts, time.perf_counter() - started
        folder = root / name  # each target's folder is its name (add_target's default)
        current_files = [p for p in folder.iterdir() if not p.name.endswith(files.PREVIOUS_SUFFIX)]
        one.files = len(current_files)
        one.written_files = len(result.changed)
        one.written_bytes = sum((folder / changed).stat().st_size for changed in result.changed)
        return result

    def querying(name: str) -> Any:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await originals[name](*args, **kwargs)
            finally:
                charge("query_s", time.perf_counter() - started)

        return timed

    def write(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return originals["write_whole"](*args, **kwargs)
        finally:
            charge("write_s", time.perf_counter() - started)

    wrappers = {
        "export_target": export_target,
        "desired_accounts": querying("desired_accounts"),
        "fill_password_crypts": querying("fill_password_crypts"),
        "write_whole": write,
    }
    for module, name in WRAPPED:
        setattr(module, name, wrappers[name])
    try:
        yield
    finally:
        for module, name in WRAPPED:
            setattr(module, name, originals[name])


async def _export_once(
    engine: AsyncEngine, tenant: routing.TenantRef, box: SecretBox, root: Path, run: ExportRun
) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    unit = routing.tenant_unit(engine, tenant, actor="bench")
    conn = await unit.__aenter__()
    try:
        await export.export_all(conn, box, root)
    except BaseException:
        await unit.__aexit__(*sys.exc_info())
        raise
    committing = time.perf_counter()
    await unit.__aexit__(None, None, None)
    run.commit_s = time.perf_counter() - committing
    run.seconds = time.perf_counter() - started
    run.cpu_s = time.process_time() - cpu


async def _exports(url: str, tenant: routing.TenantRef, key: bytes, root: Path) -> ExportOutcome:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    engine = create_engine(url)
    box = SecretBox(key)
    schema = routing.schema_name(tenant.slug)
    runs: list[ExportRun] = []
    try:
        async with engine.connect() as conn:  # warm the pool outside the clock
            await conn.execute(text("SELECT 1"))
        with _timed(runs):
            runs.append(ExportRun("first (fresh folder)"))
            await _export_once(engine, tenant, box, root, runs[-1])
            runs.append(ExportRun("unchanged"))
            await _export_once(engine, tenant, box, root, runs[-1])
            async with engine.begin() as conn:
                done = await conn.execute(
                    text(
                        f"UPDATE \"{schema}\".services SET state = 'suspended', updated_at = now() "  # noqa: S608
                        f"WHERE state = 'active' AND id % {SUSPEND_AFTER} = 7"
                    )
                )
                suspended_now = done.rowcount
            runs.append(ExportRun(f"{suspended_now:,} more suspended"))
            await _export_once(engine, tenant, box, root, runs[-1])
        async with engine.begin() as conn:  # nothing for the workers' outbox relay to send later
            await conn.execute(text(f'UPDATE "{schema}".outbox SET sent_at = now() WHERE sent_at IS NULL'))  # noqa: S608
    finally:
        await engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return ExportOutcome(runs, suspended_now, peak, rss_before)


def export_job(url: str, tenant: routing.TenantRef, key: bytes, root: str) -> ExportOutcome:
    """Entry point of the exporting process."""
    return asyncio.run(_exports(url, tenant, key, Path(root)))


def fsync_ms(folder: Path, count: int = 50) -> float:
    """Milliseconds to write, fsync and rename one small file in `folder` (as files.write_whole
    does per changed file), the median of `count`."""
    folder.mkdir(parents=True, exist_ok=True)
    times = []
    for n in range(count):
        started = time.perf_counter()
        path = folder / f".probe-{n}.tmp"
        with open(path, "w") as handle:
            handle.write("x" * 250)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(path, folder / f"probe-{n}")
        times.append(time.perf_counter() - started)
    shutil.rmtree(folder)
    return sorted(times)[count // 2] * 1000


def _filesystem(path: Path) -> str:
    """The file system type of the mount holding `path` (fsync costs depend on it)."""
    best, kind = "", "?"
    resolved = str(path.resolve())
    with open("/proc/mounts") as mounts:
        for line in mounts:
            parts = line.split()
            point = parts[1]
            if (resolved == point or resolved.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                best, kind = point, parts[2]
    return f"{kind} on {best or '?'}"


def _print_exports(out: ExportOutcome, seeded: Seeded) -> bool:
    runs = out.runs
    print(
        f"  {'target':<13} {'format':<12} {'accounts':>8} {'files':>5} {'run 1: query/render/write s':>27} "
        + " ".join(f"{'run ' + str(i + 1) + ' s':>8} {'written':>10}" for i in range(len(runs)))
    )
    formats = {name: fmt for name, fmt, _ in TARGETS}
    for name in runs[0].targets:
        first = runs[0].targets[name]
        cells = " ".join(f"{r.targets[name].seconds:>8.2f} {_size(r.targets[name].written_bytes):>10}" for r in runs)
        split = f"{first.query_s:.2f}/{first.seconds - first.query_s - first.write_s:.2f}/{first.write_s:.2f}"
        print(f"  {name:<13} {formats.get(name, '?'):<12} {first.accounts:>8,} {first.files:>5,} {split:>27} {cells}")
    for number, run in enumerate(runs, 1):
        print(
            f"  run {number} ({run.label}): {run.accounts:,} accounts over {len(run.targets)} targets in "
            f"{run.seconds:.2f} s (query {run.query_s:.2f}, render {run.render_s:.2f}, write {run.write_s:.2f}, "
            f"commit {run.commit_s:.2f}; CPU {run.cpu_s:.2f} s); {_size(run.written_bytes)} in "
            f"{sum(t.written_files for t in run.targets.values()):,} files written"
        )
    worst = max(run.seconds for run in runs)
    scaled = TARGET_EXPORT_S * seeded.services / 100_000
    verdict = "met" if worst <= scaled else "MISSED"
    print(
        f"  target (<= {TARGET_EXPORT_S:g} s per 100,000 services, here <= {scaled:.1f} s): {verdict} "
        f"(slowest run {worst:.2f} s; first {runs[0].seconds:.2f} s)"
    )
    print(
        f"  exporting process: peak RSS {_size(out.peak_rss)} (ru_maxrss; {_size(out.rss_before)} before the first run)"
    )
    return worst <= scaled


def _size(count: int) -> str:
    if count < 10_000:
        return f"{count:,} B"
    if count < 10 * 2**20:
        return f"{count / 2**10:,.0f} KiB"
    return f"{count / 2**20:,.1f} MiB"


# --- brokers (each in a fresh process) ----------------------------------------------


@dataclass
class BrokerOutcome:
    kind: str
    jobs: int
    label: str = PING
    enqueue_s: float = 0.0
    processed: int = 0
    process_s: float = 0.0
    first_s: float = float("nan")  # from the worker's start to the first message processed
    failed: int = 0
    peak_rss: int = 0
    error: str | None = None
    base_dn: str = ""  # LDAP add: the broker's own base DN
    held: int | None = None  # LDAP add: entries slapd holds below base_dn afterwards (containers excluded)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed and self.held in (None, self.jobs)


def _rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)  # noqa: S603


@contextmanager
def broker_url(kind: str, run: str) -> Iterator[tuple[str | None, str | None]]:
    """(BUREAU_BROKER_URL, Redis namespace) of a broker isolated for this run, cleaned up after."""
    if kind == "rabbitmq":
        vhost = f"bureau_bench_{run}"
        _rabbitmqctl("add_vhost", vhost)
        try:
            _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
            yield f"{RABBITMQ}/{vhost}", None
        finally:
            _rabbitmqctl("delete_vhost", vhost)
    elif kind == "redis":
        import redis

        namespace = f"bureau_bench_{run}"
        try:
            yield REDIS, namespace
        finally:
            client = redis.Redis.from_url(REDIS)
            try:
                keys = list(client.scan_iter(match=f"{namespace}*"))
                if keys:
                    client.delete(*keys)
            finally:
                client.close()
    else:
        yield None, None


def _run_jobs(
    out: BrokerOutcome,
    url: str | None,
    namespace: str | None,
    database_url: str,
    threads: int,
    exports_dir: str,
    send: Callable[[int], Any],
    extra_actors: Sequence[Any] = (),
) -> None:
    """In a broker's process: `send(0)` .. `send(jobs - 1)` (the first outside the clock: it
    connects and declares the queue), then a worker with `threads` threads drains them,
    timed from its start until a counting middleware has seen every message processed."""
    import dramatiq
    from dramatiq.middleware import Middleware

    from bureau.platform.settings import Settings
    from bureau.workers import app

    jobs = out.jobs
    lock = threading.Lock()
    state: dict[str, float] = {"processed": 0, "failed": 0, "first": 0.0}
    done = threading.Event()

    class Counted(Middleware):
        def after_process_message(
            self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: Any = None
        ) -> None:
            with lock:
                state["processed"] += 1
                state["failed"] += exception is not None
                if state["processed"] == 1:
                    state["first"] = time.perf_counter()
                if state["processed"] >= jobs:
                    done.set()

        def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
            self.after_process_message(broker, message)

    settings = Settings(database_url=database_url, exports_dir=Path(exports_dir), broker_url=url)
    broker = app.build(url, database_url, namespace=namespace, settings=settings, extra_actors=extra_actors)
    broker.add_middleware(Counted())
    worker = None
    try:
        send(0)  # connect and declare the queue outside the clock; counted below
        started = time.perf_counter()
        for n in range(1, jobs):
            send(n)
        out.enqueue_s = time.perf_counter() - started
        worker = dramatiq.Worker(broker, worker_threads=threads)
        started = time.perf_counter()
        worker.start()
        finished = done.wait(timeout=max(WAIT_MIN_S, jobs / 50))
        out.process_s = time.perf_counter() - started
        out.first_s = state["first"] - started if state["first"] else float("nan")
        if not finished:
            out.error = f"gave up after {out.process_s:.0f} s"
    except Exception as exc:  # a broker that is down: say so, go on with the next
        out.error = f"{type(exc).__name__}: {exc}"
    finally:
        if worker is not None:
            worker.stop(timeout=10_000)
        broker.close()
    out.processed, out.failed = int(state["processed"]), int(state["failed"])
    out.peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def broker_job(
    kind: str, url: str | None, namespace: str | None, database_url: str, jobs: int, threads: int, exports_dir: str
) -> BrokerOutcome:
    """Entry point of a broker's process: enqueue `jobs` pings, then drain them with a worker."""
    from bureau.workers import actors

    out = BrokerOutcome(kind, jobs)
    _run_jobs(out, url, namespace, database_url, threads, exports_dir, lambda _: actors.ping.send())
    return out


def _print_broker(out: BrokerOutcome) -> None:
    # The first message is sent before the clock starts (it connects and declares the queue).
    enqueue_rate = (out.jobs - 1) / out.enqueue_s if out.enqueue_s else float("nan")
    rate = out.processed / out.process_s if out.process_s else float("nan")
    line = (
        f"  {out.kind:<8} {out.label}: enqueue {out.jobs:,} in {out.enqueue_s:.2f} s = {enqueue_rate:,.0f}/s; "
        f"process {out.processed:,} in {out.process_s:.2f} s = {rate:,.0f} jobs/s "
        f"(first after {out.first_s * 1000:,.0f} ms); peak RSS {_size(out.peak_rss)}"
    )
    if out.failed:
        line += f"; {out.failed} FAILED"
    if out.held is not None:
        verdict = "matches" if out.held == out.jobs else f"MISMATCH, {out.jobs:,} expected"
        line += f"; slapd holds {out.held:,} entries below {out.base_dn}: {verdict}"
    if out.kind == "rabbitmq" and out.label == PING and not out.error:
        line += f"; target >= {TARGET_JOBS_PER_S:,.0f} jobs/s: {'met' if rate >= TARGET_JOBS_PER_S else 'MISSED'}"
    if out.error:
        line += f"; ERROR: {out.error}"
    print(line, flush=True)


# --- LDAP add (each broker in a fresh process, one slapd for all) ---------------------


class LdapAdder:
    """What `ldap_add` needs in a broker's process: set by `ldap_job` before any message
    runs. Each worker thread opens and binds one connection (Bureau's `sync.connect`) on
    its first message and reuses it; `close` unbinds them all once the worker stopped."""

    def __init__(self) -> None:
        self.options: Any = None  # LdapOptions
        self.password = ""
        self.crypt = ""  # one real "$6$" hash for every entry, as the seeded services share
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open = ExitStack()

    def connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            from bureau.platform.provisioning.ldap.sync import connect

            with self._lock:
                conn = self._open.enter_context(connect(self.options, self.password))
            self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._lock:
            self._open.close()


LDAP_ADDER = LdapAdder()
_DECLARATIONS = StubBroker(middleware=[])  # bench-local actors, bound by app.build(extra_actors=...)


def _bench_actor(fn: Callable[..., None]) -> dramatiq.Actor[..., None]:
    # No retries: an add that fails would fail again (the entry exists); count it as failed at once.
    return dramatiq.Actor(
        fn, broker=_DECLARATIONS, actor_name=fn.__name__, queue_name="default", priority=0, options={"max_retries": 0}
    )


def ldap_account(n: int, crypt: str) -> Account:
    """Service n as an LDAP account: the file section's kinds without domains, its logins."""
    kind = LDAP_KIND_SLOTS[n % len(LDAP_KIND_SLOTS)]
    return Account(
        service_id=n + 1,
        customer_id=n // SERVICES_PER_CUSTOMER + 1,
        kind=kind,
        login=login_for(kind, n, LDAP_REALM),
        state=AccountState.SUSPENDED if suspended(n) else AccountState.ACTIVE,
        uid=LDAP_UID_BASE + n,
        name=f"Customer {n // SERVICES_PER_CUSTOMER + 1}",
        email=f"c{n // SERVICES_PER_CUSTOMER + 1:07d}@mail.example",
        plan=PLAN,
        password_crypt=crypt,
        quota_mb=1024 if kind == "mailbox" else None,
    )


@_bench_actor
def ldap_add(n: int) -> None:
    """Add service n's account entry (one entry, below the existing ou=accounts)."""
    from bureau.platform.provisioning.ldap.entries import desired_entries

    [(dn, attributes)] = desired_entries([ldap_account(n, LDAP_ADDER.crypt)], LDAP_ADDER.options).items()
    LDAP_ADDER.connection().add(dn, attributes=attributes)  # raises on a refusal: sync.connect's raise_exceptions


def _held_below(conn: Any, base_dn: str, skip: Sequence[str]) -> int:
    """Entries below `base_dn`, not counting it nor the DNs in `skip` (paged: no size limit)."""
    from ldap3 import SUBTREE

    from bureau.platform.provisioning.ldap.entries import dn_key

    skipped = {dn_key(dn) for dn in (base_dn, *skip)}
    results = conn.extend.standard.paged_search(
        base_dn, "(objectClass=*)", SUBTREE, attributes=["1.1"], paged_size=500, generator=True
    )
    return sum(1 for r in results if r.get("type") == "searchResEntry" and dn_key(r["dn"]) not in skipped)


def ldap_job(
    kind: str,
    url: str | None,
    namespace: str | None,
    database_url: str,
    jobs: int,
    threads: int,
    exports_dir: str,
    ldap_url: str,
    root_dn: str,
    password: str,
    base_dn: str,
) -> BrokerOutcome:
    """Entry point of a broker's LDAP process: `base_dn` and its ou=accounts made outside the
    clock, `jobs` ldap_add messages enqueued and drained, then the entries below base_dn counted."""
    from bureau.platform.provisioning.formats.naming import UNIX_KINDS
    from bureau.platform.provisioning.ldap.entries import CONTAINER_CLASSES, containers
    from bureau.platform.provisioning.ldap.options import LdapOptions
    from bureau.platform.provisioning.ldap.sync import connect, ensure_containers

    out = BrokerOutcome(kind, jobs, label=LDAP_LABEL, base_dn=base_dn)
    options = LdapOptions(url=ldap_url, base_dn=base_dn, bind_dn=root_dn, kinds=tuple(sorted(UNIX_KINDS)))
    LDAP_ADDER.options, LDAP_ADDER.password = options, password
    LDAP_ADDER.crypt = sha512_crypt(BENCH_PASSWORD, BENCH_SALT)
    try:
        with connect(options, password) as conn:
            conn.add(base_dn, attributes={"objectClass": CONTAINER_CLASSES, "ou": [kind]})
            ensure_containers(conn, options)
        _run_jobs(out, url, namespace, database_url, threads, exports_dir, ldap_add.send, [ldap_add])
        with connect(options, password) as conn:
            out.held = _held_below(conn, base_dn, list(containers(options)))
    except Exception as exc:  # slapd refused or went away: say so, go on with the next broker
        out.error = out.error or f"{type(exc).__name__}: {exc}"
    finally:
        LDAP_ADDER.close()
    return out


def _ldap_jobs(args: argparse.Namespace, database_url: str, run: str, exports_dir: str) -> bool:
    """LDAP add through each broker: jobs/s of `ldap_add`, one account entry per message.

    One throw-away slapd (`_slapd.running_slapd`) for all brokers, each broker with a base
    DN of its own (ou=<broker>,dc=bench) and, as `broker_job`, an isolated broker and a
    fresh process; afterwards the entries below the base are counted and must be exactly
    `--ldap-jobs`. Whether every broker's run was clean.
    """
    from _slapd import running_slapd

    print(f"\n== LDAP add: {args.ldap_jobs:,} messages each, worker with {args.threads} threads in the process ==")
    good = True
    try:
        with running_slapd() as slapd:
            print(
                f"  {slapd.version} on {slapd.url} (mdb in a fresh temporary directory, "
                f"{_filesystem(slapd.folder)}); one ldap3 connection per worker thread, bound as {slapd.root_dn}"
            )
            context = multiprocessing.get_context("spawn")
            for kind in args.brokers:
                base_dn = f"ou={kind},{slapd.suffix}"
                try:
                    with (
                        broker_url(kind, f"{run}_ldap") as (broker, namespace),
                        ProcessPoolExecutor(max_workers=1, mp_context=context) as pool,
                    ):
                        result = pool.submit(
                            ldap_job, kind, broker, namespace, database_url, args.ldap_jobs, args.threads,
                            exports_dir, slapd.url, slapd.root_dn, slapd.password, base_dn,
                        ).result()  # fmt: skip
                except Exception as exc:  # rabbitmqctl or Redis not there: say so, go on
                    result = BrokerOutcome(
                        kind, args.ldap_jobs, label=LDAP_LABEL, base_dn=base_dn, error=f"{type(exc).__name__}: {exc}"
                    )
                _print_broker(result)
                good = good and result.ok
    except Exception as exc:  # slapd could not be installed or started
        print(f"  LDAP add: ERROR: {type(exc).__name__}: {exc}", flush=True)
        return False
    return good


# --- plumbing -------------------------------------------------------------------------


async def migrate_database(url: str) -> None:
    engine = create_engine(url)
    try:
        report = await migrate.migrate_all(engine)
        if not report.ok:
            raise SystemExit(f"migration failed: {report.failed}")
    finally:
        await engine.dispose()


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


def _brokers(value: str) -> list[str]:
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = sorted(set(chosen) - set(BROKERS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown broker(s) {', '.join(unknown)}; choose from {', '.join(BROKERS)}")
    return chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=_positive, default=100_000, help="services in the tenant (default 100,000)")
    parser.add_argument("--jobs", type=_positive, default=5_000, help="messages per broker (default 5,000)")
    parser.add_argument("--threads", type=_positive, default=8, help="worker threads (default 8)")
    parser.add_argument(
        "--brokers", type=_brokers, default=list(BROKERS), help="comma separated: rabbitmq,redis,postgres (the default)"
    )
    parser.add_argument("--ldap", action=argparse.BooleanOptionalAction, default=True, help="the LDAP add section")
    parser.add_argument(
        "--ldap-jobs", type=_positive, default=2_000, help="LDAP add messages per broker (default 2,000)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with open("/proc/loadavg") as load:
        average = " ".join(load.read().split()[:3])
    print(f"machine: {machine()}; Python {platform.python_version()}; load average before: {average}")
    context = multiprocessing.get_context("spawn")
    key = SecretBox.generate_key()
    run = uuid.uuid4().hex[:10]
    good = True
    with database() as url, tempfile.TemporaryDirectory(prefix="bureau-bench-exports-") as exports_dir:
        facts, _ = asyncio.run(server_facts(url, ("shared_buffers", "synchronous_commit", "fsync", "work_mem")))
        settings = ", ".join(f"{k}={v}" for k, v in facts.items() if k != "version")
        print(f"PostgreSQL {facts['version']} ({settings})")
        asyncio.run(migrate_database(url))

        print(f"\n== file targets: {args.services:,} services ==")
        started = time.monotonic()
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            seeded = pool.submit(seed_job, url, args.services).result()
        kinds = ", ".join(f"{count:,} {kind}" for kind, count in seeded.by_kind.items())
        print(
            f"  seed: {seeded.services:,} services ({kinds}; {seeded.suspended:,} suspended) for "
            f"{seeded.customers:,} customers in {time.monotonic() - started:.1f} s (not measured); "
            "every password_crypt is the same precomputed $6$ hash"
        )
        root = Path(exports_dir) / "files" / seeded.tenant.slug
        probe = fsync_ms(Path(exports_dir) / "probe")
        print(
            f"  exports folder: a fresh temporary directory ({_filesystem(Path(exports_dir))}; writing, fsyncing and "
            f"renaming a small file there takes {probe:.1f} ms, median of 50)"
        )
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:  # fresh: its memory is the exports'
            outcome = pool.submit(export_job, url, seeded.tenant, key, str(root)).result()
        good = _print_exports(outcome, seeded) and good

        print(f"\n== brokers: {args.jobs:,} messages each, worker with {args.threads} threads in the process ==")
        for kind in args.brokers:
            try:
                with (
                    broker_url(kind, run) as (broker, namespace),
                    ProcessPoolExecutor(max_workers=1, mp_context=context) as pool,
                ):
                    result = pool.submit(
                        broker_job, kind, broker, namespace, url, args.jobs, args.threads, exports_dir
                    ).result()
            except Exception as exc:  # rabbitmqctl or Redis not there: say so, go on
                result = BrokerOutcome(kind, args.jobs, error=f"{type(exc).__name__}: {exc}")
            _print_broker(result)
            good = good and result.ok

        if args.ldap:
            good = _ldap_jobs(args, url, run, exports_dir) and good
    with open("/proc/loadavg") as load:
        print(f"load average after: {' '.join(load.read().split()[:3])}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
