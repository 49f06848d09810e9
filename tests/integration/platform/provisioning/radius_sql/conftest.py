"""A FreeRADIUS database of each test's own, on the test run's PostgreSQL server.

Each test gets a fresh database `freeradius_<random>` with FreeRADIUS's PostgreSQL
schema, dropped afterwards. The schema is Debian's own file when FreeRADIUS is installed
(`SCHEMA_FILE`), else `SCHEMA_SQL`: its radcheck, radreply and radusergroup statements,
copied verbatim from that file of Debian 12's freeradius 3.2.1+dfsg-4+deb12u1.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.db.engine import create_engine
from bureau.platform.provisioning.radius_sql.options import RadiusSqlOptions

SCHEMA_FILE = Path("/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql")
SCHEMA_SQL = """\
CREATE TABLE IF NOT EXISTS radcheck (
	id			serial PRIMARY KEY,
	UserName		text NOT NULL DEFAULT '',
	Attribute		text NOT NULL DEFAULT '',
	op			VARCHAR(2) NOT NULL DEFAULT '==',
	Value			text NOT NULL DEFAULT ''
);
create index radcheck_UserName on radcheck (UserName,Attribute);
CREATE TABLE IF NOT EXISTS radreply (
	id			serial PRIMARY KEY,
	UserName		text NOT NULL DEFAULT '',
	Attribute		text NOT NULL DEFAULT '',
	op			VARCHAR(2) NOT NULL DEFAULT '=',
	Value			text NOT NULL DEFAULT ''
);
create index radreply_UserName on radreply (UserName,Attribute);
CREATE TABLE IF NOT EXISTS radusergroup (
	id			serial PRIMARY KEY,
	UserName		text NOT NULL DEFAULT '',
	GroupName		text NOT NULL DEFAULT '',
	priority		integer NOT NULL DEFAULT 0
);
create index radusergroup_UserName on radusergroup (UserName);
"""


def schema_sql() -> str:
    return SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else SCHEMA_SQL


async def run_script(engine: AsyncEngine, sql: str) -> None:
    """Several statements at once (a schema file), through asyncpg's simple query protocol."""
    async with engine.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        await raw.execute(sql)


@dataclass(frozen=True)
class FreeradiusDb:
    url: str  # without a password: the embedded server trusts local connections
    engine: AsyncEngine  # for the tests' own queries

    async def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params)

    async def rows(self, table: str) -> list[tuple[Any, ...]]:
        """The table's rows in id order, without the id."""
        columns = "username, groupname, priority" if table == "radusergroup" else "username, attribute, op, value"
        return await self.query(f"SELECT {columns} FROM {table} ORDER BY id")

    async def ids(self) -> dict[str, list[int]]:
        return {
            table: [row[0] for row in await self.query(f"SELECT id FROM {table} ORDER BY id")]
            for table in ("radcheck", "radreply", "radusergroup")
        }


@pytest.fixture
async def freeradius_db(server_url: str) -> AsyncIterator[FreeradiusDb]:
    name = f"freeradius_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, pool_size=1)
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name, password=None).render_as_string(hide_password=False)
    engine = create_engine(make_url(server_url).set(database=name).render_as_string(hide_password=False), pool_size=2)
    try:
        await run_script(engine, schema_sql())
        yield FreeradiusDb(url, engine)
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def options(freeradius_db: FreeradiusDb) -> RadiusSqlOptions:
    return RadiusSqlOptions(url=freeradius_db.url, group="broadband", timeout_s=5)
