"""A service's billing history: plan changes and cancellations prorate by day, and history
only grows forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bureau.platform.billing.invoices import invoice_document, list_invoices
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.catalog import plans, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.subscribers import services
from bureau.platform.subscribers.errors import InvalidSubscriberValue
from bureau.platform.subscribers.tables import services as table

from .conftest import PRICES_FROM, Books, at

NOW = at("2026-11-23T12:00:00")


async def test_plan_change_and_cancellation_prorate_each_stretch(books: Books, assert_ledger_sound: Any) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    async with books.unit() as conn:
        await plans.create_plan(conn, "dsl-20", "DSL-20", category="all", billing="postpaid")
        await versions.add_plan_version(
            conn, "dsl-20", effective_from=PRICES_FROM, components=(PriceComponent.recurring(49_990_000),)
        )
        (service,) = [s for s in await _services(conn, bob.id)]
        await services.change_plan(conn, service, "dsl-20", at=at("2026-10-21T09:30:00"))
        await services.change_service_state(conn, service, "cancelled", at=at("2026-10-26T17:00:00"))
    await bill_run(books.unit, parse_period("2026-10"), now=NOW)
    async with books.unit() as conn:
        (invoice,) = await list_invoices(conn, customer_id=bob.id)
        doc = await invoice_document(conn, invoice.number)
    assert [(line.quantity, line.net_micros) for line in doc.lines] == [
        ("0.6452", 19_350_000),  # DSL-10, 1 to 20 October: 29.99 x 20/31 = 19.348387
        ("0.1613", 8_060_000),  # DSL-20, 21 to 25 October: 49.99 x 5/31 = 8.062903
    ]
    assert "2026-10-21 to 2026-10-25" in doc.lines[1].description
    await bill_run(books.unit, parse_period("2026-11"), now=at("2026-12-02T00:00:00"))
    async with books.unit() as conn:
        assert len(await list_invoices(conn, customer_id=bob.id)) == 1  # nothing after the cancellation
    await assert_ledger_sound(books.tenant)


async def _services(conn: Any, customer_id: int) -> list[int]:
    return list((await conn.execute(select(table.c.id).where(table.c.customer_id == customer_id))).scalars())


async def test_history_is_never_rewritten_backwards_or_ahead(books: Books) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-15T00:00:00")
    async with books.unit() as conn:
        (service,) = await _services(conn, bob.id)
        with pytest.raises(InvalidSubscriberValue, match="cannot be dated before"):
            await services.change_service_state(conn, service, "suspended", at=at("2026-09-14T00:00:00"))
        with pytest.raises(InvalidSubscriberValue, match="future"):
            await services.change_plan(conn, service, "dial-hourly", at=datetime.now(UTC) + timedelta(days=1))
        with pytest.raises(InvalidSubscriberValue, match="time zone"):
            await services.change_service_state(conn, service, "suspended", at=datetime(2026, 10, 1))
