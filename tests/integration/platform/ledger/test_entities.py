"""Entities and their accounts: create, update, query (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bureau.platform.audit.tables import audit_log
from bureau.platform.ledger import entities as ent
from bureau.platform.ledger.chart import SESSIONS, EntityKind, template_for
from bureau.platform.ledger.errors import EntityNotFound, InsufficientFunds, InvalidEntity
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.ledger.tables import entities as entities_table

DOLLAR = 1_000_000


async def test_a_new_tenant_has_one_isp_entity_with_the_isp_chart(books) -> None:
    isp = await books.isp()
    assert isp.kind is EntityKind.ISP
    assert isp.currency == "USD"
    async with books.unit() as conn:
        accounts = await ent.list_accounts(conn, isp.id)
    assert [a.code for a in accounts] == sorted(t.code for t in template_for(EntityKind.ISP))
    assert all(a.balance == 0 for a in accounts)
    sessions = next(a for a in accounts if a.code == "8900")
    assert sessions.unit == SESSIONS


async def test_creating_a_subscriber_opens_its_chart_with_zero_balances_and_guards(books) -> None:
    alice = await books.subscriber("alice@demo.example", attributes={"plan": "prepaid-hourly"})
    assert alice.kind is EntityKind.SUBSCRIBER
    assert alice.prepaid is True
    assert alice.status == "active"
    assert alice.attributes == {"plan": "prepaid-hourly"}
    async with books.unit() as conn:
        accounts = {a.code: a for a in await ent.list_accounts(conn, alice.id)}
    assert set(accounts) == {t.code for t in template_for(EntityKind.SUBSCRIBER)}
    assert accounts["1000"].floor == 0  # prepaid: main balance may not go negative
    assert accounts["1000"].side == "credit"
    assert accounts["1010"].floor == 0
    assert accounts["8000"].unit == SESSIONS
    assert accounts["9000"].floor is None
    assert all(a.balance == 0 and a.entity_id == alice.id for a in accounts.values())


async def test_an_entity_can_be_found_by_id_or_by_code(books) -> None:
    alice = await books.subscriber("alice@demo.example")
    async with books.unit() as conn:
        assert await ent.get_entity(conn, alice.id) == alice
        assert await ent.find_entity(conn, "alice@demo.example") == alice
        assert await ent.find_entity(conn, str(alice.id)) == alice


async def test_a_code_that_looks_like_an_id_finds_the_entity_with_that_code_first(books) -> None:
    isp = await books.isp()
    numeric = await books.subscriber(str(isp.id))  # code "1": also the ISP's id
    async with books.unit() as conn:
        assert await ent.find_entity(conn, str(isp.id)) == numeric


async def test_looking_up_a_missing_entity_says_what_was_asked(shared_books) -> None:
    async with shared_books.unit() as conn:
        with pytest.raises(EntityNotFound, match=r"no entity with id 999999"):
            await ent.get_entity(conn, 999_999)
        with pytest.raises(EntityNotFound, match=r"no entity with id or code 'nobody'"):
            await ent.find_entity(conn, "nobody")
        with pytest.raises(EntityNotFound, match=r"entity 999999 has no account 1000"):
            await ent.query_account(conn, 999_999, "1000")


async def test_a_reference_that_is_not_an_ascii_id_in_bigint_range_is_looked_up_as_a_code_only(shared_books) -> None:
    async with shared_books.unit() as conn:
        assert (await ent.isp_entity(conn)).id == 1
        # U+0661 ARABIC-INDIC DIGIT ONE is no id, though str.isdigit() says it is a digit;
        # an id beyond BIGINT is simply not there (not a database error).
        for ref in ("\u0661", "99999999999999999999", str(2**63)):
            with pytest.raises(EntityNotFound, match=r"no entity with id or code"):
                await ent.find_entity(conn, ref)


async def test_concurrent_creates_of_one_code_create_it_once_and_refuse_the_rest(books) -> None:
    async def create(i: int):
        async with books.unit() as conn:
            return await ent.create_entity(
                conn, kind=EntityKind.SUBSCRIBER, code="twin", name=f"Twin {i}", currency="USD"
            )

    results = await asyncio.gather(*(create(i) for i in range(4)), return_exceptions=True)
    made = [r for r in results if isinstance(r, ent.Entity)]
    refused = [r for r in results if isinstance(r, InvalidEntity)]
    assert len(made) == 1 and len(refused) == 3, results
    assert all("an entity with code 'twin' already exists" in str(r) for r in refused)
    async with books.unit() as conn:
        assert await ent.find_entity(conn, "twin") == made[0]
        assert len(await ent.list_accounts(conn, made[0].id)) == 6


async def test_a_duplicate_entity_code_is_refused_and_nothing_is_written(books) -> None:
    await books.subscriber("bob")
    before = await books.counts()
    with pytest.raises(InvalidEntity, match=r"an entity with code 'bob' already exists"):
        await books.subscriber("bob")
    assert await books.counts() == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": ""}, r"entity code '' must be 1-128 letters"),
        ({"code": "-x"}, r"starting with a letter or digit"),
        ({"code": "has space"}, r"entity code 'has space' must be"),
        ({"code": "x" * 129}, r"must be 1-128 letters"),
        ({"code": "alice\n"}, r"entity code 'alice\\n' must be"),
        ({"name": "  "}, r"name must be 1 to 200 characters"),
        ({"currency": "XYZ"}, r"unknown currency 'XYZ'"),
        ({"currency": "EUR"}, r"entity currency EUR differs from the ISP's currency USD"),
        ({"credit_limit_micros": -1}, r"credit limit must be a non-negative integer"),
        ({"credit_limit_micros": 1.5}, r"credit limit must be a non-negative integer"),
    ],
)
async def test_invalid_entity_fields_are_refused_with_the_reason(shared_books, fields: dict, message: str) -> None:
    values = {"code": f"s-{uuid.uuid4().hex[:6]}", "name": "Sub", "currency": "USD", **fields}
    before = await shared_books.counts()
    with pytest.raises(InvalidEntity, match=message):
        async with shared_books.unit() as conn:
            await ent.create_entity(conn, kind=EntityKind.SUBSCRIBER, **values)
    assert await shared_books.counts() == before


async def test_a_reseller_reference_must_name_a_reseller(shared_books) -> None:
    isp = await shared_books.isp()
    async with shared_books.unit() as conn:
        with pytest.raises(InvalidEntity, match=rf"entity {isp.id} \(isp\) is a isp, not a reseller"):
            await ent.create_entity(
                conn, kind=EntityKind.SUBSCRIBER, code="c", name="C", currency="USD", reseller_id=isp.id
            )
        with pytest.raises(EntityNotFound, match=r"no entity with id 424242"):
            await ent.create_entity(
                conn, kind=EntityKind.SUBSCRIBER, code="c", name="C", currency="USD", parent_id=424242
            )


async def test_a_subscriber_sold_by_a_reseller_records_the_reseller(books) -> None:
    async with books.unit() as conn:
        northnet = await ent.create_entity(
            conn,
            kind=EntityKind.RESELLER,
            code="northnet",
            name="NorthNet",
            currency="USD",
            parent_id=(await ent.isp_entity(conn)).id,
        )
        bob = await ent.create_entity(
            conn,
            kind=EntityKind.SUBSCRIBER,
            code="bob@northnet.example",
            name="Bob",
            currency="USD",
            reseller_id=northnet.id,
            prepaid=False,
        )
        accounts = {a.code for a in await ent.list_accounts(conn, northnet.id)}
    assert bob.reseller_id == northnet.id
    assert accounts == {t.code for t in template_for(EntityKind.RESELLER)}


async def test_updating_an_entity_changes_it_and_is_audited(books) -> None:
    carol = await books.subscriber("carol")
    async with books.unit() as conn:
        updated = await ent.update_entity(
            conn,
            carol.id,
            name="Carol C.",
            status="suspended",
            credit_limit_micros=5 * DOLLAR,
            attributes={"tier": "gold"},
        )
        audited = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.actor, audit_log.c.details)
                .where(audit_log.c.subject == f"entity:{carol.id}")
                .order_by(audit_log.c.id)
            )
        ).all()
    assert (updated.name, updated.status, updated.credit_limit_micros, dict(updated.attributes)) == (
        "Carol C.",
        "suspended",
        5 * DOLLAR,
        {"tier": "gold"},
    )
    async with books.unit() as conn:
        assert await ent.get_entity(conn, carol.id) == updated
    assert [a.action for a in audited] == ["entity.create", "entity.update"]
    assert audited[1].actor == "test"
    assert audited[1].details["before"] == {
        "name": "A subscriber",
        "status": "active",
        "credit_limit_micros": 0,
        "attributes": {},
    }
    assert audited[1].details["after"]["name"] == "Carol C."


async def test_an_update_that_changes_nothing_writes_nothing(books) -> None:
    carol = await books.subscriber("carol")
    before = await books.counts()
    async with books.unit() as conn:
        assert await ent.update_entity(conn, carol.id, prepaid=True) == carol
    assert await books.counts() == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "deleted"}, r"status 'deleted' is not one of active, suspended, closed"),
        ({"name": ""}, r"name must be 1 to 200 characters"),
        ({"credit_limit_micros": -5}, r"credit limit must be a non-negative integer"),
    ],
)
async def test_invalid_updates_are_refused(shared_books, fields: dict, message: str) -> None:
    carol = await shared_books.subscriber()
    async with shared_books.unit() as conn:
        with pytest.raises(InvalidEntity, match=message):
            await ent.update_entity(conn, carol.id, **fields)
        with pytest.raises(EntityNotFound):
            await ent.update_entity(conn, 987_654, name="x")
        assert await ent.get_entity(conn, carol.id) == carol


async def _spend(books, who: ent.Entity, micros: int) -> None:
    """Usage charged straight from the main balance to the ISP's usage revenue."""
    main = await books.account(who.id, "1000")
    revenue = await books.account((await books.isp()).id, "4000")
    await books.post(
        NewEntry(f"use-{uuid.uuid4().hex}", "usage", (debit(main.id, micros, "USD"), credit(revenue.id, micros, "USD")))
    )


