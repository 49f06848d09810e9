"""The realm registry (realm → tenant, reseller) and routing "user@realm" by it, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.subscribers.errors import Duplicate
from bureau.platform.subscribers.registry import realm_registry
from bureau.platform.subscribers.resellers import add_realm, create_reseller
from bureau.platform.subscribers.tables import realms
from bureau.tenants import migrate
from bureau.tenants.realms import RealmRoute, route_login, route_realm, split_login
from bureau.tenants.routing import TenantRef, tenant_unit


def unique_realm(name: str = "isp") -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}.example"


async def registry_rows(engine: AsyncEngine, realm: str) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(realm_registry).where(realm_registry.c.realm == realm)
        return int(await conn.scalar(query) or 0)


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("alice@Demo.Example", ("alice", "demo.example")),
        ("a@b@northnet.example", ("a@b", "northnet.example")),
        ("alice", ("alice", None)),
        ("alice@", ("alice", None)),
    ],
)
def test_a_login_splits_at_its_last_at_into_user_and_lower_cased_realm(login, expected) -> None:
    assert split_login(login) == expected


async def test_add_realm_registers_the_realm_and_routing_finds_tenant_and_reseller(engine, make_tenant) -> None:
    tenant = await make_tenant("realm")
    own, sold = unique_realm("isp"), unique_realm("visp")
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await add_realm(conn, own.upper())
        await create_reseller(conn, code="northnet", name="NorthNet", realms=[sold])

    assert await route_realm(engine, own) == RealmRoute(own, TenantRef(tenant.id, tenant.slug), "active", None)
    assert await route_realm(engine, sold.upper()) == RealmRoute(sold, tenant.ref, "active", "northnet")
    assert await route_login(engine, f"bob@{sold.upper()}") == await route_realm(engine, sold)
    assert await route_realm(engine, unique_realm("nobody")) is None
    assert await route_login(engine, "bob") is None


async def test_a_realm_of_one_tenant_is_refused_to_another_without_naming_the_first(engine, make_tenant) -> None:
    first, second = await make_tenant("realm"), await make_tenant("realm")
    realm = unique_realm()
    async with tenant_unit(engine, first.ref, actor="test") as conn:
        await add_realm(conn, realm)

    with pytest.raises(Duplicate) as refused:
        async with tenant_unit(engine, second.ref, actor="test") as conn:
            await create_reseller(conn, code="southnet", name="SouthNet")
            await add_realm(conn, realm.upper(), reseller="southnet")
    message = str(refused.value)
    assert message == f"realm {realm!r} is already registered; a realm belongs to one ISP or reseller"
    # The id as a number of its own: a realm's random hex ("isp-3c1828ac") may hold its digits.
    assert first.slug not in message and not re.search(rf"\b{first.id}\b", message)

    route = await route_realm(engine, realm)
    assert route is not None and route.tenant == first.ref and route.reseller_code is None
    async with tenant_unit(engine, second.ref, actor="test") as conn:
        assert await conn.scalar(select(func.count()).select_from(realms)) == 0


async def test_a_rolled_back_add_realm_leaves_no_registry_row(engine, make_tenant) -> None:
    first, second = await make_tenant("realm"), await make_tenant("realm")
    realm = unique_realm()
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with tenant_unit(engine, first.ref, actor="test") as conn:
            await add_realm(conn, realm)
            assert await route_realm(engine, realm) is None  # not visible before commit
            raise RuntimeError("changed my mind")
    assert await registry_rows(engine, realm) == 0
    async with tenant_unit(engine, second.ref, actor="test") as conn:
        await add_realm(conn, realm)  # free for anyone
    route = await route_realm(engine, realm)
    assert route is not None and route.tenant == second.ref


async def test_two_tenants_racing_for_one_realm_get_one_winner_and_one_clear_refusal(engine, make_tenant) -> None:
    racers = [await make_tenant("race") for _ in range(2)]
    realm = unique_realm()

    async def claim(tenant) -> str:
        async with tenant_unit(engine, tenant.ref, actor="test") as conn:
            await add_realm(conn, realm)
            await asyncio.sleep(0.05)  # hold the transaction open so the other one waits on it
        return tenant.slug

    results = await asyncio.gather(*(claim(t) for t in racers), return_exceptions=True)
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], Duplicate) and "already registered" in str(losers[0])
    route = await route_realm(engine, realm)
    assert route is not None and route.tenant.slug == winners[0]
    assert await registry_rows(engine, realm) == 1


WORKER_TABLES = ("dead_letters", "dramatiq_result", "dramatiq_worker", "dramatiq_queue")  # s0005


async def test_migrating_from_s0001_backfills_every_tenant_realm_and_skips_a_clash(
    own_engine: AsyncEngine, make_own_tenant, caplog: pytest.LogCaptureFixture
) -> None:
    old, new, behind = await make_own_tenant("bf"), await make_own_tenant("bf"), await make_own_tenant("bf")
    shared_realm, own_realm, sold_realm = unique_realm("both"), unique_realm("isp"), unique_realm("visp")
    async with tenant_unit(own_engine, old.ref, actor="test") as conn:
        await add_realm(conn, shared_realm)
        await create_reseller(conn, code="northnet", name="NorthNet", realms=[sold_realm])
    async with tenant_unit(own_engine, new.ref, actor="test") as conn:
        await add_realm(conn, own_realm)
        # A realm the older tenant also holds, as could happen before the registry existed.
        await conn.execute(insert(realms).values(realm=shared_realm))
    async with own_engine.begin() as conn:
        # Back to before s0002: no registry (nor what later revisions added); `behind` has no
        # tenant tables at all yet.
        for table in ("api_keys", "proxied_accounting", "realm_proxies", "nas_clients", "realms", *WORKER_TABLES):
            await conn.execute(text(f"DROP TABLE IF EXISTS bureau_shared.{table}"))
        await conn.execute(text("DROP TYPE IF EXISTS bureau_shared.dramatiq_state"))
        await conn.execute(text("ALTER TABLE bureau_shared.tenants DROP COLUMN IF EXISTS time_zone"))
        await conn.execute(text("UPDATE bureau_shared.alembic_version SET version_num = 's0001'"))
        await conn.execute(text(f'DROP SCHEMA "{behind.schema}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{behind.schema}"'))

    with caplog.at_level(logging.WARNING):
        report = await migrate.migrate_all(own_engine)

    assert report.ok, report.failed
    assert report.shared == migrate.head_revision("shared")
    assert behind.slug in report.migrated
    assert await route_realm(own_engine, own_realm) == RealmRoute(own_realm, new.ref, "active", None)
    assert await route_realm(own_engine, sold_realm) == RealmRoute(sold_realm, old.ref, "active", "northnet")
    clash = await route_realm(own_engine, shared_realm)
    assert clash is not None and clash.tenant == old.ref  # the first to add it keeps it
    assert [r.getMessage() for r in caplog.records if shared_realm in r.getMessage()] == [
        f"realm {shared_realm!r} of tenant {new.slug!r} is already registered to tenant id {old.id}; "
        "it is left out of the realm registry until an operator resolves the clash"
    ]
    with pytest.raises(Duplicate):
        async with tenant_unit(own_engine, new.ref, actor="test") as conn:
            await add_realm(conn, sold_realm)
