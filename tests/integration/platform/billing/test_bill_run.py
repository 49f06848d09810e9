"""The month-end bill run on real PostgreSQL: lines, proration, tax, rounding, balances,
idempotency, resumption after a crash, and the ledger invariants after each."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bureau.platform.billing.errors import InvalidPeriod
from bureau.platform.billing.invoices import invoice_document, list_invoices
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.billing.tables import bill_runs
from bureau.platform.ledger.entities import isp_entity, query_account
from bureau.platform.rating.tariff import GIGABYTE
from bureau.platform.rating.usage import Usage

from .conftest import Books, at

NOW = at("2026-11-23T12:00:00")
SEPT = parse_period("2026-09")


async def test_first_invoice_has_signup_prorated_month_usage_and_tax(books: Books, assert_ledger_sound: Any) -> None:
    bob = await books.customer(
        "bob",
        "dsl-10",
        "2026-09-10T15:00:00",
        usage=[("2026-09-12T08:00:00", Usage(octets_in=2 * GIGABYTE, octets_out=10 * GIGABYTE + GIGABYTE // 2))],
    )
    report = await bill_run(books.unit, SEPT, now=NOW)
    assert (report.invoices, report.skipped) == (1, [])
    async with books.unit() as conn:
        (invoice,) = await list_invoices(conn, customer_id=bob.id)
        doc = await invoice_document(conn, invoice.number)
    assert invoice.number == "INV-000001"
    assert [(line.net_micros, line.tax_micros, line.gross_micros) for line in doc.lines] == [
        (15_000_000, 750_000, 15_750_000),  # sign-up fee
        (20_990_000, 1_050_000, 22_040_000),  # 29.99 x 21/30 days = 20.993 -> 20.99; 5 % = 1.0495 -> 1.05
        (25_000_000, 1_250_000, 26_250_000),  # 12.5 GB - 10 GB included = 2.5 GB x 10.00
    ]
    assert doc.lines[1].quantity == "0.7"
    assert doc.lines[2].quantity == "2.5" and doc.lines[2].unit == "GB"
    assert (doc.totals.gross_micros, doc.opening_balance_micros, doc.balance_due_micros) == (64_040_000, 0, 64_040_000)
    assert (doc.issue_date, doc.due_date) == (date(2026, 10, 1), date(2026, 10, 15))
    async with books.unit() as conn:
        isp = await isp_entity(conn)
        rounding = await query_account(conn, isp.id, "4090")
        recurring = await query_account(conn, isp.id, "4010")
        tax = await query_account(conn, isp.id, "2100")
        receivable = await query_account(conn, bob.entity_id, "1100")
    assert rounding.balance == -3_000  # the customer was charged 0.003 less than the exact proration
    assert recurring.balance == 20_993_000
    assert tax.balance == 3_050_000
    assert receivable.balance == 64_040_000
    await assert_ledger_sound(books.tenant)


async def test_running_twice_issues_nothing_new(books: Books, assert_ledger_sound: Any) -> None:
    await books.customer("ann", "dsl-10", "2026-08-01T00:00:00")
    await books.customer("ben", "dsl-10", "2026-09-30T23:00:00")
    first = await bill_run(books.unit, SEPT, now=NOW)
    again = await bill_run(books.unit, SEPT, now=NOW)
    assert (first.invoices, again.invoices, again.new_pass) == (2, 0, True)
    async with books.unit() as conn:
        numbers = sorted(i.number for i in await list_invoices(conn))
        run = (await conn.execute(select(bill_runs))).one()
    assert numbers == ["INV-000001", "INV-000002"]
    assert (run.status, run.invoices, run.passes) == ("finished", 2, 2)
    await assert_ledger_sound(books.tenant)


async def test_an_open_period_is_refused(books: Books) -> None:
    with pytest.raises(InvalidPeriod, match="2026-10"):
        await bill_run(books.unit, parse_period("2026-11"), now=NOW)


async def test_a_customer_that_cannot_be_priced_is_skipped_and_the_rest_billed(
    books: Books, assert_ledger_sound: Any
) -> None:
    from bureau.platform.catalog import plans, versions
    from bureau.platform.catalog.components import PriceComponent

    async with books.unit() as conn:
        await plans.create_plan(conn, "late", "Late plan", category="all", billing="postpaid")
        await versions.add_plan_version(
            conn, "late", effective_from=at("2026-09-20T00:00:00"), components=(PriceComponent.recurring(1_000_000),)
        )
    early = await books.customer("eve", "late", "2026-09-02T00:00:00")
    await books.customer("ann", "dsl-10", "2026-09-01T00:00:00")
    report = await bill_run(books.unit, SEPT, now=NOW)
    assert report.invoices == 1
    assert report.skipped == [(early.number, "plan 'Late plan' has no version in effect at 2026-09-02T00:00:00+00:00")]
    await assert_ledger_sound(books.tenant)


async def test_a_price_change_applies_from_the_next_period_and_never_rewrites_an_invoice(
    books: Books, assert_ledger_sound: Any
) -> None:
    from bureau.platform.catalog import plans, versions
    from bureau.platform.catalog.components import PriceComponent

    async with books.unit() as conn:
        await plans.create_plan(conn, "fibre", "Fibre", category="all", billing="postpaid")
        await versions.add_plan_version(
            conn,
            "fibre",
            effective_from=at("2026-01-01T00:00:00"),
            effective_to=at("2026-10-15T00:00:00"),
            components=(PriceComponent.recurring(31_000_000),),
        )
        await versions.add_plan_version(
            conn, "fibre", effective_from=at("2026-10-15T00:00:00"), components=(PriceComponent.recurring(62_000_000),)
        )
    old = await books.customer("old", "fibre", "2026-09-01T00:00:00")
    new = await books.customer("new", "fibre", "2026-10-22T00:00:00")
    await bill_run(books.unit, SEPT, now=NOW)
    async with books.unit() as conn:
        september = await invoice_document(conn, "INV-000001")
    await bill_run(books.unit, parse_period("2026-10"), now=NOW)
    async with books.unit() as conn:
        by_customer = {i.customer_id: i for i in await list_invoices(conn, period_start=date(2026, 10, 1))}
        old_october = await invoice_document(conn, by_customer[old.id].number)
        new_october = await invoice_document(conn, by_customer[new.id].number)
        september_again = await invoice_document(conn, "INV-000001")
    assert old_october.lines[0].net_micros == 31_000_000  # stays on the old price for October
    assert new_october.lines[0].net_micros == 20_000_000  # new price from its start: 62.00 x 10/31
    assert september_again == september
    await assert_ledger_sound(books.tenant)
