"""Tenant isolation: a unit of work scoped to tenant A can neither read nor write tenant B.

Ids are per tenant schema (each starts at 1), so "B's id" is only a meaningful probe when
A has no row with that id; the fixture gives B more rows than A and the tests assert it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.audit import chain
from bureau.platform.audit import log as audit
from bureau.platform.audit.tables import audit_log
from bureau.platform.ledger import entities as ent
from bureau.platform.ledger.chart import EntityKind, template_for
from bureau.platform.ledger.check import check_ledger
from bureau.platform.ledger.errors import EntityNotFound, UnknownAccount
from bureau.platform.ledger.posting import post_entry
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.ledger.statement import statement_of_account
from bureau.platform.ledger.tables import account_balances, accounts, entities, journal_entries, postings
from bureau.tenants import lifecycle, routing
from bureau.tenants.routing import InvalidSlug, TenantRef, tenant_unit

DOLLAR = 1_000_000


@dataclass
class Pair:
    engine: AsyncEngine
    a: lifecycle.Tenant
    b: lifecycle.Tenant
    b_subscriber: ent.Entity  # an entity id that exists only in B
    b_main: ent.AccountBalance  # its main balance: an account id that exists only in B
    b_reserve: ent.AccountBalance

    def unit(self, tenant: lifecycle.Tenant):
        return tenant_unit(self.engine, tenant.ref, actor="test")

    async def snapshot(self, tenant: lifecycle.Tenant) -> dict[str, list]:
        """Every row of the tenant's ledger and audit log."""
        async with self.unit(tenant) as conn:
            result = {}
            for table in (entities, accounts, account_balances, journal_entries, postings, audit_log):
                rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
                result[table.name] = [tuple(row) for row in rows]
            return result


async def _fund(conn, entity_id: int, micros: int) -> None:
    isp = await ent.isp_entity(conn)
    cash = await ent.query_account(conn, isp.id, "1100")
    main = await ent.query_account(conn, entity_id, "1000")
    await post_entry(
        conn,
        NewEntry(
            f"topup-{uuid.uuid4().hex}", "top-up", (debit(cash.id, micros, "USD"), credit(main.id, micros, "USD"))
        ),
    )


@pytest.fixture
async def pair(engine: AsyncEngine, make_tenant) -> Pair:
    a = await make_tenant("iso_a")
    b = await make_tenant("iso_b")
    async with tenant_unit(engine, a.ref) as conn:
        alice_a = await ent.create_entity(
            conn, kind=EntityKind.SUBSCRIBER, code="alice", name="Alice of A", currency="USD"
        )
        await _fund(conn, alice_a.id, 2 * DOLLAR)
    async with tenant_unit(engine, b.ref) as conn:
        await ent.create_entity(conn, kind=EntityKind.SUBSCRIBER, code="alice", name="Alice of B", currency="USD")
        for i in range(3):
            last = await ent.create_entity(
                conn, kind=EntityKind.SUBSCRIBER, code=f"only-in-b-{i}", name=f"B {i}", currency="USD"
            )
        await _fund(conn, last.id, 7 * DOLLAR)
        main = await ent.query_account(conn, last.id, "1000")
        reserve = await ent.query_account(conn, last.id, "1010")
    result = Pair(engine, a, b, last, main, reserve)
    async with result.unit(a) as conn:
        max_entity = (await conn.execute(select(func.max(entities.c.id)))).scalar_one()
        max_account = (await conn.execute(select(func.max(accounts.c.id)))).scalar_one()
    # The probes below are B's ids that A does not have.
    assert last.id > max_entity and main.id > max_account and reserve.id > max_account
    return result


async def test_tenant_a_cannot_find_tenant_bs_entity_by_id_or_code(pair: Pair, assert_ledger_sound) -> None:
    before = await pair.snapshot(pair.b)
    async with pair.unit(pair.a) as conn:
        with pytest.raises(EntityNotFound, match=rf"no entity with id {pair.b_subscriber.id}"):
            await ent.get_entity(conn, pair.b_subscriber.id)
        with pytest.raises(EntityNotFound, match=r"no entity with id or code 'only-in-b-2'"):
            await ent.find_entity(conn, pair.b_subscriber.code)
        with pytest.raises(EntityNotFound, match=rf"no entity with id or code '{pair.b_subscriber.id}'"):
            await ent.find_entity(conn, str(pair.b_subscriber.id))
        with pytest.raises(EntityNotFound, match=rf"entity {pair.b_subscriber.id} has no account 1000"):
            await ent.query_account(conn, pair.b_subscriber.id, "1000")
        assert await ent.list_accounts(conn, pair.b_subscriber.id) == []
    assert await pair.snapshot(pair.b) == before
    await assert_ledger_sound(pair.b)


