"""Tenant lifecycle: create (validated, all or nothing), list, show, suspend, resume."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.audit.tables import audit_heads, audit_log
from bureau.platform.ledger import entities as ent
from bureau.platform.ledger.chart import EntityKind
from bureau.tenants import lifecycle, migrate, routing
from bureau.tenants.lifecycle import TenantError, TenantNotFound
from bureau.tenants.tables import tenants


def unique(prefix: str = "lc") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def registry_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(tenants))).scalar_one()


async def schema_exists(engine: AsyncEngine, schema: str) -> bool:
    async with engine.connect() as conn:
        found = await conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema})
        return found.first() is not None


async def test_creating_a_tenant_registers_it_migrates_its_schema_and_opens_the_isp_books(engine: AsyncEngine) -> None:
    slug = unique()
    tenant = await lifecycle.create_tenant(engine, slug, name="Acme Net", currency="EUR", actor="operator:ann")
    assert (tenant.slug, tenant.name, tenant.currency, tenant.status) == (slug, "Acme Net", "EUR", "active")
    assert tenant.schema == f"tenant_{slug}" == routing.schema_name(slug)
    assert await lifecycle.get_tenant(engine, slug) == tenant
    assert tenant in await lifecycle.list_tenants(engine)
    async with routing.tenant_unit(engine, tenant.ref) as conn:
        assert await migrate.current_revision(conn, slug) == migrate.head_revision("tenant")
        isp = await ent.isp_entity(conn)
        records = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.actor, audit_log.c.details).order_by(audit_log.c.id)
            )
        ).all()
    assert (isp.kind, isp.code, isp.name, isp.currency) == (EntityKind.ISP, "isp", "Acme Net", "EUR")
    assert [(r.action, r.actor) for r in records] == [
        ("tenant.create", "operator:ann"),
        ("entity.create", "operator:ann"),
    ]
    assert records[0].details == {"name": "Acme Net", "currency": "EUR"}


async def test_a_tenant_may_use_a_currency_without_minor_units(engine: AsyncEngine, make_tenant) -> None:
    tenant = await make_tenant("yen", currency="JPY")
    async with routing.tenant_unit(engine, tenant.ref) as conn:
        assert (await ent.isp_entity(conn)).currency == "JPY"


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Acme", r"tenant slug 'Acme' may only hold lower-case letters, digits and _, and must start with a letter"),
        ("1acme", r"tenant slug '1acme' may only hold lower-case letters"),
        ("_acme", r"must start with a letter"),
        ("acme-net", r"may only hold lower-case letters, digits and _"),
        ("acme\n", r"tenant slug 'acme\\n' may only hold lower-case letters"),
        ("ac me", r"may only hold lower-case letters"),
        ("pg_x", r"tenant slug 'pg_x' may not start with 'pg_' \(reserved by PostgreSQL\)"),
        ("a" * 41, r"tenant slug 'a{41}' is 41 characters; at most 40 allowed"),
        ("", r"tenant slug is empty: use lower-case letters, digits and _"),
        (None, r"tenant slug is empty"),
    ],
)
async def test_a_bad_slug_is_refused_with_the_reason_and_nothing_is_created(
    engine: AsyncEngine, slug: str, message: str
) -> None:
    before = await registry_count(engine)
    with pytest.raises(TenantError, match=message):
        await lifecycle.create_tenant(engine, slug, name="Acme", currency="USD", actor="test")
    assert await registry_count(engine) == before
    if slug:
        assert not await schema_exists(engine, f"tenant_{slug}")


async def test_a_slug_of_the_maximum_length_is_accepted(make_tenant) -> None:
    tenant = await make_tenant("m" * (routing.SLUG_MAX_LENGTH - 9))  # the factory adds "_" and 8 characters
    assert len(tenant.slug) == routing.SLUG_MAX_LENGTH


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"currency": "XYZ"}, r"unknown currency 'XYZ': use an ISO 4217 code such as USD, EUR or GBP"),
        ({"currency": "usd"}, r"unknown currency 'usd'"),
        ({"name": " "}, r"tenant name must be 1 to 200 characters, got ' '"),
        ({"name": "n" * 201}, r"tenant name must be 1 to 200 characters"),
    ],
)
async def test_bad_tenant_details_are_refused_with_the_reason(engine: AsyncEngine, fields: dict, message: str) -> None:
    slug = unique()
    before = await registry_count(engine)
    with pytest.raises(TenantError, match=message):
        await lifecycle.create_tenant(engine, slug, **{"name": "Acme", "currency": "USD", "actor": "test", **fields})
    assert await registry_count(engine) == before
    assert not await schema_exists(engine, f"tenant_{slug}")


async def test_a_duplicate_slug_is_refused(engine: AsyncEngine, make_tenant) -> None:
    tenant = await make_tenant("dup")
    before = await registry_count(engine)
    with pytest.raises(TenantError, match=rf"tenant '{tenant.slug}' already exists; pick another slug"):
        await lifecycle.create_tenant(engine, tenant.slug, name="Other", currency="EUR", actor="test")
    assert await registry_count(engine) == before
    assert await lifecycle.get_tenant(engine, tenant.slug) == tenant


async def test_two_creates_of_one_slug_at_once_create_it_once(engine: AsyncEngine) -> None:
    slug = unique("race")
    results = await asyncio.gather(
        *(lifecycle.create_tenant(engine, slug, name=f"Race {i}", currency="USD", actor="test") for i in range(3)),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, lifecycle.Tenant)]
    refused = [r for r in results if isinstance(r, TenantError)]
    assert len(made) == 1 and len(refused) == 2, results
    assert all("already exists" in str(r) for r in refused)
    assert await lifecycle.get_tenant(engine, slug) == made[0]


async def test_creating_a_tenant_is_all_or_nothing(engine: AsyncEngine) -> None:
    """A leftover schema of the same name makes CREATE SCHEMA fail after the registry row is written."""
    slug = unique("aon")
    schema = routing.schema_name(slug)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        heads_before = (await conn.execute(select(func.count()).select_from(audit_heads))).scalar_one()
    before = await registry_count(engine)
    with pytest.raises(TenantError, match=rf"schema {schema} already exists without a registered tenant"):
        await lifecycle.create_tenant(engine, slug, name="Half", currency="USD", actor="test")
    assert await registry_count(engine) == before
    with pytest.raises(TenantNotFound):
        await lifecycle.get_tenant(engine, slug)
    async with engine.connect() as conn:
        heads = (await conn.execute(select(func.count()).select_from(audit_heads))).scalar_one()
        tables = (
            await conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = :s"), {"s": schema})
        ).scalar_one()
    assert heads == heads_before
    assert tables == 0  # no migration, ledger or audit table was left behind
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}"'))
    # With the leftover gone, the same slug can be created.
    assert (await lifecycle.create_tenant(engine, slug, name="Whole", currency="USD", actor="test")).slug == slug


async def test_an_unknown_tenant_is_not_found_with_a_hint(engine: AsyncEngine) -> None:
    with pytest.raises(TenantNotFound, match=r"no tenant 'nosuch'; `bureau tenant list` shows the tenants"):
        await lifecycle.get_tenant(engine, "nosuch")
    with pytest.raises(TenantNotFound, match=r"no tenant 'nosuch'"):
        await lifecycle.suspend_tenant(engine, "nosuch", actor="test")


async def test_suspending_and_resuming_a_tenant_is_recorded_and_audited(engine: AsyncEngine, make_tenant) -> None:
    tenant = await make_tenant("sus")
    other = await make_tenant("sus")
    suspended = await lifecycle.suspend_tenant(engine, tenant.slug, actor="operator:ann")
    assert suspended.status == "suspended"
    assert (await lifecycle.get_tenant(engine, tenant.slug)).status == "suspended"
    assert (await lifecycle.get_tenant(engine, other.slug)).status == "active"
    listed = {t.slug: t.status for t in await lifecycle.list_tenants(engine)}
    assert listed[tenant.slug] == "suspended" and listed[other.slug] == "active"
    resumed = await lifecycle.resume_tenant(engine, tenant.slug, actor="operator:bob")
    assert resumed.status == "active"
    assert (await lifecycle.get_tenant(engine, tenant.slug)).status == "active"
    async with routing.tenant_unit(engine, tenant.ref) as conn:
        records = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.actor, audit_log.c.details)
                .where(audit_log.c.action.like("tenant.%"))
                .order_by(audit_log.c.id)
            )
        ).all()
    assert [(r.action, r.actor) for r in records] == [
        ("tenant.create", "test"),
        ("tenant.suspend", "operator:ann"),
        ("tenant.resume", "operator:bob"),
    ]
    assert records[1].details == {"before": "active", "after": "suspended"}
    assert records[2].details == {"before": "suspended", "after": "active"}
    async with routing.tenant_unit(engine, other.ref) as conn:
        other_actions = (await conn.execute(select(audit_log.c.action))).scalars().all()
    assert "tenant.suspend" not in other_actions


async def test_a_status_that_is_not_active_or_suspended_is_refused(engine: AsyncEngine, make_tenant) -> None:
    tenant = await make_tenant("sus")
    with pytest.raises(TenantError, match=r"status 'deleted' is not one of active, suspended"):
        await lifecycle.set_status(engine, tenant.slug, "deleted", actor="test")
    assert (await lifecycle.get_tenant(engine, tenant.slug)).status == "active"


async def test_a_failure_after_the_schema_is_migrated_leaves_no_tenant_behind(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection at the last step (opening the ISP's books): schema, tables and registry row all vanish."""
    slug = unique("late")
    schema = routing.schema_name(slug)

    async def broken_books(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full while opening the books")

    monkeypatch.setattr(lifecycle, "create_entity", broken_books)
    before = await registry_count(engine)
    with pytest.raises(RuntimeError, match="disk full"):
        await lifecycle.create_tenant(engine, slug, name="Late", currency="USD", actor="test")
    assert await registry_count(engine) == before
    async with engine.connect() as conn:
        found = await conn.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema})
    assert found == 0
