"""Resellers, their realms and the plans they may sell, on real PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bureau.platform.audit.tables import audit_log
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.entities import find_entity, isp_entity, list_accounts
from bureau.platform.subscribers.customers import Address, create_customer
from bureau.platform.subscribers.errors import Duplicate, InvalidSubscriberValue, PlanNotAllowedForReseller
from bureau.platform.subscribers.resellers import (
    Branding,
    add_realm,
    allow_plan,
    allowed_plans,
    create_reseller,
    disallow_plan,
    get_realm,
    get_reseller,
)
from bureau.platform.subscribers.services import add_service

BRAND = Branding(
    name="NorthNet",
    logo_url="https://northnet.example/logo.png",
    primary_colour="#0A7CFF",
    secondary_colour="#ffffff",
    support_email="help@northnet.example",
    support_phone="+1 555 0100",
)


async def test_a_reseller_gets_a_reseller_entity_with_its_chart_branding_and_realms(shop, assert_ledger_sound) -> None:
    async with shop.unit() as conn:
        made = await create_reseller(
            conn, code="northnet", name="NorthNet", branding=BRAND, commission_bp=1500, realms=[shop.northnet.title()]
        )
    async with shop.unit() as conn:
        found = await get_reseller(conn, "northnet")
        entity = await find_entity(conn, "northnet")
        assert entity.kind is EntityKind.RESELLER
        assert entity.parent_id == (await isp_entity(conn)).id
        assert await list_accounts(conn, entity.id)
        realm = await get_realm(conn, shop.northnet)
    assert found == made
    assert found.branding.primary_colour == "#0a7cff"
    assert found.commission_bp == 1500
    assert realm.reseller_id == found.id and realm.realm == shop.northnet
    await assert_ledger_sound(shop.tenant)


@pytest.mark.parametrize(
    ("branding", "commission_bp", "message"),
    [
        (Branding(primary_colour="blue"), 0, "hex colour"),
        (Branding(logo_url="ftp://x.example/l.png"), 0, "http"),
        (Branding(support_email="nobody"), 0, "not an address"),
        (Branding(), 10_001, "basis points"),
        (Branding(), 1.5, "basis points"),
    ],
)
async def test_bad_branding_or_commission_is_refused(shop, branding, commission_bp, message) -> None:
    with pytest.raises(InvalidSubscriberValue, match=message):
        async with shop.unit() as conn:
            await create_reseller(conn, code="bad", name="Bad", branding=branding, commission_bp=commission_bp)


async def test_a_reseller_lists_exactly_the_plans_it_was_allowed(shop) -> None:
    async with shop.unit() as conn:
        await create_reseller(conn, code="northnet", name="NorthNet")
        assert await allow_plan(conn, "northnet", "prepaid-hourly") is True
        assert await allow_plan(conn, "northnet", "dsl-10") is True
        assert await allow_plan(conn, "northnet", "dsl-10") is False
        assert [p.code for p in await allowed_plans(conn, "northnet")] == ["dsl-10", "prepaid-hourly"]
        assert await disallow_plan(conn, "northnet", "dsl-10") is True
        assert await disallow_plan(conn, "northnet", "dsl-10") is False
        assert [p.code for p in await allowed_plans(conn, "northnet")] == ["prepaid-hourly"]
        actions = (await conn.execute(select(audit_log.c.action).order_by(audit_log.c.id))).scalars().all()
    assert actions.count("subscribers.reseller.allow_plan") == 2
    assert actions.count("subscribers.reseller.disallow_plan") == 1


async def test_selling_a_plan_the_reseller_may_not_sell_names_the_plan_and_what_is_allowed(
    shop, assert_ledger_sound
) -> None:
    async with shop.unit() as conn:
        await create_reseller(conn, code="northnet", name="NorthNet", realms=[shop.northnet])
        await allow_plan(conn, "northnet", "dsl-10")
        await allow_plan(conn, "northnet", "prepaid-hourly")
        await create_customer(
            conn, code="bob", name="Bob", email="bob@example.com", address=Address("US"), reseller="northnet"
        )
    with pytest.raises(PlanNotAllowedForReseller) as refused:
        async with shop.unit() as conn:
            await add_service(
                conn, shop.box, customer="bob", kind="radius_login", login=f"bob@{shop.northnet}",
                plan="gold-10", password="pw",
            )  # fmt: skip
    assert str(refused.value) == "plan 'gold-10' is not sold by reseller 'northnet'; allowed: dsl-10, prepaid-hourly"
    await assert_ledger_sound(shop.tenant)


async def test_a_sub_reseller_may_only_be_allowed_what_its_parent_sells(shop) -> None:
    async with shop.unit() as conn:
        await create_reseller(conn, code="northnet", name="NorthNet")
        await create_reseller(conn, code="fjord", name="Fjord", parent="northnet")
        await allow_plan(conn, "northnet", "dsl-10")
        assert await allow_plan(conn, "fjord", "dsl-10") is True
        sub = await get_reseller(conn, "fjord")
        parent_entity = await find_entity(conn, "northnet")
        assert sub.parent_id == (await get_reseller(conn, "northnet")).id
        assert (await find_entity(conn, "fjord")).parent_id == parent_entity.id
    with pytest.raises(PlanNotAllowedForReseller) as refused:
        async with shop.unit() as conn:
            await allow_plan(conn, "fjord", "gold-10")
    assert str(refused.value) == "plan 'gold-10' is not sold by reseller 'northnet'; allowed: dsl-10"


async def test_disallowing_a_plan_at_the_parent_disallows_it_below(shop) -> None:
    async with shop.unit() as conn:
        await create_reseller(conn, code="northnet", name="NorthNet")
        await create_reseller(conn, code="fjord", name="Fjord", parent="northnet")
        await create_reseller(conn, code="bay", name="Bay", parent="fjord")
        for reseller in ("northnet", "fjord", "bay"):
            await allow_plan(conn, reseller, "dsl-10")
        await disallow_plan(conn, "northnet", "dsl-10")
        for reseller in ("northnet", "fjord", "bay"):
            assert await allowed_plans(conn, reseller) == ()


async def test_a_realm_is_lower_cased_and_registered_once(shop) -> None:
    async with shop.unit() as conn:
        realm = await add_realm(conn, shop.demo.title(), strip_realm=True)
    assert realm.realm == shop.demo and realm.reseller_id is None and realm.strip_realm
    with pytest.raises(Duplicate, match=rf"{re.escape(repr(shop.demo))} is already registered"):
        async with shop.unit() as conn:
            await add_realm(conn, shop.demo.upper())
    with pytest.raises(InvalidSubscriberValue, match="must be a domain name"):
        async with shop.unit() as conn:
            await add_realm(conn, "not a realm")
