"""RADIUS proxy benchmark (radius_proxy/server.py): `python bench/radius.py`.

Starts an embedded PostgreSQL in a fresh temporary folder (or, with
BUREAU_BENCH_DATABASE_URL, creates a fresh database on that server and drops it
afterwards), migrates, and seeds one tenant (in a fresh process): a prepaid hourly plan
(1.20 an hour, rated per second), a realm, a NAS on 127.0.0.1/32 with the secret
"testing123", and `--subscribers` prepaid subscribers with a RADIUS login each (COPY, as
bench/billrun.py does; the sealed password is real, the argon2 hash a placeholder PAP
never reads) funded with opening entries through the ledger.

The RADIUS server (`RadiusServer`, the project's engine settings) runs in its own
process; the load generator runs in this one, so the two do not share a Python
interpreter (they do share the machine's cores with PostgreSQL: the CPU of all three is
reported). The generator keeps `--concurrency` requests in flight over `--sockets` UDP
sockets (256 identifiers each) on loopback; a request unanswered after `--retry` seconds
is sent again unchanged (the server's duplicate cache answers it), and given up after
`--give-up` seconds. Latency runs from the first send; "lost" is no answer within 2 s.

  warm-up  `--warmup` subscribers go through a whole session first (not measured), so
           the server's pool and caches are warm;
  auth     one PAP Access-Request with Message-Authenticator per remaining subscriber
           (each login once: one session each), accepts reserve prepaid funds;
  acct     for every accepted session: Start, 3 Interim-Updates with a growing
           Acct-Session-Time, Stop, in order, echoing the Class of the Accept.

Then `check_ledger` on the tenant, and the subscribers' 9000 "Amount used" balances
against the charges computed here from the session times sent (`cumulative_charge`):
per subscriber and in total, with the ISP's 4000 "Revenue: usage" as a cross-check.
Exits non-zero if the ledger is not sound or any total differs; a missed floor (>= 3,000
requests/s of each kind, p99 <= 20 ms) is printed, not an error.

`--freeradius` (the default when Debian's freeradius and freeradius-postgresql are
installed; `--no-freeradius` skips it) then runs the same warm-up and phases, with the
same generator settings, against FreeRADIUS 3.2 with rlm_sql on the same PostgreSQL: a
fresh database there with Debian's schema.sql and the same logins in radcheck
(Cleartext-Password), and `freeradius -f -d <temporary raddb>` built from
bench/freeradius/ (users from SQL, PAP/CHAP, accounting into radacct, on two free ports
of 127.0.0.1). It prints FreeRADIUS's phases, checks radacct (one closed row per session
with the session times and octets sent) and prints both servers side by side with the
ratio Bureau/FreeRADIUS per phase; a radacct that differs makes the exit non-zero.

`--profile FILE` runs the server under cProfile (slower: for where the time goes, not
for the figures), saves the pstats data to FILE and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import hmac
import io
import multiprocessing
import os
import platform
import pstats
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _setup import copy_rows, database, machine, reserve_ids, server_facts
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.catalog import plans, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.db import direct
from bureau.platform.db.engine import create_engine
from bureau.platform.ledger import entities
from bureau.platform.ledger.chart import EntityKind, template_for
from bureau.platform.ledger.check import check_ledger
from bureau.platform.ledger.posting import post_entries
from bureau.platform.ledger.rules import MAX_BATCH as MAX_ENTRIES
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.ledger.tables import account_balances, accounts
from bureau.platform.ledger.tables import entities as entity_table
from bureau.platform.nas.registry import add_nas
from bureau.platform.radius import wire
from bureau.platform.radius.passwords import hide_password
from bureau.platform.rating.charge import cumulative_charge
from bureau.platform.rating.tariff import HOUR, UsageRate
from bureau.platform.rating.usage import Meter
from bureau.platform.sessions.tables import radius_sessions
from bureau.platform.subscribers import customers, resellers, services
from bureau.tenants import lifecycle, migrate, routing

CURRENCY = "USD"
DOLLAR = 1_000_000
SECRET = b"testing123"
NAS_ADDRESS = "127.0.0.1"
PLAN = "hourly"
RATE = UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000)  # 1.20 an hour, per second
PRICES_FROM = datetime(2020, 1, 1, tzinfo=UTC)
OPENING = 50 * DOLLAR  # about 41 hours: never runs out here
HISTORY = 5  # closed sessions per subscriber before the run, with their Start and Stop packets
PLACEHOLDER_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$YmVuY2hiZW5jaGJlbmNo"  # never checked by PAP
INTERIMS = 3
LOST_AFTER_S = 2.0
TARGET_PER_S = 3_000
TARGET_P99_MS = 20.0
# RADIUS attribute numbers (RFC 2865, 2866)
USER_NAME, USER_PASSWORD, NAS_IP, NAS_PORT, CLASS, NAS_PORT_TYPE = 1, 2, 4, 5, 25, 61
STATUS, INPUT_OCTETS, OUTPUT_OCTETS, SESSION_ID, SESSION_TIME, TERMINATE_CAUSE = 40, 42, 43, 44, 46, 49
START, STOP, INTERIM = 1, 2, 3


def _u32(attribute: int, value: int) -> tuple[int, bytes]:
    return attribute, struct.pack("!I", value)


def login_of(n: int, realm: str) -> str:
    return f"s{n:07d}@{realm}"


def password_of(n: int) -> str:
    return f"pw-{n:07d}-bench"


def session_times(n: int) -> list[int]:
    """Acct-Session-Time of subscriber n's Start, Interim-Updates and Stop (growing)."""
    step = 300 + (n * 7919) % 900
    return [0, *(step * k for k in range(1, INTERIMS + 1)), INTERIMS * step + (n * 31) % step]


def expected_charge(n: int) -> int:
    """What subscriber n's one session of the month costs, from the times sent."""
    return cumulative_charge(RATE, session_times(n)[-1])


# --- seeding (in a fresh process) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    tenant: routing.TenantRef
    realm: str
    subscribers: int


