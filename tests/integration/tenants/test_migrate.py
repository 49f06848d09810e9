"""`migrate_all`: shared schema, then every tenant in its own transaction, reported per tenant;
and the data a migration carries over into an existing tenant.

The `migrate_all` tests run on a database of their own (`own_engine`, see conftest.py), so
a report lists exactly the tenants made here; a data migration's test upgrades its own
tenant alone, on the run's database.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.audit.tables import audit_log
from bureau.platform.billing.invoices import get_invoice
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.billing.voids import void_invoice
from bureau.platform.ledger.tables import entities
from bureau.tenants import lifecycle, migrate
from bureau.tenants.lifecycle import Tenant
from bureau.tenants.routing import tenant_unit
from tests.integration.platform.billing.conftest import at, make_books

HEAD = migrate.head_revision("tenant")


async def set_version(engine: AsyncEngine, tenant: Tenant, version: str | None) -> None:
    """What a half-applied or foreign migration history looks like: edit the version table."""
    async with engine.begin() as conn:
        await conn.execute(text(f'DELETE FROM "{tenant.schema}".alembic_version'))
        if version is not None:
            await conn.execute(text(f'INSERT INTO "{tenant.schema}".alembic_version VALUES (:v)'), {"v": version})


async def slugs(engine: AsyncEngine) -> set[str]:
    return {t.slug for t in await lifecycle.list_tenants(engine)}


async def revision(engine: AsyncEngine, tenant: Tenant) -> str | None:
    async with tenant_unit(engine, tenant.ref) as conn:
        return await migrate.current_revision(conn, tenant.slug)


async def test_a_new_tenant_is_at_the_head_revision(own_engine: AsyncEngine, make_own_tenant) -> None:
    tenant = await make_own_tenant("mig")
    assert HEAD is not None and HEAD.startswith("t")
    assert await revision(own_engine, tenant) == HEAD


async def test_migrate_all_reports_each_tenant_and_goes_on_past_a_broken_one(
    own_engine: AsyncEngine, make_own_tenant
) -> None:
    fine = await make_own_tenant("mig")
    broken = await make_own_tenant("mig")
    behind = await make_own_tenant("mig")
    # `broken` claims a revision this code has never heard of; `behind` is an empty schema.
    await set_version(own_engine, broken, "zz_unknown")
    async with own_engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{behind.schema}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{behind.schema}"'))
    everyone = await slugs(own_engine)
    try:
        report = await migrate.migrate_all(own_engine)
        assert report.ok is False
        assert set(report.failed) == {broken.slug}, report.failed
        assert "zz_unknown" in report.failed[broken.slug]
        assert "\n" not in report.failed[broken.slug]
        assert report.migrated == [behind.slug]
        assert fine.slug in report.up_to_date
        assert set(report.up_to_date) == everyone - {broken.slug, behind.slug}
        assert report.shared == migrate.head_revision("shared")
        assert await revision(own_engine, behind) == HEAD
        async with tenant_unit(own_engine, behind.ref) as conn:
            assert (await conn.execute(select(func.count()).select_from(entities))).scalar_one() == 0
        # The failed tenant was left as it was.
        assert await revision(own_engine, broken) == "zz_unknown"
    finally:
        await set_version(own_engine, broken, HEAD)
    # Running again resumes: the repaired tenant is now fine, nothing is migrated twice.
    again = await migrate.migrate_all(own_engine)
    assert again.failed == {}
    assert again.migrated == []
    assert set(again.up_to_date) == everyone


async def test_a_tenant_whose_migration_fails_midway_is_rolled_back(own_engine: AsyncEngine, make_own_tenant) -> None:
    tenant = await make_own_tenant("mig")
    # No recorded version: the first revision runs again and fails on the tables it finds.
    await set_version(own_engine, tenant, None)
    try:
        report = await migrate.migrate_all(own_engine)
        assert set(report.failed) == {tenant.slug}
        assert "already exists" in report.failed[tenant.slug]
        assert tenant.slug not in report.migrated + report.up_to_date
        assert await revision(own_engine, tenant) is None
        async with tenant_unit(own_engine, tenant.ref) as conn:
            isp = (await conn.execute(select(entities.c.code).where(entities.c.kind == "isp"))).scalar_one()
        assert isp == "isp"
    finally:
        await set_version(own_engine, tenant, HEAD)
    assert (await migrate.migrate_all(own_engine)).failed == {}


async def test_two_migrate_all_runs_at_once_both_succeed(own_engine: AsyncEngine, make_own_tenant) -> None:
    tenants = [await make_own_tenant("mig") for _ in range(2)]
    everyone = await slugs(own_engine)
    first, second = await asyncio.wait_for(
        asyncio.gather(migrate.migrate_all(own_engine), migrate.migrate_all(own_engine)), timeout=30
    )
    for report in (first, second):
        assert report.failed == {}
        assert report.shared == migrate.head_revision("shared")
        assert {t.slug for t in tenants} <= set(report.up_to_date)
        assert set(report.up_to_date) == everyone


async def test_migrate_all_waits_for_a_tenant_being_created(own_engine: AsyncEngine, make_own_tenant) -> None:
    """create_tenant and migrate_all share one lock, so neither sees the other half done."""
    created, report = await asyncio.gather(make_own_tenant("mig"), migrate.migrate_all(own_engine))
    assert report.failed == {}
    assert await revision(own_engine, created) == HEAD


@pytest.mark.parametrize("tree", ["shared", "tenant"])
def test_each_migration_tree_has_one_head(tree: str) -> None:
    assert migrate.head_revision(tree) is not None


async def test_t0015_gives_invoices_voided_before_it_their_void_from_the_audit_log(
    engine: AsyncEngine, make_tenant: Any, assert_ledger_sound: Any
) -> None:
    books = await make_books(engine, make_tenant, "mig")
    for name in ("bob", "ann"):
        await books.customer(name, "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=at("2026-11-23T12:00:00"))
    async with books.unit() as conn:
        await void_invoice(conn, invoice="INV-000001", reason="never connected")
    # A tenant that voided under t0014: no void columns, the void only in the audit log.
    schema = books.tenant.schema
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f'ALTER TABLE "{schema}".invoices DROP CONSTRAINT ck_invoices_void, '
                "DROP COLUMN voided_at, DROP COLUMN void_reason"
            )
        )
    await set_version(engine, books.tenant, "t0014")
    async with tenant_unit(engine, books.tenant.ref, actor="migrate") as conn:
        assert await migrate.upgrade_tenant(conn, books.tenant.slug) == HEAD
    async with books.unit() as conn:
        voided = await get_invoice(conn, "INV-000001")
        other = await get_invoice(conn, "INV-000002")
        logged = (await conn.execute(select(audit_log.c.at).where(audit_log.c.action == "billing.invoice.void"))).one()
    assert (voided.status, voided.void_reason, voided.voided_at) == ("void", "never connected", logged.at)
    assert (other.status, other.voided_at, other.void_reason) == ("open", None, None)
    await assert_ledger_sound(books.tenant)
