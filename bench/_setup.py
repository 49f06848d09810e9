"""What every benchmark needs: a fresh database and a line about the machine.

`python bench/<name>.py` puts this folder first on sys.path, so the benchmarks import it
as `_setup`.
"""

from __future__ import annotations

import asyncio
import os
import platform
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.db.embedded import EmbeddedPostgres
from bureau.platform.db.engine import create_engine


@contextmanager
def database() -> Iterator[str]:
    """URL of a fresh database: on BUREAU_BENCH_DATABASE_URL's server, or an embedded one."""
    given = os.environ.get("BUREAU_BENCH_DATABASE_URL")
    if not given:
        with tempfile.TemporaryDirectory(prefix="bureau-bench-") as folder, EmbeddedPostgres(Path(folder)) as pg:
            yield pg.url
        return
    name = f"bureau_bench_{uuid.uuid4().hex[:10]}"
    _admin(given, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(given).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(given, f'DROP DATABASE "{name}" WITH (FORCE)')


def _admin(url: str, statement: str) -> None:
    async def run() -> None:
        engine: AsyncEngine = create_engine(url)
        try:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


def machine() -> str:
    """ "2 cores, AMD EPYC ..., 23.5 GiB RAM, Linux 6.x"."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        mem_kib = int(info.readline().split()[1])
    return f"{os.cpu_count()} cores, {model}, {mem_kib / 1024**2:.1f} GiB RAM, {platform.system()} {platform.release()}"


def parent_pid(pid: int) -> int | None:
    """The parent of a local process (a PostgreSQL backend's is the postmaster), or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None  # a server on another machine (or in a container): its CPU is not measured


def server_jiffies(postmaster: int | None) -> int | None:
    """CPU jiffies (user + system) of the server and its live processes, if it is local."""
    if postmaster is None:
        return None
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(entry.name) == postmaster or int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total


async def server_facts(url: str, settings: tuple[str, ...]) -> tuple[dict[str, str], int | None]:
    """The server's version and `settings`, and its postmaster's pid when it is local."""
    engine: AsyncEngine = create_engine(url)
    try:
        async with engine.connect() as conn:
            facts = {"version": (await conn.execute(text("SHOW server_version"))).scalar_one()}
            for setting in settings:
                facts[setting] = (await conn.execute(text(f"SHOW {setting}"))).scalar_one()
            backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        return facts, parent_pid(backend)
    finally:
        await engine.dispose()


async def reserve_ids(raw: Any, schema: str, table: str, count: int) -> list[int]:
    """`count` ids drawn from a tenant table's identity sequence, as inserts would draw
    them (`raw`: asyncpg's connection, `schema`: from `routing.schema_name`)."""
    ids = await raw.fetchval(
        "SELECT array_agg(nextval(pg_get_serial_sequence($1, 'id'))) FROM generate_series(1, $2)",
        f'"{schema}".{table}',
        count,
    )
    return sorted(ids or ())


async def copy_rows(
    raw: Any, schema: str, rows: Mapping[str, Sequence[tuple[Any, ...]]], columns: Mapping[str, Sequence[str]]
) -> None:
    """COPY each table's rows (in the order given: parents first) into the tenant schema."""
    for table, records in rows.items():
        await raw.copy_records_to_table(table, records=records, columns=columns[table], schema_name=schema)