async def _bulk(
    conn: AsyncConnection, tenant: routing.TenantRef, box: SecretBox, realm: str, count: int, nas_id: int
) -> list[int]:
    """The subscribers' rows and their session history, COPYed; returns their main (1000)
    account ids."""
    schema = routing.schema_name(tenant.slug)
    isp = await entities.isp_entity(conn)
    plan_id = (await plans.get_plan(conn, PLAN)).id
    raw: Any = (await conn.get_raw_connection()).driver_connection  # asyncpg's, in the unit's transaction

    template = template_for(EntityKind.SUBSCRIBER)
    entity_ids, customer_ids = (
        await reserve_ids(raw, schema, "entities", count),
        await reserve_ids(raw, schema, "customers", count),
    )
    service_ids, account_ids = (
        await reserve_ids(raw, schema, "services", count),
        iter(await reserve_ids(raw, schema, "accounts", count * len(template))),
    )
    rows: dict[str, list[tuple[Any, ...]]] = {
        t: [] for t in ("entities", "accounts", "account_balances", "customers", "services", "service_periods")
    }
    mains: list[int] = []
    for n in range(count):
        login = login_of(n, realm)
        rows["entities"].append((entity_ids[n], EntityKind.SUBSCRIBER.value, login, f"Sub {n}", isp.id, CURRENCY, True))
        for account in template:
            account_id = next(account_ids)
            rows["accounts"].append(
                (account_id, entity_ids[n], account.code, account.name, account.unit(CURRENCY), account.side.sign,
                 account.shards)
            )  # fmt: skip
            rows["account_balances"].extend((account_id, s, 0, account.floor(True)) for s in range(account.shards))
            if account.code == entities.MAIN_BALANCE:
                mains.append(account_id)
        rows["customers"].append(
            (customer_ids[n], entity_ids[n], n + 1, customers.format_number(n + 1), f"Sub {n}",
             f"s{n:07d}@mail.example", "US", "CA", "Springfield", "94000", [f"{n % 900 + 1} Main St"])
        )  # fmt: skip
        sealed = box.encrypt(password_of(n).encode(), services.secret_context("radius_login", login))
        rows["services"].append(
            (service_ids[n], customer_ids[n], "radius_login", login, plan_id, "active", PLACEHOLDER_HASH, sealed)
        )
        rows["service_periods"].append((service_ids[n], plan_id, PRICES_FROM, None))
    # A tenant in operation has session history: the tables the run reads are not empty, so
    # PostgreSQL plans for tables of their real size (a plan made over an empty table
    # would scan it whole; in operation autovacuum's ANALYZE replans as tables grow).
    session_ids = iter(await reserve_ids(raw, schema, "radius_sessions", count * HISTORY))
    packet_ids = iter(await reserve_ids(raw, schema, "accounting_packets", count * HISTORY * 2))
    rows["radius_sessions"], rows["accounting_packets"] = [], []
    period = PRICES_FROM.date()
    for n in range(count):
        for k in range(HISTORY):
            session_id, began = next(session_ids), datetime(2026, 1, 1 + k, 8, tzinfo=UTC)
            ended = began.replace(hour=9)
            acct = f"history-{n}-{k}"
            rows["radius_sessions"].append(
                (session_id, service_ids[n], nas_id, login_of(n, realm), "closed", acct, True, plan_id, period,
                 began, began, ended, ended, 3600, "User-Request")
            )  # fmt: skip
            for status, at in ((1, began), (2, ended)):
                rows["accounting_packets"].append(
                    (next(packet_ids), session_id, nas_id, at, status, acct, "{}", "history")
                )
    columns = {
        "radius_sessions": (
            "id",
            "service_id",
            "nas_id",
            "login",
            "state",
            "acct_session_id",
            "prepaid",
            "plan_id",
            "period_start",
            "authorized_at",
            "started_at",
            "updated_at",
            "stopped_at",
            "seconds",
            "terminate_cause",
        ),
        "accounting_packets": (
            "id",
            "session_id",
            "nas_id",
            "received_at",
            "status_type",
            "acct_session_id",
            "attributes",
            "outcome",
        ),
        "entities": ("id", "kind", "code", "name", "parent_id", "currency", "prepaid"),
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
        ),
        "services": ("id", "customer_id", "kind", "login", "plan_id", "state", "password_hash", "password_secret"),
        "service_periods": ("service_id", "plan_id", "started_at", "ended_at"),
    }
    await copy_rows(raw, schema, rows, columns)
    return mains


async def seed(url: str, key: bytes, count: int) -> Seeded:
    engine = create_engine(url)
    box = SecretBox(key)
    try:
        slug = f"rad_{uuid.uuid4().hex[:8]}"
        tenant = await lifecycle.create_tenant(engine, slug, name="RADIUS bench", currency=CURRENCY, actor="bench")
        realm = f"{slug.replace('_', '-')}.example"
        async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
            await plans.create_category(conn, "all", "All plans")
            await plans.create_plan(conn, PLAN, "Hourly", category="all", billing="prepaid")
            await versions.add_plan_version(
                conn, PLAN, effective_from=PRICES_FROM, components=(PriceComponent.usage(RATE),)
            )
            await resellers.add_realm(conn, realm)
            nas = await add_nas(conn, box, name="bench-nas", address=f"{NAS_ADDRESS}/32", secret=SECRET.decode())
            opening = {a.code: a.id for a in await entities.list_accounts(conn, (await entities.isp_entity(conn)).id)}
        async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
            mains = await _bulk(conn, tenant.ref, box, realm, count, nas.id)
        for first in range(0, len(mains), MAX_ENTRIES):
            entries = [
                NewEntry(
                    f"opening-{account}",
                    "opening balance",
                    (debit(opening["3900"], OPENING, CURRENCY), credit(account, OPENING, CURRENCY)),
                )
                for account in mains[first : first + MAX_ENTRIES]
            ]
            async with routing.tenant_unit(engine, tenant.ref, actor="bench") as conn:
                await post_entries(conn, entries)
        schema = routing.schema_name(slug)
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("entities", "accounts", "account_balances", "customers", "services", "service_periods",
                          "journal_entries", "postings", "radius_sessions", "accounting_packets"):  # fmt: skip
                await conn.execute(text(f'VACUUM ANALYZE "{schema}".{table}'))
        return Seeded(tenant.ref, realm, count)
    finally:
        await engine.dispose()


async def disable_change_events(url: str, tenant: routing.TenantRef) -> None:
    """Disable the tenant's NOTIFY triggers (what `--no-change-events` measures without)."""
    engine = create_engine(url)
    schema = routing.schema_name(tenant.slug)
    try:
        async with engine.begin() as conn:
            for table, function in (("account_balances", "notify_balances"), ("radius_sessions", "notify_sessions")):
                for event in ("insert", "update"):
                    await conn.execute(text(f'ALTER TABLE "{schema}".{table} DISABLE TRIGGER {function}_{event}'))
    finally:
        await engine.dispose()


