"""Subscriber classes and the plans linked to them, on real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bureau.platform.audit.tables import audit_log
from bureau.platform.catalog.classes import create_subscriber_class, link_plan_to_class, plans_for_class
from bureau.platform.catalog.errors import DuplicateCode, InvalidCatalogValue, NotFound
from bureau.platform.catalog.plans import create_category, create_plan
from bureau.tenants.routing import tenant_unit


@pytest.fixture
async def unit(engine, make_tenant):
    tenant = await make_tenant("cls")

    def open_unit():
        return tenant_unit(engine, tenant.ref, actor="test")

    async with open_unit() as conn:
        await create_category(conn, "dsl", "DSL")
        for code, billing in (("dsl-10", "postpaid"), ("dsl-20", "postpaid"), ("prepaid-data", "prepaid")):
            await create_plan(conn, code, code.upper(), category="dsl", billing=billing)
        await create_subscriber_class(conn, "residential", "Residential")
        await create_subscriber_class(conn, "business", "Business")
    return open_unit


async def test_a_class_offers_exactly_the_plans_linked_to_it_by_code(unit) -> None:
    async with unit() as conn:
        assert await link_plan_to_class(conn, "residential", "prepaid-data") is True
        assert await link_plan_to_class(conn, "residential", "dsl-10") is True
        assert await link_plan_to_class(conn, "business", "dsl-20") is True
        assert await link_plan_to_class(conn, "business", "dsl-10") is True
    async with unit() as conn:
        residential = await plans_for_class(conn, "residential")
        business = await plans_for_class(conn, "business")
    assert [p.code for p in residential] == ["dsl-10", "prepaid-data"]
    assert [p.code for p in business] == ["dsl-10", "dsl-20"]
    assert residential[0].category == "dsl"


async def test_linking_a_plan_twice_changes_nothing_and_writes_one_audit_record(unit) -> None:
    async with unit() as conn:
        assert await link_plan_to_class(conn, "business", "dsl-20") is True
    async with unit() as conn:
        assert await link_plan_to_class(conn, "business", "dsl-20") is False
    async with unit() as conn:
        assert [p.code for p in await plans_for_class(conn, "business")] == ["dsl-20"]
        links = (
            await conn.execute(select(audit_log.c.subject).where(audit_log.c.action == "catalog.class.link_plan"))
        ).all()
    assert [row.subject for row in links] == ["class:business"]


async def test_a_class_without_plans_offers_none(unit) -> None:
    async with unit() as conn:
        assert await plans_for_class(conn, "business") == ()


async def test_unknown_classes_and_plans_and_duplicate_or_malformed_classes_are_refused(unit) -> None:
    with pytest.raises(NotFound, match="no subscriber class has code 'gold'"):
        async with unit() as conn:
            await link_plan_to_class(conn, "gold", "dsl-10")
    with pytest.raises(NotFound, match="no plan has code 'dsl-99'"):
        async with unit() as conn:
            await link_plan_to_class(conn, "business", "dsl-99")
    with pytest.raises(NotFound, match="no subscriber class has code 'gold'"):
        async with unit() as conn:
            await plans_for_class(conn, "gold")
    with pytest.raises(DuplicateCode, match="subscriber class with code 'business' already exists"):
        async with unit() as conn:
            await create_subscriber_class(conn, "business", "Business again")
    with pytest.raises(InvalidCatalogValue, match="subscriber class name must be text"):
        async with unit() as conn:
            await create_subscriber_class(conn, "vip", "  ")
