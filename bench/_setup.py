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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