def seed_job(url: str, key: bytes, count: int) -> Seeded:
    """Entry point of the seeding process."""
    return asyncio.run(seed(url, key, count))


# --- the server (in its own process) ------------------------------------------------


def _server_stats(server: Any) -> dict[str, Any]:
    stats = server.stats
    return {
        "received": stats.received,
        "accepted": stats.accepted,
        "rejected": stats.rejected,
        "accounted": stats.accounted,
        "duplicates": stats.duplicates,
        "dropped": dict(stats.dropped),
        "latency_mean_ms": stats.latency_sum_s / stats.latency_count * 1000 if stats.latency_count else float("nan"),
        "statements": server.statements + direct.counters.statements,  # set by _serve; and the direct ones
        "in_flight": len(server._tasks),  # private, read by the bench only: is it idle?
    }


async def _serve(
    url: str, key: bytes, pipe: Connection, profile: str | None, ports: dict[str, int] | None, shared: bool
) -> None:
    from bureau.radius_proxy import gc_tuning  # only the server process needs them
    from bureau.radius_proxy.server import RadiusServer

    engine = create_engine(url)
    class_key = hashlib.sha256(key + b"bench class").digest()
    server = RadiusServer(
        engine,
        SecretBox(key),
        class_key,
        host=NAS_ADDRESS,
        auth_port=(ports or {}).get("auth", 0),
        acct_port=(ports or {}).get("acct", 0),
        reuse_port=shared,
    )
    server.statements = 0  # type: ignore[attr-defined]  # SQL statements sent, counted for the bench

    def count(*_: Any) -> None:
        server.statements += 1  # type: ignore[attr-defined]

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    await server.start()
    gc_tuning.quieten()  # as `bureau radius` and `bureau up` do
    profiler = cProfile.Profile() if profile else None
    pipe.send({"ports": dict(server.ports), "pid": os.getpid()})
    loop = asyncio.get_running_loop()
    if profiler:
        profiler.enable()
    try:
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command == "stop":
                break
            pipe.send(_server_stats(server))
    finally:
        if profiler:
            profiler.disable()
        await server.stop()
        await engine.dispose()
    final = _server_stats(server)
    if profiler and profile:
        profiler.dump_stats(profile)
        final["profile"] = _profile_text(profiler)
    pipe.send(final)


def serve(
    url: str,
    key: bytes,
    pipe: Connection,
    profile: str | None,
    ports: dict[str, int] | None = None,
    shared: bool = False,
) -> None:
    """Entry point of a server process (`shared`: SO_REUSEPORT, on `ports` once known)."""
    asyncio.run(_serve(url, key, pipe, profile, ports, shared))


def _combined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The counters of several server processes, added up."""
    total: dict[str, Any] = {}
    for name in ("received", "accepted", "rejected", "accounted", "duplicates", "statements", "in_flight"):
        total[name] = sum(part[name] for part in parts)
    dropped: Counter[str] = Counter()
    for part in parts:
        dropped.update(part["dropped"])
    total["dropped"] = dict(dropped)
    latencies = [part["latency_mean_ms"] for part in parts if part["latency_mean_ms"] == part["latency_mean_ms"]]
    total["latency_mean_ms"] = sum(latencies) / len(latencies) if latencies else float("nan")
    if "profile" in parts[0]:
        total["profile"] = parts[0]["profile"]
    return total


def _profile_text(profiler: cProfile.Profile, top: int = 35) -> str:
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.strip_dirs()
    stream.write("--- by own time (tottime) ---\n")
    stats.sort_stats("tottime").print_stats(top)
    stream.write("--- by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(top)
    return stream.getvalue()


# --- the load generator -------------------------------------------------------------


@dataclass(slots=True)
class _Exchange:
    data: bytes
    kind: str
    first_sent: float
    future: asyncio.Future[tuple[float, bytes] | None]
    timer: asyncio.TimerHandle | None = None
    retransmits: int = 0


class _Socket(asyncio.DatagramProtocol):
    """One NAS socket: up to 256 requests in flight, matched by identifier and verified."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, _Exchange] = {}

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        exchange = self.pending.get(data[1]) if len(data) >= 20 else None
        if exchange is None:
            self.generator.strays += 1
            return
        signature = hashlib.md5(data[:4] + exchange.data[4:20] + data[20:] + SECRET).digest()  # noqa: S324
        if not hmac.compare_digest(signature, data[4:20]):
            self.generator.strays += 1
            return
        del self.pending[data[1]]
        if exchange.timer is not None:
            exchange.timer.cancel()
        exchange.future.set_result((time.perf_counter(), data))


@dataclass(slots=True)
class Tally:
    """One phase's figures, as the NAS saw them."""

    sent: int = 0
    answered: int = 0
    latencies_s: list[float] = field(default_factory=list)
    lost: int = 0  # no answer within LOST_AFTER_S of the first send (answered late or never)
    unanswered: int = 0  # given up
    retransmits: int = 0  # datagrams sent again
    answered_after_retransmit: int = 0
    codes: dict[int, int] = field(default_factory=dict)


