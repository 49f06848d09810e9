"""A database of their own for the migration tests.

`migrate_all` walks every tenant of a database. On the run's shared database that is
every tenant any test made (its cost grows with the suite), and a test that breaks a
tenant on purpose would put the others' runs at risk. So these tests get a fresh
database on the same server, holding only the tenants they create.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.db.engine import create_engine
from bureau.tenants import lifecycle, migrate


@pytest.fixture(scope="module")
async def own_engine(server_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a new, migrated database that only this test module uses."""
    name = f"bureau_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url)
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = create_engine(make_url(server_url).set(database=name).render_as_string(hide_password=False))
    try:
        report = await migrate.migrate_all(eng)
        assert report.ok and report.migrated == [], report
        yield eng
    finally:
        await eng.dispose()
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def make_own_tenant(own_engine: AsyncEngine) -> Callable[..., Awaitable[lifecycle.Tenant]]:
    async def make(prefix: str = "mig") -> lifecycle.Tenant:
        slug = f"{prefix}_{uuid.uuid4().hex[:8]}"
        return await lifecycle.create_tenant(own_engine, slug, name=f"Tenant {slug}", currency="USD", actor="test")

    return make
