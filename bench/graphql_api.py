"""GraphQL benchmark: `python bench/graphql_api.py` (not graphql.py: it would shadow graphql-core).

Starts an embedded PostgreSQL in a fresh temporary folder (or, with
BUREAU_BENCH_DATABASE_URL, a fresh database on that server), migrates, seeds one tenant
with `--subscribers` subscribers as bench/billrun.py does (its data set), bills the
month, makes an ISP API key, and starts `bureau serve` in its own process. Then, for each
query, it sends requests at a steady `--rate` per second for `--seconds` (open loop:
a request is sent on schedule whether or not earlier ones have answered) and prints
p50/p95/p99 latency, the rate achieved and the errors:

  page    a page of 100 customers with their main balance, services and last invoice,
          starting at a random customer (the dashboard);
  detail  one random customer with every account, services and last invoice.

Targets (issue 6): p95 <= 50 ms for the page and <= 15 ms for the detail, at 200/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from _setup import database, machine, server_facts
from billrun import DEFAULT_PERIOD, migrate_database, seed_tenant
from sqlalchemy import select, text

from bureau.graphql.pagination import cursor
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.db.engine import create_engine
from bureau.platform.subscribers.tables import customers
from bureau.tenants import apikeys, routing

PAGE = """query($after: String) { customers(first: 100, after: $after) { edges { node {
  number name balance { formatted } services { login state plan }
  lastInvoice { number status total { formatted } } } } pageInfo { endCursor } } }"""
DETAIL = """query($ref: String!) { customer(ref: $ref) { ... on Customer {
  number name email prepaid accounts { code balance formatted } services { id login state plan }
  lastInvoice { number status total { formatted } open { formatted } } } } }"""
MAX_CONNECTIONS = 256
REQUEST_TIMEOUT_S = 30.0
TARGETS_MS = {"page": 50.0, "detail": 15.0}
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _prepare(url: str, subscribers: int, period: str) -> tuple[str, list[tuple[int, str]]]:
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        month = parse_period(period)
        seeded = await seed_tenant(engine, f"gql_{uuid.uuid4().hex[:6]}", subscribers, month)

        def unit() -> Any:
            return routing.tenant_unit(engine, seeded.tenant, actor="bench")

        await bill_run(unit, month, now=month.ends_at + timedelta(days=1))
        key = await apikeys.create_api_key(engine, name="bench", scope="isp", tenant=seeded.tenant.slug, actor="bench")
        async with unit() as conn:
            rows = (await conn.execute(select(customers.c.id, customers.c.customer_number))).all()
        print(f"seeded and billed {subscribers:,} subscribers in {time.perf_counter() - started:.1f} s")
        async with engine.connect() as conn:  # steady state: autovacuum would otherwise run during the load
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
        return key.token, [(row.id, row.customer_number) for row in rows]
    finally:
        await engine.dispose()


def _serve(url: str, port: int, data_dir: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUREAU_")}
    env |= {
        "BUREAU_DATABASE_URL": url,
        "BUREAU_HTTP_PORT": str(port),
        "BUREAU_DATA_DIR": str(data_dir),
        "BUREAU_LOG_LEVEL": "warning",
        "BUREAU_HTTP_WORKERS": str(workers),
    }
    return subprocess.Popen([sys.executable, "-m", "bureau", "serve"], env=env, stdout=subprocess.DEVNULL)


async def _wait_up(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("bureau serve did not answer /healthz in time")


class _Client:
    """A lean HTTP/1.1 client over keep-alive connections: the load generator shares the
    two cores with the server and PostgreSQL, so it builds each request's bytes once and
    reads only the status line, Content-Length and body of each answer."""

    def __init__(self, port: int, token: str, connections: int = MAX_CONNECTIONS) -> None:
        self.port = port
        self.head = (
            f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.idle: asyncio.LifoQueue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.LifoQueue()
        self.opened = 0
        self.limit = connections

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """A connection, and whether it was used before (the server may have closed it)."""
        if self.idle.empty() and self.opened < self.limit:
            self.opened += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            return reader, writer, False
        reader, writer = await self.idle.get()
        return reader, writer, True

    async def post(self, body: bytes) -> tuple[int, bytes]:
        request = self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        while True:
            reader, writer, reused = await self._connection()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                writer.close()
                self.opened -= 1
                # an idle connection the server closed (uvicorn's keep-alive is 5 s), and
                # nothing of an answer came: send again on another, as browsers do
                if reused and not getattr(exc, "partial", b""):
                    continue
                raise
            except BaseException:
                writer.close()
                self.opened -= 1
                raise
            break
        try:
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            answer = await reader.readexactly(length)
        except BaseException:
            writer.close()
            self.opened -= 1
            raise
        self.idle.put_nowait((reader, writer))
        return status, answer

    async def close(self) -> None:
        while not self.idle.empty():
            _, writer = self.idle.get_nowait()
            writer.close()


async def _load(
    port: int, token: str, query: str, variables: Any, rate: float, seconds: float
) -> tuple[list[float], int, float]:
    """Latencies (ms) of the requests sent at `rate` per second for `seconds`, the errors,
    and the rate answered (without error, over the run until the last answer). A
    request's time runs from when it was due, so time waiting for a connection counts."""
    latencies: list[float] = []
    errors = 0
    client = _Client(port, token)

    async def one(due: float, body: bytes) -> None:
        nonlocal errors
        try:
            status, answer = await asyncio.wait_for(client.post(body), REQUEST_TIMEOUT_S)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            return
        if status != 200 or (b'"errors"' in answer and "errors" in json.loads(answer)):
            errors += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)

    tasks = []
    start = time.perf_counter()
    count = int(rate * seconds)
    for n in range(count):
        due = start + n / rate
        body = json.dumps({"query": query, "variables": variables()}).encode()
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, body)))
    await asyncio.gather(*tasks)
    achieved = len(latencies) / (time.perf_counter() - start)  # answered without error, per second
    await client.close()
    return latencies, errors, achieved


