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
from sqlalchemy import select

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
        return key.token, [(row.id, row.customer_number) for row in rows]
    finally:
        await engine.dispose()


def _serve(url: str, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUREAU_")}
    env |= {
        "BUREAU_DATABASE_URL": url,
        "BUREAU_HTTP_PORT": str(port),
        "BUREAU_DATA_DIR": str(data_dir),
        "BUREAU_LOG_LEVEL": "warning",
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


async def _load(
    port: int, token: str, query: str, variables: Any, rate: float, seconds: float
) -> tuple[list[float], int, float]:
    """Latencies (ms) of the requests sent at `rate` per second for `seconds`, the errors,
    and the rate achieved."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:

        async def one() -> None:
            nonlocal errors
            began = time.perf_counter()
            try:
                answer = await client.post("/graphql", json={"query": query, "variables": variables()}, headers=headers)
                body = answer.json()
                if answer.status_code != 200 or "errors" in body:
                    errors += 1
                    return
            except (httpx.HTTPError, ValueError):  # no answer, or not JSON (a 500 page)
                errors += 1
                return
            latencies.append((time.perf_counter() - began) * 1000)

        tasks = []
        start = time.perf_counter()
        count = int(rate * seconds)
        for n in range(count):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        achieved = count / (time.perf_counter() - start)
    return latencies, errors, achieved


def _percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) >= 2 else float("nan")


async def bench(url: str, args: argparse.Namespace) -> bool:
    token, rows = await _prepare(url, args.subscribers, args.period)
    ids = [i for i, _ in rows]
    numbers = [n for _, n in rows]
    port = _free_port()
    good = True
    with tempfile.TemporaryDirectory(prefix="bureau-gql-") as data_dir:
        server = _serve(url, port, Path(data_dir))
        try:
            await _wait_up(port)
            cases = {
                "page": (PAGE, lambda: {"after": cursor("customer", random.choice(ids) - 1)}),
                "detail": (DETAIL, lambda: {"ref": random.choice(numbers)}),
            }
            for name, (query, variables) in cases.items():
                await _load(port, token, query, variables, args.rate, min(args.seconds, 3.0))  # warm-up
                latencies, errors, achieved = await _load(port, token, query, variables, args.rate, args.seconds)
                p50, p95, p99 = (_percentile(latencies, p) for p in (50, 95, 99))
                met = p95 <= TARGETS_MS[name] and errors == 0
                good = good and errors == 0
                print(
                    f"{name:7} {len(latencies):,} answered at {achieved:.0f}/s offered {args.rate:.0f}/s: "
                    f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, {errors} errors; "
                    f"target p95 <= {TARGETS_MS[name]:.0f} ms {'met' if met else 'NOT met'}"
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
