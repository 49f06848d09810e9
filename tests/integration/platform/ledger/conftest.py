"""Helpers for ledger tests: a tenant's books, subscribers, funding and row counts."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.audit.tables import audit_log
from bureau.platform.ledger import entities as ledger_entities
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.entities import AccountBalance, Entity
from bureau.platform.ledger.posting import PostedEntry, post_entry
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.ledger.tables import account_balances, journal_entries, postings
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit

DOLLAR = 1_000_000
CASH_CARD = "1100"  # ISP: cash clearing, card


@dataclass
class Books:
    """One tenant's ledger, driven the way services drive it: one unit of work per call."""

    engine: AsyncEngine
    tenant: lifecycle.Tenant

    def unit(self):
        return tenant_unit(self.engine, self.tenant.ref, actor="test")

    async def isp(self) -> Entity:
        async with self.unit() as conn:
            return await ledger_entities.isp_entity(conn)

    async def subscriber(self, code: str | None = None, *, prepaid: bool = True, **fields: object) -> Entity:
        async with self.unit() as conn:
            return await ledger_entities.create_entity(
                conn,
                kind=EntityKind.SUBSCRIBER,
                code=code or f"sub-{uuid.uuid4().hex[:8]}",
                name="A subscriber",
                currency=self.tenant.currency,
                prepaid=prepaid,
                **fields,  # type: ignore[arg-type]
            )

    async def account(self, entity_id: int, code: str) -> AccountBalance:
        async with self.unit() as conn:
            return await ledger_entities.query_account(conn, entity_id, code)

    async def balance(self, entity_id: int, code: str) -> int:
        return (await self.account(entity_id, code)).balance

    async def post(self, entry: NewEntry) -> PostedEntry:
        async with self.unit() as conn:
            return await post_entry(conn, entry)

    async def fund(self, subscriber: Entity, micros: int, key: str | None = None) -> PostedEntry:
        """A card top-up: cash clearing (ISP) debited, the subscriber's main balance credited."""
        cash = await self.account((await self.isp()).id, CASH_CARD)
        main = await self.account(subscriber.id, "1000")
        return await self.post(
            NewEntry(
                key or f"topup-{uuid.uuid4().hex}",
                f"card top-up for {subscriber.code}",
                (debit(cash.id, micros, cash.unit), credit(main.id, micros, main.unit)),
            )
        )

    async def counts(self) -> dict[str, object]:
        """What a refused operation must leave untouched: rows written and every balance."""
        async with self.unit() as conn:
            result: dict[str, object] = {}
            for name, table in (("entries", journal_entries), ("postings", postings), ("audit", audit_log)):
                result[name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            rows = await conn.execute(
                select(account_balances.c.account_id, account_balances.c.shard, account_balances.c.balance)
            )
            result["balances"] = {(r.account_id, r.shard): r.balance for r in rows}
            return result


BooksFactory = Callable[..., Awaitable[Books]]


@pytest.fixture
def make_books(engine: AsyncEngine, make_tenant: Callable[..., Awaitable[lifecycle.Tenant]]) -> BooksFactory:
    async def make(prefix: str = "led", **options: object) -> Books:
        return Books(engine, await make_tenant(prefix, **options))

    return make


@pytest.fixture
async def books(make_books: BooksFactory) -> Books:
    """A fresh tenant's books."""
    return await make_books()


@pytest.fixture(scope="module")
async def shared_books(engine: AsyncEngine) -> Books:
    """One tenant's books for a whole module, for tests that are refused and change nothing
    (each compares `counts()` before and after, so what other tests left there is harmless)."""
    slug = f"shared_{uuid.uuid4().hex[:8]}"
    return Books(engine, await lifecycle.create_tenant(engine, slug, name=slug, currency="USD", actor="test"))