class Generator:
    """Requests over several sockets with retransmission (see module docstring)."""

    def __init__(self, ports: dict[str, int], sockets: int, retry_s: float, give_up_s: float) -> None:
        self.ports = ports
        self.count = sockets
        self.retry_s = retry_s
        self.give_up_s = give_up_s
        self.sockets: list[_Socket] = []
        self.free: asyncio.Queue[tuple[_Socket, int]] = asyncio.Queue()
        self.strays = 0

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(self.count):
            _, sock = await loop.create_datagram_endpoint(lambda: _Socket(self), local_addr=(NAS_ADDRESS, 0))
            self.sockets.append(sock)
        # Interleaved, so the requests in flight at any moment come from every socket (as
        # from many NASes): taken socket by socket, 64 in flight would all share one or two
        # source ports, and SO_REUSEPORT, which picks a server process by the source
        # address and port, would hand them all to one process.
        for identifier in range(256):
            for sock in self.sockets:
                self.free.put_nowait((sock, identifier))

    def close(self) -> None:
        for sock in self.sockets:
            if sock.transport is not None:
                sock.transport.close()

    async def ask(self, kind: str, build: Callable[[int], bytes], tally: Tally) -> bytes | None:
        sock, identifier = await self.free.get()
        loop = asyncio.get_running_loop()
        data = build(identifier)
        exchange = _Exchange(data, kind, time.perf_counter(), loop.create_future())
        sock.pending[identifier] = exchange
        assert sock.transport is not None
        sock.transport.sendto(data, (NAS_ADDRESS, self.ports[kind]))
        tally.sent += 1
        exchange.timer = loop.call_later(self.retry_s, self._again, sock, identifier, exchange)
        answer = await exchange.future
        tally.retransmits += exchange.retransmits
        if answer is None:  # given up: this identifier stays out of use (a late answer would confuse it)
            tally.unanswered += 1
            tally.lost += 1
            return None
        self.free.put_nowait((sock, identifier))
        received, reply = answer
        latency = received - exchange.first_sent
        tally.answered += 1
        tally.latencies_s.append(latency)
        tally.lost += latency > LOST_AFTER_S
        tally.answered_after_retransmit += exchange.retransmits > 0
        tally.codes[reply[0]] = tally.codes.get(reply[0], 0) + 1
        return reply

    def _again(self, sock: _Socket, identifier: int, exchange: _Exchange) -> None:
        waited = time.perf_counter() - exchange.first_sent
        if waited >= self.give_up_s:
            sock.pending.pop(identifier, None)
            exchange.future.set_result(None)
            return
        assert sock.transport is not None
        sock.transport.sendto(exchange.data, (NAS_ADDRESS, self.ports[exchange.kind]))
        exchange.retransmits += 1
        exchange.timer = asyncio.get_running_loop().call_later(
            min(self.retry_s, self.give_up_s - waited), self._again, sock, identifier, exchange
        )


def access_request(identifier: int, login: str, password: str) -> bytes:
    vector = os.urandom(16)
    attributes = [
        (80, bytes(16)),  # Message-Authenticator, filled below
        (USER_NAME, login.encode()),
        (USER_PASSWORD, hide_password(password.encode(), SECRET, vector)),
        (NAS_IP, bytes([127, 0, 0, 1])),
        _u32(NAS_PORT_TYPE, 5),  # Virtual
    ]
    data = wire.build(1, identifier, vector, wire.encode_attributes(attributes))
    return data[:22] + wire.message_authenticator(data, SECRET) + data[38:]


def accounting_request(identifier: int, n: int, login: str, klass: bytes, status: int, seconds: int) -> bytes:
    attributes = [
        (USER_NAME, login.encode()),
        _u32(STATUS, status),
        (SESSION_ID, f"bench-{n:08x}".encode()),
        _u32(SESSION_TIME, seconds),
        _u32(INPUT_OCTETS, seconds * 1_000),
        _u32(OUTPUT_OCTETS, seconds * 10_000),
        (NAS_IP, bytes([127, 0, 0, 1])),
        _u32(NAS_PORT, n),
        (CLASS, klass),
    ]
    if status == STOP:
        attributes.append(_u32(TERMINATE_CAUSE, 1))  # User-Request
    return wire.sign_request(4, identifier, attributes, SECRET)


async def _drive(
    items: Sequence[int], run_one: Callable[[int], Awaitable[None]], concurrency: int, rate: float
) -> float:
    """Run `run_one` over `items`: closed loop, `concurrency` at a time (each as soon as
    one is answered), or, with `rate`, open loop: the k-th started at k / rate seconds
    whatever is still unanswered (arrivals do not wait for the server, so latency at that
    offered rate is measured without coordinated omission). Returns the elapsed seconds."""
    started = time.perf_counter()
    if rate:
        tasks = []
        for k, item in enumerate(items):
            delay = started + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(run_one(item)))
        await asyncio.gather(*tasks)
    else:
        todo = iter(items)

        async def worker() -> None:
            for item in todo:
                await run_one(item)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def run_auth(
    generator: Generator, realm: str, numbers: Sequence[int], concurrency: int, rate: float = 0.0
) -> tuple[Tally, dict[int, bytes], float]:
    """One Access-Request per subscriber (`rate`: Access-Requests offered per second); the
    Class of each accepted one."""
    tally, accepted = Tally(), {}

    async def one(n: int) -> None:
        login, password = login_of(n, realm), password_of(n)
        reply = await generator.ask("auth", lambda i: access_request(i, login, password), tally)
        if reply is not None and reply[0] == 2:
            klass = wire.parse(reply).first(CLASS)
            if klass is not None:
                accepted[n] = klass

    seconds = await _drive(numbers, one, concurrency, rate)
    return tally, accepted, seconds


async def run_accounting(
    generator: Generator, realm: str, sessions: dict[int, bytes], concurrency: int, rate: float = 0.0
) -> tuple[Tally, float]:
    """Start, Interim-Updates and Stop for each session, in order (`rate`: requests offered
    per second; sessions start at a fifth of it, each sending its next request when the
    previous one is answered)."""
    tally = Tally()
    statuses = [START, *([INTERIM] * INTERIMS), STOP]

    async def one(n: int) -> None:
        login, klass = login_of(n, realm), sessions[n]
        for status, seconds in zip(statuses, session_times(n), strict=True):
            await generator.ask(
                "acct",
                lambda i: accounting_request(i, n, login, klass, status, seconds),  # noqa: B023
                tally,
            )

    seconds = await _drive(sorted(sessions), one, concurrency, rate / len(statuses))
    return tally, seconds


# --- measuring ----------------------------------------------------------------------


@dataclass(slots=True)
class Cpu:
    """CPU seconds used so far by each party, and the machine's busy/total jiffies."""

    at: float
    generator: float
    server: float
    database: float
    busy: int
    total: int

    @staticmethod
    def now(server_pid: int | frozenset[int], postmaster: int | None) -> Cpu:
        tick = os.sysconf("SC_CLK_TCK")
        pids = server_pid if isinstance(server_pid, frozenset) else frozenset({server_pid})
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return Cpu(
            time.perf_counter(),
            time.process_time(),
            _jiffies(lambda pid, parent: pid in pids) / tick,
            _jiffies(lambda pid, parent: postmaster in (pid, parent), postmaster) / tick
            if postmaster
            else float("nan"),
            sum(fields) - idle,
            sum(fields),
        )


