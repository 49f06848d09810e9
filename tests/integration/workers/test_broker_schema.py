"""Shared revision s0005 writes out dramatiq-postgres's schema; it must match the
installed package's, or the broker's queries would run against tables they do not fit."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import sqlalchemy as sa
from dramatiq_postgres import generate_init_sql
from sqlalchemy.ext.asyncio import AsyncEngine

import bureau.migrations
from bureau.workers.broker import PG_PREFIX, PG_SCHEMA


def _statements(sql: str) -> list[str]:
    without_comments = re.sub(r"--[^\n]*", "", sql)
    statements = [" ".join(part.split()) for part in without_comments.split(";")]
    return [s for s in statements if s and not s.startswith("CREATE SCHEMA")]


def test_the_migration_creates_the_installed_broker_schema() -> None:
    folder = Path(next(iter(bureau.migrations.__path__))) / "shared" / "versions"
    (path,) = folder.glob("s0005_*.py")
    spec = importlib.util.spec_from_file_location("s0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert _statements(module.BROKER_SQL) == _statements(generate_init_sql(PG_SCHEMA, PG_PREFIX))


async def test_the_migrated_database_has_the_broker_and_dead_letter_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for table in ("dramatiq_queue", "dramatiq_worker", "dramatiq_result", "dead_letters"):
            found = await conn.scalar(sa.text(f"SELECT to_regclass('{PG_SCHEMA}.{table}')::text"))
            assert found == f"{PG_SCHEMA}.{table}"