def _descendants(pid: int) -> set[int]:
    found = {pid}
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found |= _descendants(int(child))
    return found


def _postgres() -> set[int]:
    """Every PostgreSQL process on the machine (an idle local service adds next to nothing)."""
    found = set()
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                found.add(int(entry.name))
    return found


def _cpu(pids: set[int]) -> dict[int, float]:
    """CPU seconds (user + system) so far of each process still running."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


class _CpuMeter:
    """CPU used by the server's processes, PostgreSQL's and this client between start and
    stop: where each request's cost goes, and how much of the two cores it takes."""

    def __init__(self, server: int) -> None:
        self.server = server

    def start(self) -> None:
        self.began = time.perf_counter()
        self.before = (_cpu(_descendants(self.server)), _cpu(_postgres()), time.process_time())

    def stop(self) -> tuple[float, float, float, float]:
        """CPU seconds of the server, PostgreSQL and the client, and the seconds elapsed."""
        server, postgres = _cpu(_descendants(self.server)), _cpu(_postgres())
        self.each = sorted((v - self.before[0].get(p, 0.0) for p, v in server.items()), reverse=True)
        return (
            sum(v - self.before[0].get(p, 0.0) for p, v in server.items()),
            sum(v - self.before[1].get(p, 0.0) for p, v in postgres.items()),
            time.process_time() - self.before[2],
            time.perf_counter() - self.began,
        )


async def _quiet(server: int, limit_s: float = 120.0) -> None:
    """Wait until the server's processes use under 5 % of a core for a second."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = sum(_cpu(_descendants(server)).values())
        await asyncio.sleep(1.0)
        if sum(_cpu(_descendants(server)).values()) - before < 0.05:
            return


def _percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) >= 2 else float("nan")


async def bench(url: str, args: argparse.Namespace) -> bool:
    token, rows = await _prepare(url, args.subscribers, args.period)
    ids = [i for i, _ in rows]
    numbers = [n for _, n in rows]
    port = _free_port()
    good = True
    with tempfile.TemporaryDirectory(prefix="bureau-gql-") as data_dir:
        server = _serve(url, port, Path(data_dir), args.workers)
        try:
            await _wait_up(port)
            cases = {
                "page": (PAGE, lambda: {"after": cursor("customer", random.choice(ids) - 1)}),
                "detail": (DETAIL, lambda: {"ref": random.choice(numbers)}),
            }
            meter = _CpuMeter(server.pid)
            for name, (query, variables) in cases.items():
                if name not in args.queries:
                    continue
                await _quiet(server.pid)  # requests the last phase's client gave up on may still be running
                await _load(port, token, query, variables, args.rate, min(args.seconds, 3.0))  # warm-up
                meter.start()
                latencies, errors, achieved = await _load(port, token, query, variables, args.rate, args.seconds)
                *used, elapsed = meter.stop()
                p50, p95, p99 = (_percentile(latencies, p) for p in (50, 95, 99))
                met = p95 <= TARGETS_MS[name] and errors == 0
                good = good and errors == 0
                print(
                    f"{name:7} {len(latencies):,} answered ({achieved:.0f}/s) of {int(args.rate * args.seconds):,}"
                    f" sent at {args.rate:.0f}/s: "
                    f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, {errors} errors; "
                    f"target p95 <= {TARGETS_MS[name]:.0f} ms {'met' if met else 'NOT met'}"
                )
                sent = max(len(latencies) + errors, 1)
                server_ms, postgres_ms, client_ms = (1000 * u / sent for u in used)
                print(
                    f"        CPU per request: server {server_ms:.2f} ms, PostgreSQL {postgres_ms:.2f} ms,"
                    f" client {client_ms:.2f} ms; cores busy: {sum(used) / elapsed:.2f}"
                    f" (server {used[0] / elapsed:.2f}: {', '.join(f'{u / elapsed:.2f}' for u in meter.each if u > 0)})"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return good


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000, help="subscribers in the tenant (100,000)")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second offered (200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of load per query (20)")
    parser.add_argument("--workers", type=int, default=1, help="`bureau serve --workers`: HTTP processes (1)")
    parser.add_argument(
        "--queries", type=lambda v: v.split(","), default=["page", "detail"], help="which, of page,detail (both)"
    )
    parser.add_argument("--period", default=DEFAULT_PERIOD, help=f"the month billed ({DEFAULT_PERIOD})")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; Python {platform.python_version()}")
    with database() as url:
        facts, _ = asyncio.run(server_facts(url, ("shared_buffers",)))
        print(f"PostgreSQL {facts['version']}")
        asyncio.run(migrate_database(url))
        ok = asyncio.run(bench(url, args))
    print("no errors" if ok else "ERRORS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