def _jiffies(chosen: Callable[[int, int], bool], postmaster: int | None = None) -> int:
    """utime + stime of the chosen processes (pid, parent pid), plus the postmaster's reaped children."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if chosen(int(entry.name), int(fields[1])):
            total += int(fields[11]) + int(fields[12])
            if int(entry.name) == postmaster:  # and its children that have exited (connections closed)
                total += int(fields[13]) + int(fields[14])
    return total


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def database_counters(conn: AsyncConnection) -> tuple[int, int]:
    """(sessions opened, transactions ended) in this database so far, as the statistics
    show them (each backend reports at most once a second: about)."""
    await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    row = (
        await conn.execute(
            text(
                "SELECT sessions, xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True, slots=True)
class Sample:
    cpu: Cpu
    database: tuple[int, int]  # sessions opened, transactions
    server: dict[str, Any]  # the server's counters


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase's headline figures, for the floor and the side-by-side table."""

    rate: float  # answered per second
    p50_ms: float
    p99_ms: float
    server_us: float  # CPU per answered request: the RADIUS server's, PostgreSQL's
    database_us: float
    generator_cores: float  # the load generator's CPU during the phase


def report_phase(
    name: str, tally: Tally, seconds: float, first: Sample, last: Sample, server_name: str = "RADIUS server"
) -> Phase:
    before, after = first.cpu, last.cpu
    rate = tally.answered / seconds if seconds else 0.0
    p50 = statistics.median(tally.latencies_s) * 1000 if tally.latencies_s else float("nan")
    p99 = _percentile(tally.latencies_s, 0.99) * 1000
    codes = ", ".join(f"{_CODES.get(c, c)} {k:,}" for c, k in sorted(tally.codes.items()))
    print(
        f"  {name}: {tally.answered:,} answered of {tally.sent:,} in {seconds:.2f} s = {rate:,.0f} requests/s; "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(tally.latencies_s, default=0) * 1000:.0f} ms; "
        f"lost (> {LOST_AFTER_S:g} s) {tally.lost:,}, never answered {tally.unanswered:,}; "
        f"retransmissions {tally.retransmits:,} ({tally.answered_after_retransmit:,} answered after one); {codes}"
    )
    span = after.at - before.at
    cores = os.cpu_count() or 1
    generator, server, database = (
        after.generator - before.generator,
        after.server - before.server,
        after.database - before.database,
    )
    machine = (after.busy - before.busy) / max(1, after.total - before.total) * cores
    other = max(0.0, machine - (generator + server + database) / span)
    per = 1e6 / max(tally.answered, 1)
    print(
        f"    CPU (cores over {span:.1f} s): generator {generator / span:.2f}, {server_name} {server / span:.2f}, "
        f"PostgreSQL {database / span:.2f}, other {other:.2f}; whole machine {machine:.2f} of {cores}. "
        f"Per request: server {server * per:,.0f} us, PostgreSQL {database * per:,.0f} us, "
        f"generator {generator * per:,.0f} us"
    )
    (sessions0, xacts0), (sessions1, xacts1) = first.database, last.database
    answered = max(tally.answered, 1)
    phase = Phase(rate, p50, p99, server * per, database * per, generator / span)
    if "statements" not in last.server:  # FreeRADIUS: rlm_sql runs every query in a transaction of its own
        print(
            f"    database: about {xacts1 - xacts0:,} transactions = SQL statements "
            f"({(xacts1 - xacts0) / answered:.2f} per answered request), {sessions1 - sessions0:,} connections opened"
        )
        return phase
    statements = last.server["statements"] - first.server["statements"]
    duplicates = last.server["duplicates"] - first.server["duplicates"]
    print(
        f"    server: {statements:,} SQL statements ({statements / answered:.1f} per answered request), "
        f"{duplicates:,} duplicates answered from the cache or dropped while in progress; database: about "
        f"{xacts1 - xacts0:,} transactions ({(xacts1 - xacts0) / answered:.2f} per answered request), "
        f"{sessions1 - sessions0:,} connections opened"
    )
    return phase


_CODES = {2: "Access-Accept", 3: "Access-Reject", 5: "Accounting-Response"}
KINDS = ("Access-Requests", "Accounting-Requests")


# --- checking -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Totals:
    sound: bool
    entries: int
    problems: list[str]
    used: dict[str, int]  # login: 9000 balance
    revenue: int  # ISP 4000, sign as stored
    sessions: dict[str, int]  # state: count


async def totals(url: str, seeded: Seeded) -> Totals:
    engine = create_engine(url)
    try:
        async with routing.tenant_unit(engine, seeded.tenant, actor="bench") as conn:
            report = await check_ledger(conn)
            rows = await conn.execute(
                select(entity_table.c.code, accounts.c.code, func.sum(account_balances.c.balance))
                .join(accounts, accounts.c.entity_id == entity_table.c.id)
                .join(account_balances, account_balances.c.account_id == accounts.c.id)
                .where(accounts.c.code.in_(("9000", "4000")))
                .where((accounts.c.code == "9000") == (entity_table.c.kind == EntityKind.SUBSCRIBER.value))
                .group_by(entity_table.c.code, accounts.c.code)
            )
            used, revenue = {}, 0
            for entity, account, balance in rows:
                if account == "9000":
                    used[entity] = int(balance)
                else:
                    revenue += int(balance)
            states = await conn.execute(select(radius_sessions.c.state, func.count()).group_by(radius_sessions.c.state))
            return Totals(report.ok, report.entries, report.problems, used, revenue, dict(states.all()))
    finally:
        await engine.dispose()


# --- FreeRADIUS side by side (--freeradius) -----------------------------------------

FREERADIUS_TEMPLATES = Path(__file__).resolve().parent / "freeradius"
SYSTEM_RADDB = Path("/etc/freeradius/3.0")  # Debian's: queries, schema and policies are read from here
FREERADIUS_SCHEMA = SYSTEM_RADDB / "mods-config/sql/main/postgresql/schema.sql"
FREERADIUS_NEEDS = (
    Path("/usr/lib/freeradius/rlm_sql_postgresql.so"),
    FREERADIUS_SCHEMA,
    SYSTEM_RADDB / "mods-config/sql/main/postgresql/queries.conf",
    SYSTEM_RADDB / "policy.d/accounting",
)
FREERADIUS_INSTALL = "apt-get install -y --no-install-recommends freeradius freeradius-postgresql"
FREERADIUS_THREADS = 16  # threads, and SQL connections (one each): see bench/freeradius/radiusd.conf
FREERADIUS_SETTLE_S = 11.0  # PostgreSQL's idle backends report their statistics within 10 s
FREERADIUS_NAMES = ("auth (PAP, users from SQL)", "acct (Start, 3 Interim, Stop into radacct)", "FreeRADIUS")


def freeradius_binary() -> str | None:
    return shutil.which("freeradius") or shutil.which("freeradius", path="/usr/sbin:/sbin")


