"""Customers: numbers, lookups, details and tenant isolation, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from bureau.platform.catalog.classes import create_subscriber_class
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.entities import find_entity, query_account
from bureau.platform.subscribers.customers import Address, create_customer, get_customer, update_customer
from bureau.platform.subscribers.errors import InvalidSubscriberValue, NotFound
from bureau.platform.subscribers.resellers import add_realm, create_reseller
from bureau.platform.subscribers.services import add_service
from bureau.platform.subscribers.tables import customers
from bureau.tenants.routing import tenant_unit

HOME = Address("DE", state="BE", city="Berlin", postal_code="10115", lines=("Invalidenstr. 1",))


async def new_customer(conn, code: str, **values):
    return await create_customer(
        conn, code=code, name=values.pop("name", code.title()), email=f"{code}@example.com", address=HOME, **values
    )


async def test_a_customer_owns_a_subscriber_entity_with_its_balance_rules(shop, assert_ledger_sound) -> None:
    async with shop.unit() as conn:
        made = await new_customer(conn, "alice", prepaid=False, credit_limit_micros=50_000_000, phone="+49 30 1234")
    async with shop.unit() as conn:
        entity = await find_entity(conn, "alice")
        main = await query_account(conn, entity.id, "1000")
        found = await get_customer(conn, "alice")
    assert entity.kind is EntityKind.SUBSCRIBER and entity.id == made.entity_id
    assert not entity.prepaid and entity.credit_limit_micros == 50_000_000
    assert main.floor is None
    assert found == made
    assert found.address == HOME and found.reseller is None
    await assert_ledger_sound(shop.tenant)


async def test_customer_numbers_are_unique_and_sequential_even_when_created_at_once(shop, assert_ledger_sound) -> None:
    async with shop.unit() as conn:
        first = await new_customer(conn, "first")

    async def make(i: int) -> str:
        async with shop.unit() as conn:
            return (await new_customer(conn, f"c{i}")).number

    numbers = await asyncio.gather(*(make(i) for i in range(8)))
    assert first.number == "C000001"
    assert sorted(numbers) == [f"C{n:06d}" for n in range(2, 10)]
    async with shop.unit() as conn:
        stored = (await conn.execute(select(customers.c.customer_number))).scalars().all()
    assert len(stored) == len(set(stored)) == 9
    await assert_ledger_sound(shop.tenant)


async def test_a_customer_is_found_by_number_entity_code_or_service_login(shop, assert_ledger_sound) -> None:
    async with shop.unit() as conn:
        await add_realm(conn, shop.demo)
        alice = await new_customer(conn, "alice")
        await add_service(
            conn, shop.box, customer="alice", kind="radius_login", login=f"alice@{shop.demo.title()}",
            plan="dsl-10", password="pw",
        )  # fmt: skip
    async with shop.unit() as conn:
        for ref in (alice.number, "alice", f"alice@{shop.demo}", f"alice@{shop.demo.upper()}"):
            assert (await get_customer(conn, ref)).id == alice.id, ref
        with pytest.raises(NotFound, match=rf"no customer has number, code or login 'bob@{re.escape(shop.demo)}'"):
            await get_customer(conn, f"bob@{shop.demo}")
    await assert_ledger_sound(shop.tenant)


async def test_a_customer_of_one_tenant_is_not_found_through_another(
    shop, engine, make_tenant, assert_ledger_sound
) -> None:
    other = await make_tenant("sub_other")
    async with shop.unit() as conn:
        await add_realm(conn, shop.demo)
        alice = await new_customer(conn, "alice")
        await add_service(
            conn, shop.box, customer="alice", kind="radius_login", login=f"alice@{shop.demo}",
            plan="dsl-10", password="pw",
        )  # fmt: skip
    async with tenant_unit(engine, other.ref) as conn:
        for ref in (alice.number, "alice", f"alice@{shop.demo}"):
            with pytest.raises(NotFound):
                await get_customer(conn, ref)
        assert (await conn.execute(select(customers))).all() == []
    await assert_ledger_sound(shop.tenant)
    await assert_ledger_sound(other)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"address": Address("de")}, "ISO 3166-1 alpha-2"),
        ({"address": Address("DEU")}, "ISO 3166-1 alpha-2"),
        ({"email": "alice.example.com"}, "not an address"),
        ({"email": "alice@localhost"}, "not an address"),
        ({"phone": "call me"}, "digits"),
        ({"name": " "}, "customer name"),
    ],
)
async def test_a_bad_country_email_phone_or_name_is_refused(shop, values, message) -> None:
    fields = {"code": "alice", "name": "Alice", "email": "alice@example.com", "address": HOME} | values
    with pytest.raises(InvalidSubscriberValue, match=message):
        async with shop.unit() as conn:
            await create_customer(conn, **fields)


async def test_a_reseller_customer_records_the_reseller_on_row_and_entity(shop, assert_ledger_sound) -> None:
    async with shop.unit() as conn:
        northnet = await create_reseller(conn, code="northnet", name="NorthNet")
        bob = await new_customer(conn, "bob", reseller="northnet")
        entity = await find_entity(conn, "bob")
    assert bob.reseller == "northnet" and bob.reseller_id == northnet.id
    assert entity.reseller_id == northnet.entity_id and entity.parent_id == northnet.entity_id
    await assert_ledger_sound(shop.tenant)


async def test_updating_a_customer_changes_row_and_entity_and_is_audited(shop, assert_ledger_sound) -> None:
    async with shop.unit() as conn:
        await create_subscriber_class(conn, "business", "Business")
        made = await new_customer(conn, "alice", phone="+49 30 1")
    async with shop.unit() as conn:
        after = await update_customer(
            conn,
            made.number,
            name="Alice Smith",
            email="alice.smith@example.com",
            phone=None,
            address=Address("FR", city="Paris"),
            subscriber_class="business",
            prepaid=False,
            credit_limit_micros=10_000_000,
        )
        entity = await find_entity(conn, "alice")
    assert after.name == entity.name == "Alice Smith"
    assert after.email == "alice.smith@example.com" and after.phone is None
    assert after.address == Address("FR", city="Paris") and after.subscriber_class == "business"
    assert not entity.prepaid and entity.credit_limit_micros == 10_000_000
    assert after.number == made.number
    await assert_ledger_sound(shop.tenant)