async def test_the_same_code_in_two_tenants_is_two_separate_entities(pair: Pair) -> None:
    async with pair.unit(pair.a) as conn:
        alice_a = await ent.find_entity(conn, "alice")
        main_a = await ent.query_account(conn, alice_a.id, "1000")
    async with pair.unit(pair.b) as conn:
        alice_b = await ent.find_entity(conn, "alice")
        main_b = await ent.query_account(conn, alice_b.id, "1000")
    assert (alice_a.name, alice_b.name) == ("Alice of A", "Alice of B")
    assert (main_a.balance, main_b.balance) == (2 * DOLLAR, 0)


async def test_tenant_a_cannot_post_to_tenant_bs_accounts(pair: Pair, assert_ledger_sound) -> None:
    before_b = await pair.snapshot(pair.b)
    before_a = await pair.snapshot(pair.a)
    move = NewEntry(
        "steal",
        "reserve B's money from A",
        (debit(pair.b_main.id, DOLLAR, "USD"), credit(pair.b_reserve.id, DOLLAR, "USD")),
    )
    with pytest.raises(UnknownAccount, match=rf"no account with id {pair.b_main.id}, {pair.b_reserve.id} in this"):
        async with pair.unit(pair.a) as conn:
            await post_entry(conn, move)
    assert await pair.snapshot(pair.b) == before_b
    assert await pair.snapshot(pair.a) == before_a
    await assert_ledger_sound(pair.a)
    await assert_ledger_sound(pair.b)


async def test_postings_in_a_only_change_a_even_where_account_ids_coincide(pair: Pair, assert_ledger_sound) -> None:
    before_b = await pair.snapshot(pair.b)
    async with pair.unit(pair.a) as conn:
        alice = await ent.find_entity(conn, "alice")
        await _fund(conn, alice.id, 3 * DOLLAR)
        isp = await ent.isp_entity(conn)
        cash_a = await ent.query_account(conn, isp.id, "1100")
    async with pair.unit(pair.b) as conn:
        cash_b = await ent.query_account(conn, (await ent.isp_entity(conn)).id, "1100")
    assert cash_a.id == cash_b.id  # the same number, two different accounts
    assert (cash_a.balance, cash_b.balance) == (5 * DOLLAR, 7 * DOLLAR)
    assert await pair.snapshot(pair.b) == before_b
    await assert_ledger_sound(pair.a)
    await assert_ledger_sound(pair.b)


async def test_tenant_a_cannot_read_a_statement_or_check_of_tenant_b(pair: Pair) -> None:
    now = datetime.now(UTC)
    async with pair.unit(pair.a) as conn:
        with pytest.raises(LookupError, match=rf"no account with id {pair.b_main.id}"):
            await statement_of_account(conn, pair.b_main.id, now - timedelta(days=1), now + timedelta(days=1))
        report = await check_ledger(conn)
    own_books = len(template_for(EntityKind.ISP)) + len(template_for(EntityKind.SUBSCRIBER))
    assert (report.entries, report.accounts) == (1, own_books)  # A's own books only


async def test_a_connection_without_the_routing_map_reaches_no_tenant(pair: Pair) -> None:
    now = datetime.now(UTC)
    async with pair.engine.connect() as conn:
        with pytest.raises(ProgrammingError, match=r'relation "tenant\.(accounts|entities)" does not exist'):
            await statement_of_account(conn, pair.b_main.id, now - timedelta(days=1), now + timedelta(days=1))
    async with pair.engine.connect() as conn:
        with pytest.raises(ProgrammingError, match=r'relation "tenant\.\w+" does not exist'):
            await check_ledger(conn)
    async with pair.engine.connect() as conn:
        with pytest.raises(ProgrammingError, match=r'relation "tenant\.entities" does not exist'):
            await ent.find_entity(conn, "alice")
    async with pair.engine.connect() as conn:
        with pytest.raises(ProgrammingError, match=r'relation "tenant\.accounts" does not exist'):
            await post_entry(
                conn, NewEntry("x", "x", (debit(pair.b_main.id, 1, "USD"), credit(pair.b_reserve.id, 1, "USD")))
            )
    async with pair.engine.connect() as conn:
        with pytest.raises(ProgrammingError, match=r'relation "tenant\.audit_log" does not exist'):
            await audit.record(conn, "x", "y")
    async with pair.engine.connect() as conn:
        with pytest.raises(RuntimeError, match=r"connection is not a tenant unit of work"):
            await chain.seal(conn)


def test_routing_refuses_a_bad_slug_before_any_sql_is_built() -> None:
    with pytest.raises(InvalidSlug, match=r"may only hold lower-case letters"):
        routing.translate_map('x"; DROP SCHEMA bureau_shared; --')
    with pytest.raises(InvalidSlug):
        routing.schema_name("acme\n")
    assert routing.translate_map("acme") == {"tenant": "tenant_acme"}


async def test_a_unit_of_work_for_a_bad_slug_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(InvalidSlug, match=r"tenant slug 'Acme'"):
        async with tenant_unit(engine, TenantRef(1, "Acme")):
            pass