def freeradius_missing() -> str | None:
    """Why FreeRADIUS cannot run here, or None."""
    if freeradius_binary() is None:
        return "the freeradius program is not installed"
    for path in FREERADIUS_NEEDS:
        if not path.exists():
            return f"{path} is missing (is freeradius-postgresql installed?)"
    return None


@dataclass(frozen=True, slots=True)
class SqlServer:
    """Where rlm_sql_postgresql connects: the bench's PostgreSQL, a database of its own."""

    host: str  # a Unix-socket folder (libpq: a host starting with "/") or a host name
    port: int
    user: str
    password: str
    database: str

    @staticmethod
    def of(url: str, database: str) -> SqlServer:
        parsed = make_url(url)
        host: Any = parsed.query.get("host") or parsed.host or "localhost"
        if isinstance(host, tuple):
            host = host[0]
        return SqlServer(str(host), parsed.port or 5432, parsed.username or "postgres", parsed.password or "", database)

    def url(self, url: str) -> str:
        return make_url(url).set(database=self.database).render_as_string(hide_password=False)


async def _admin(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _sql(server: SqlServer) -> Any:
    import asyncpg  # type: ignore[import-untyped]  # the driver under SQLAlchemy, used bare for FreeRADIUS

    return await asyncpg.connect(
        host=server.host, port=server.port, user=server.user, password=server.password or None, database=server.database
    )


async def seed_freeradius(url: str, server: SqlServer, realm: str, count: int) -> None:
    """A fresh database with Debian's schema.sql, and the same logins and passwords as the
    Bureau run in radcheck (Cleartext-Password)."""
    await _admin(url, f'CREATE DATABASE "{server.database}"')
    conn = await _sql(server)
    try:
        await conn.execute(FREERADIUS_SCHEMA.read_text())
        await conn.copy_records_to_table(
            "radcheck",
            records=[(login_of(n, realm), "Cleartext-Password", ":=", password_of(n)) for n in range(count)],
            columns=("username", "attribute", "op", "value"),
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def free_udp_ports(count: int) -> list[int]:
    """Ports free on NAS_ADDRESS now (the kernel's choice; released at once for FreeRADIUS)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((NAS_ADDRESS, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _quoted(value: str) -> str:
    """Inside a double-quoted FreeRADIUS string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def build_raddb(folder: Path, server: SqlServer, ports: dict[str, int]) -> None:
    """bench/freeradius/ copied into `folder` with its @NAME@ placeholders filled in."""
    values = {
        "RADDB": str(folder),
        "SYSTEM_RADDB": str(SYSTEM_RADDB),
        "AUTH_PORT": str(ports["auth"]),
        "ACCT_PORT": str(ports["acct"]),
        "SECRET": SECRET.decode(),
        "THREADS": str(FREERADIUS_THREADS),
        "DB_HOST": _quoted(server.host),
        "DB_PORT": str(server.port),
        "DB_USER": _quoted(server.user),
        "DB_PASSWORD": _quoted(server.password),
        "DB_NAME": _quoted(server.database),
    }
    for template in sorted(FREERADIUS_TEMPLATES.rglob("*")):
        if not template.is_file():
            continue
        body = template.read_text()
        for name, value in values.items():
            body = body.replace(f"@{name}@", value)
        if left := re.search(r"@[A-Z_]+@", body):
            raise SystemExit(f"{template}: no value for {left.group()}")
        target = folder / template.relative_to(FREERADIUS_TEMPLATES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)


def start_freeradius(folder: Path) -> subprocess.Popen[bytes]:
    """`freeradius -f -d folder`, once it logs that it is ready (or a clear failure)."""
    binary = freeradius_binary()
    assert binary is not None
    log, output = folder / "radius.log", folder / "output.log"
    with open(output, "wb") as out:
        process = subprocess.Popen([binary, "-f", "-d", str(folder)], stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if log.exists() and "Ready to process requests" in log.read_text(errors="replace"):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop_freeradius(process)
    tail = "".join(
        path.read_text(errors="replace")[-3000:] for path in (output, log) if path.exists()
    )  # what it said on the way out
    raise SystemExit(f"FreeRADIUS did not start (exit {process.returncode}):\n{tail}")


def stop_freeradius(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True, slots=True)
class Radacct:
    rows: int
    closed: int
    unique_ids: int
    session_time: int
    input_octets: int
    output_octets: int


async def radacct(server: SqlServer) -> Radacct:
    conn = await _sql(server)
    try:
        row = await conn.fetchrow(
            "SELECT count(*), count(acctstoptime), count(DISTINCT acctuniqueid), coalesce(sum(acctsessiontime), 0),"
            " coalesce(sum(acctinputoctets), 0), coalesce(sum(acctoutputoctets), 0) FROM radacct"
        )
        return Radacct(*(int(value) for value in row))
    finally:
        await conn.close()


def run_freeradius(url: str, args: argparse.Namespace, realm: str, postmaster: int | None) -> list[Phase] | None:
    """The same warm-up and phases against FreeRADIUS; its phases, or None if radacct is wrong."""
    binary = freeradius_binary()
    assert binary is not None
    version = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False).stdout.splitlines()  # noqa: S603
    server = SqlServer.of(url, f"freeradius_{uuid.uuid4().hex[:8]}")
    count = args.subscribers + args.warmup
    started = time.monotonic()
    asyncio.run(seed_freeradius(url, server, realm, count))
    try:
        print(
            f"FreeRADIUS: {version[0].split(': ', 1)[-1] if version else binary}, rlm_sql_postgresql on the same "
            f"PostgreSQL ({'socket folder' if server.host.startswith('/') else 'host'} {server.host}), database "
            f"{server.database}: Debian's schema.sql, {count:,} users in radcheck (Cleartext-Password) in "
            f"{time.monotonic() - started:.1f} s (not measured)"
        )
        with tempfile.TemporaryDirectory(prefix="bureau-bench-freeradius-") as folder:
            raddb = Path(folder)
            ports = dict(zip(("auth", "acct"), free_udp_ports(2), strict=True))
            build_raddb(raddb, server, ports)
            process = start_freeradius(raddb)
            try:
                print(
                    f"load: FreeRADIUS in process {process.pid} (auth {ports['auth']}, acct {ports['acct']}; "
                    f"{FREERADIUS_THREADS} threads, {FREERADIUS_THREADS} SQL connections; raddb from "
                    f"bench/freeradius/); the same generator: {args.concurrency} in flight over {args.sockets} sockets"
                )
                phases, sessions = asyncio.run(
                    _load(
                        server.url(url),
                        args,
                        realm,
                        ports,
                        process.pid,
                        dict,
                        postmaster,
                        FREERADIUS_NAMES,
                        FREERADIUS_SETTLE_S,
                    )
                )
            finally:
                stop_freeradius(process)
            errors = [
                line for line in (raddb / "radius.log").read_text(errors="replace").splitlines() if "Error" in line
            ]
            if errors:
                print(f"  FreeRADIUS logged {len(errors):,} errors, first: {errors[0]}")
        found = asyncio.run(radacct(server))
    finally:
        asyncio.run(_admin(url, f'DROP DATABASE "{server.database}" WITH (FORCE)'))
    times = sum(session_times(n)[-1] for n in sessions)
    expected = Radacct(count, count, count, times, times * 1_000, times * 10_000)
    print(
        f"radacct check: {found.rows:,} rows, {found.closed:,} closed, {found.unique_ids:,} distinct AcctUniqueId; "
        f"AcctSessionTime {found.session_time:,} s, octets in/out {found.input_octets:,}/{found.output_octets:,}; "
        f"expected {count:,} closed sessions ({len(sessions):,} accepted) and {times:,} s, "
        f"{times * 1_000:,}/{times * 10_000:,} octets: {'agree' if found == expected else 'DIFFER'}"
    )
    return phases if found == expected else None


def side_by_side(ours: list[Phase], theirs: list[Phase], concurrency: int) -> None:
    print(
        f"side by side (the same generator, {concurrency} in flight, the same PostgreSQL, one server after the other):"
    )
    for kind, bureau, freeradius in zip(KINDS, ours, theirs, strict=True):

        def figures(phase: Phase) -> str:
            return (
                f"{phase.rate:,.0f}/s, p50 {phase.p50_ms:,.1f} ms, p99 {phase.p99_ms:,.1f} ms, CPU per request "
                f"{phase.server_us:,.0f} + {phase.database_us:,.0f} us PostgreSQL"
            )

        print(
            f"  {kind}: Bureau {figures(bureau)} | FreeRADIUS {figures(freeradius)} | Bureau/FreeRADIUS: "
            f"rate {bureau.rate / freeradius.rate:.3f} (FreeRADIUS {freeradius.rate / bureau.rate:,.1f}x), "
            f"p99 {bureau.p99_ms / freeradius.p99_ms:,.1f}x"
        )
        if freeradius.generator_cores >= 0.9:
            print(
                f"    the generator used {freeradius.generator_cores:.2f} of a core against FreeRADIUS: "
                f"it may be the limit there (FreeRADIUS's rate is then a lower bound)"
            )


# --- plumbing (as in bench/ledger.py) -----------------------------------------------


async def migrate_database(url: str) -> None:
    engine = create_engine(url)
    try:
        report = await migrate.migrate_all(engine)
        if not report.ok:
            raise SystemExit(f"migration failed: {report.failed}")
    finally:
        await engine.dispose()


# --- main ---------------------------------------------------------------------------


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=_positive, default=10_000, help="measured sessions (one each)")
    parser.add_argument("--warmup", type=int, default=200, help="extra subscribers through a whole session first")
    parser.add_argument("--concurrency", type=_positive, default=64, help="requests in flight")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="open loop: requests offered per second in the measured phases, whatever is in flight "
        "(default 0: closed loop, --concurrency in flight)",
    )
    parser.add_argument("--sockets", type=_positive, default=8, help="UDP sockets of the generator")
    parser.add_argument("--retry", type=float, default=1.0, help="seconds before a request is sent again")
    parser.add_argument("--give-up", type=float, default=15.0, help="seconds before a request is abandoned")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile, save pstats to FILE")
    parser.add_argument(
        "--change-events",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the tenant's NOTIFY triggers on sessions and balances (migration t0012); --no-change-events "
        "disables them, to measure what they cost",
    )
    parser.add_argument(
        "--server-processes", type=_positive, default=1, help="RADIUS server processes sharing the ports (SO_REUSEPORT)"
    )
    parser.add_argument(
        "--freeradius",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="then the same load against Debian's FreeRADIUS 3.2 with rlm_sql on the same PostgreSQL, and the "
        "ratios (default: on when freeradius is installed)",
    )
    args = parser.parse_args(argv)
    missing = freeradius_missing()
    if args.freeradius and missing:
        parser.error(f"--freeradius: {missing}; install it with `{FREERADIUS_INSTALL}`")
    if args.freeradius is None:
        args.freeradius = missing is None
        if missing:
            print(f"FreeRADIUS side by side skipped: {missing} (`{FREERADIUS_INSTALL}`; --no-freeradius to skip)")
    if args.rate < 0:
        parser.error("--rate must be 0 (closed loop) or a positive number of requests per second")
    if args.concurrency > 256 * args.sockets:
        parser.error("at most 256 requests in flight per socket")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    return args