async def test_a_prepaid_main_balance_cannot_go_below_zero(books, assert_ledger_sound) -> None:
    dave = await books.subscriber("dave")
    await books.fund(dave, 2 * DOLLAR)
    with pytest.raises(InsufficientFunds, match=r"would go below its floor"):
        await _spend(books, dave, 2 * DOLLAR + 1)
    await _spend(books, dave, 2 * DOLLAR)
    assert await books.balance(dave.id, "1000") == 0
    await assert_ledger_sound(books.tenant)


async def test_switching_to_post_paid_removes_the_main_balance_floor(books, assert_ledger_sound) -> None:
    erin = await books.subscriber("erin")
    await books.fund(erin, DOLLAR)
    async with books.unit() as conn:
        switched = await ent.update_entity(conn, erin.id, prepaid=False)
    assert switched.prepaid is False
    assert (await books.account(erin.id, "1000")).floor is None
    assert (await books.account(erin.id, "1010")).floor == 0  # the reserve stays guarded
    await _spend(books, erin, 3 * DOLLAR)
    assert await books.balance(erin.id, "1000") == -2 * DOLLAR
    await assert_ledger_sound(books.tenant)


async def test_switching_back_to_prepaid_is_refused_while_the_balance_is_negative(books, assert_ledger_sound) -> None:
    frank = await books.subscriber("frank", prepaid=False)
    assert (await books.account(frank.id, "1000")).floor is None
    await _spend(books, frank, 1_500_000)
    before = await books.counts()
    async with books.unit() as conn:
        with pytest.raises(InvalidEntity, match=r"entity frank owes 1.50 USD; settle it before switching to prepaid"):
            await ent.update_entity(conn, frank.id, prepaid=True, name="Frank")
    assert await books.counts() == before
    async with books.unit() as conn:
        assert (await ent.get_entity(conn, frank.id)).prepaid is False
    # Once settled, the switch is allowed and the floor is back.
    await books.fund(frank, 1_500_000)
    async with books.unit() as conn:
        assert (await ent.update_entity(conn, frank.id, prepaid=True)).prepaid is True
    assert (await books.account(frank.id, "1000")).floor == 0
    with pytest.raises(InsufficientFunds):
        await _spend(books, frank, 1)
    await assert_ledger_sound(books.tenant)


async def test_only_one_isp_entity_may_exist_in_a_tenant(books) -> None:
    async with books.unit() as conn:
        count = (
            await conn.execute(select(func.count()).select_from(entities_table).where(entities_table.c.kind == "isp"))
        ).scalar_one()
        assert count == 1
    with pytest.raises(IntegrityError, match=r"uq_entities_one_isp"):
        async with books.unit() as conn:
            await ent.create_entity(conn, kind=EntityKind.ISP, code="isp2", name="Second", currency="USD")


async def test_entity_attributes_holding_a_float_are_refused_with_the_path(books) -> None:
    """A float would come back from JSONB changed and break the audit record's hash."""
    with pytest.raises(InvalidEntity, match=r"attributes.speed.down is a float"):
        await books.subscriber(attributes={"speed": {"down": 10.5}})
