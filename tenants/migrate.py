"""Bringing the shared schema and every tenant schema to head (Alembic, two trees).

Runs are serialised by a PostgreSQL advisory lock, so two `bureau migrate` at once, or
a migrate during `tenant create`, cannot interleave. Each tenant migrates in its own
transaction: one that fails is rolled back and reported, and the others go on; running
again resumes with the tenants still behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import bureau.migrations
from bureau.platform.db.schema import SHARED

from . import routing
from .tables import tenants

MIGRATE_LOCK = (0x4255_5245, 1)  # ("BURE", 1): one migrator at a time per database


def _tree(name: str) -> Path:
    return Path(next(iter(bureau.migrations.__path__))) / name


def _config(tree: str, connection: Connection, **attributes: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_tree(tree)))
    config.attributes["connection"] = connection
    config.attributes.update(attributes)
    return config


def head_revision(tree: str) -> str | None:
    return ScriptDirectory.from_config(_config(tree, None)).get_current_head()  # type: ignore[arg-type]


@dataclass
class MigrationReport:
    shared: str | None = None
    migrated: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


async def lock(conn: AsyncConnection) -> None:
    """Take the migration lock for the rest of `conn`'s transaction."""
    await conn.execute(select(func.pg_advisory_xact_lock(*MIGRATE_LOCK)))


async def upgrade_shared(conn: AsyncConnection) -> str | None:
    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SHARED}"'))
    return await conn.run_sync(_upgrade, "shared", SHARED)


async def upgrade_tenant(conn: AsyncConnection, slug: str) -> str | None:
    """Upgrade one tenant schema on a connection already scoped to it by routing."""
    return await conn.run_sync(_upgrade, "tenant", routing.schema_name(slug))


def _upgrade(connection: Connection, tree: str, schema: str) -> str | None:
    config = _config(tree, connection, tenant_schema=schema)
    command.upgrade(config, "head")
    return MigrationContext.configure(connection, opts={"version_table_schema": schema}).get_current_revision()


async def current_revision(conn: AsyncConnection, slug: str) -> str | None:
    def read(connection: Connection) -> str | None:
        context = MigrationContext.configure(connection, opts={"version_table_schema": routing.schema_name(slug)})
        return context.get_current_revision()

    return await conn.run_sync(read)


async def migrate_all(engine: AsyncEngine) -> MigrationReport:
    """Shared schema first, then every tenant, each in its own transaction."""
    report = MigrationReport()
    async with engine.connect() as holder:
        # A session-level lock held across the per-tenant transactions below.
        await holder.execute(select(func.pg_advisory_lock(*MIGRATE_LOCK)))
        await holder.commit()
        try:
            async with engine.begin() as conn:
                report.shared = await upgrade_shared(conn)
            async with engine.connect() as conn:
                rows = (await conn.execute(select(tenants.c.id, tenants.c.slug).order_by(tenants.c.slug))).all()
            head = head_revision("tenant")
            for row in rows:
                tenant = routing.TenantRef(row.id, row.slug)
                try:
                    async with routing.tenant_unit(engine, tenant, actor="migrate") as conn:
                        before = await current_revision(conn, tenant.slug)
                        after = await upgrade_tenant(conn, tenant.slug)
                except Exception as exc:  # reported per tenant; the others go on
                    report.failed[tenant.slug] = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    continue
                (report.up_to_date if before == after == head else report.migrated).append(tenant.slug)
        finally:
            await holder.execute(select(func.pg_advisory_unlock(*MIGRATE_LOCK)))
            await holder.commit()
    return report