async def _load(
    url: str,
    args: argparse.Namespace,
    realm: str,
    ports: dict[str, int],
    server_pid: int | frozenset[int],
    server_stats: Callable[[], dict[str, Any]],
    postmaster: int | None,
    names: tuple[str, str, str] = ("auth (PAP, prepaid reservation)", "acct (Start, 3 Interim, Stop)", "RADIUS server"),
    settle_s: float = 0.0,
) -> tuple[list[Phase], dict[int, bytes]]:
    """Warm-up, then the measured auth and acct phases against the server on `ports`;
    `url` is the server's database (for its statistics), `server_stats` its counters;
    `settle_s`: how long after a phase to read the database's statistics (idle backends
    report theirs late), its CPU being read at once."""
    auth_name, acct_name, server_name = names
    generator = Generator(ports, args.sockets, args.retry, args.give_up)
    await generator.open()
    watcher = create_engine(url, pool_size=1)  # one connection for the statistics, open throughout
    try:
        warm = list(range(args.subscribers, args.subscribers + args.warmup))
        warm_sessions: dict[int, bytes] = {}
        if warm:
            started = time.perf_counter()
            _, warm_sessions, _ = await run_auth(generator, realm, warm, args.concurrency)
            await run_accounting(generator, realm, warm_sessions, args.concurrency)
            print(f"warm-up: {len(warm):,} sessions in {time.perf_counter() - started:.1f} s (not measured)")
        measured = list(range(args.subscribers))
        counted = await watcher.connect()
        counted = await counted.execution_options(isolation_level="AUTOCOMMIT")

        async def sample(settle_s: float = 0.0) -> Sample:
            cpu = Cpu.now(server_pid, postmaster)
            if settle_s:
                await asyncio.sleep(settle_s)
            return Sample(cpu, await database_counters(counted), server_stats())

        if settle_s:  # the warm-up's statistics, before the first reading
            await asyncio.sleep(settle_s)
        first = await sample()
        auth, sessions, seconds = await run_auth(generator, realm, measured, args.concurrency, args.rate)
        last = await sample(settle_s)
        rates = [report_phase(auth_name, auth, seconds, first, last, server_name)]
        first = await sample()
        acct, seconds = await run_accounting(generator, realm, sessions, args.concurrency, args.rate)
        last = await sample(settle_s)
        rates.append(report_phase(acct_name, acct, seconds, first, last, server_name))
        await counted.close()
        if generator.strays:
            print(f"  {generator.strays:,} replies matching no pending request (late answers to retransmissions)")
        return rates, {**sessions, **warm_sessions}  # the warm-up's sessions are charged like any other
    finally:
        generator.close()
        await watcher.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with open("/proc/loadavg") as load:
        average = " ".join(load.read().split()[:3])
    print(f"machine: {machine()}; Python {platform.python_version()}; load average before: {average}")
    context = multiprocessing.get_context("spawn")
    key = SecretBox.generate_key()
    with database() as url:
        facts, postmaster = asyncio.run(
            server_facts(url, ("shared_buffers", "synchronous_commit", "fsync", "max_connections"))
        )
        settings = ", ".join(f"{k}={v}" for k, v in facts.items() if k != "version")
        print(f"PostgreSQL {facts['version']} ({settings})")
        asyncio.run(migrate_database(url))
        started = time.monotonic()
        count = args.subscribers + args.warmup
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            seeded = pool.submit(seed_job, url, key, count).result()
        print(f"seed: {count:,} prepaid subscribers on 1.20/h in {time.monotonic() - started:.1f} s (not measured)")
        if not args.change_events:
            asyncio.run(disable_change_events(url, seeded.tenant))
            print("change events (NOTIFY triggers of migration t0012) disabled for this run")
        shared = args.server_processes > 1
        pipes, servers = [], []
        ports: dict[str, int] | None = None
        try:
            for number in range(args.server_processes):
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=serve,
                    args=(url, key, theirs, args.profile if number == 0 else None, ports, shared),
                    name=f"radius-server-{number}",
                )
                process.start()
                pipes.append(ours)
                servers.append(process)
                hello = ours.recv()
                ports = ports or hello["ports"]
                pids = frozenset(p.pid for p in servers if p.pid is not None)
            assert ports is not None
            offered = (
                f"{args.rate:,.0f} requests/s offered (open loop)" if args.rate else f"{args.concurrency} in flight"
            )
            print(
                f"load: RADIUS server in {len(servers)} process(es) {sorted(pids)} (auth {ports['auth']}, acct "
                f"{ports['acct']}){' under cProfile' if args.profile else ''}; generator here: "
                f"{offered}"
                f" over {args.sockets} sockets, retransmit after {args.retry:g} s, "
                f"give up after {args.give_up:g} s"
            )

            def stats() -> dict[str, Any]:
                for pipe in pipes:
                    pipe.send("stats")
                return _combined([pipe.recv() for pipe in pipes])

            rates, sessions = asyncio.run(_load(url, args, seeded.realm, ports, pids, stats, postmaster))
            for _ in range(int(args.give_up * 10)):  # until the servers have nothing in flight
                if stats()["in_flight"] == 0:
                    break
                time.sleep(0.1)
            for pipe in pipes:
                pipe.send("stop")
            final = _combined([pipe.recv() for pipe in pipes])
        finally:
            for process in servers:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
        print(
            f"server counters: received {final['received']:,}, accepted {final['accepted']:,}, rejected "
            f"{final['rejected']:,}, accounted {final['accounted']:,}, duplicates {final['duplicates']:,}, "
            f"dropped {final['dropped'] or 0}, SQL statements {final['statements']:,}; "
            f"mean latency inside the server {final['latency_mean_ms']:.1f} ms"
        )
        started = time.monotonic()
        found = asyncio.run(totals(url, seeded))
        expected = {login_of(n, seeded.realm): expected_charge(n) for n in sessions}
        used = sum(found.used.values())
        owed = sum(expected.values())
        wrong = [
            login for login in set(found.used) | set(expected) if found.used.get(login, 0) != expected.get(login, 0)
        ]
        over = sum(1 for login in wrong if found.used.get(login, 0) > expected.get(login, 0))
        print(
            f"ledger check: {found.entries:,} entries, "
            f"{'sound' if found.sound else 'NOT SOUND: ' + '; '.join(found.problems[:5])} "
            f"({time.monotonic() - started:.1f} s); sessions by state: {found.sessions}"
        )
        print(
            f"charges: 9000 Amount used over {len(found.used):,} subscribers {used / DOLLAR:,.6f} {CURRENCY}; "
            f"expected from the session times sent ({len(expected):,} sessions) {owed / DOLLAR:,.6f} {CURRENCY}; "
            f"ISP 4000 revenue {abs(found.revenue) / DOLLAR:,.6f} {CURRENCY}; "
            f"subscribers charged more than expected {over}, less {len(wrong) - over}"
        )
        good = found.sound and used == owed and abs(found.revenue) == owed and not wrong
        freeradius_phases = run_freeradius(url, args, seeded.realm, postmaster) if args.freeradius else None
    if freeradius_phases is not None:
        side_by_side(rates, freeradius_phases, args.concurrency)
    for phase, kind in zip(rates, KINDS, strict=True):
        met = phase.rate >= TARGET_PER_S and phase.p99_ms <= TARGET_P99_MS
        print(
            f"floor ({kind}: >= {TARGET_PER_S:,}/s with p99 <= {TARGET_P99_MS:g} ms): "
            f"{'met' if met else 'not met'} ({phase.rate:,.0f}/s, p99 {phase.p99_ms:.1f} ms)"
        )
    if final.get("profile"):
        print(final["profile"])
    print("totals agree: zero double charges" if good else "TOTALS DIFFER or ledger unsound")
    if args.freeradius and freeradius_phases is None:
        print("FreeRADIUS's radacct DIFFERS from what was sent")
        return 1
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
