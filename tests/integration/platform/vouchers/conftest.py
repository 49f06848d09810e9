"""Helpers for voucher tests: a tenant, its units of work, subscribers and balances."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.ledger import entities as ledger_entities
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.entities import Entity
from bureau.platform.vouchers import batches
from bureau.platform.vouchers.batches import Batch, IssuedCode
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit

DOLLAR = 1_000_000
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Shop:
    engine: AsyncEngine
    tenant: lifecycle.Tenant

    def unit(self):  # type: ignore[no-untyped-def]
        return tenant_unit(self.engine, self.tenant.ref, actor="test")

    async def subscriber(self, kind: EntityKind = EntityKind.SUBSCRIBER) -> Entity:
        async with self.unit() as conn:
            return await ledger_entities.create_entity(
                conn,
                kind=kind,
                code=f"e-{uuid.uuid4().hex[:8]}",
                name="Someone",
                currency=self.tenant.currency,
            )

    async def balance(self, entity_id: int | None, code: str) -> int:
        async with self.unit() as conn:
            if entity_id is None:
                entity_id = (await ledger_entities.isp_entity(conn)).id
            return (await ledger_entities.query_account(conn, entity_id, code)).balance

    async def batch(
        self, *, count: int = 3, value: int = 10 * DOLLAR, sold: bool = True, days: int = 30
    ) -> tuple[Batch, list[IssuedCode]]:
        async with self.unit() as conn:
            batch, codes = await batches.create_batch(
                conn,
                name="Ten dollar cards",
                value_micros=value,
                count=count,
                expires_at=NOW + timedelta(days=days),
                now=NOW,
            )
            if sold:
                batch = await batches.sell_batch(conn, batch.id, now=NOW)
        return batch, codes


@pytest.fixture
async def shop(engine: AsyncEngine, make_tenant: Callable[..., Awaitable[lifecycle.Tenant]]) -> Shop:
    return Shop(engine, await make_tenant("vch"))
