"""The reports reconcile with the invoices and the ledger, on real PostgreSQL: last month
billed (a post-paid and a prepaid customer), a credit note, and a prepaid session charged
now; the report's invoiced and credited figures equal the invoice and credit-note rows,
its gross revenue the postings to the customers' 9000 Amount used, its tax the ISP's 2100
Tax payable, its prepaid usage what the session was charged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bureau.platform.billing.credits import issue_credit_note
from bureau.platform.billing.invoices import list_invoices
from bureau.platform.billing.payments import record_payment
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.billing.tables import credit_notes
from bureau.platform.catalog import plans, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.ledger.entities import find_entity, isp_entity, query_account
from bureau.platform.rating.tariff import HOUR, UsageRate
from bureau.platform.rating.usage import Meter
from bureau.platform.reports.activity import active_sessions
from bureau.platform.reports.arpu import arpu, arpu_of
from bureau.platform.reports.revenue import GroupBy, revenue_report
from bureau.platform.reports.window import InvalidReport, window
from bureau.platform.sessions.accounting import account
from bureau.platform.sessions.authorize import authorize
from bureau.platform.sessions.control import Report, Status
from bureau.platform.sessions.tables import radius_sessions
from bureau.platform.subscribers.services import services_of
from tests.integration.platform.billing.conftest import PRICES_FROM, make_books

DOLLAR = 1_000_000
NAS = 9


def last_month() -> tuple[date, date]:
    """The first day of last month and of this month (UTC): the period billed here."""
    this = datetime.now(UTC).date().replace(day=1)
    return (this - timedelta(days=1)).replace(day=1), this


async def test_revenue_reconciles_with_invoices_credit_notes_and_the_ledger(
    engine: Any, make_tenant: Any, assert_ledger_sound: Any
) -> None:
    books = await make_books(engine, make_tenant, "repled")
    start, this = last_month()
    async with books.unit() as conn:
        await plans.create_plan(conn, "pre-hourly", "PRE-HOURLY", category="all", billing="prepaid")
        rate = PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000))
        await versions.add_plan_version(conn, "pre-hourly", effective_from=PRICES_FROM, components=(rate,))
    since = f"{start.isoformat()}T00:00:00"
    ann = await books.customer("ann", "dsl-10", since)
    pat = await books.customer("pat", "box-monthly", since, prepaid=True)
    pia = await books.customer("pia", "pre-hourly", since, prepaid=True)
    async with books.unit() as conn:
        for who in (pat, pia):
            await record_payment(conn, customer=who.number, amount_micros=20 * DOLLAR, method="cash",
                                 idempotency_key=f"top-{who.number}")  # fmt: skip
    name = start.strftime("%Y-%m")
    await bill_run(books.unit, parse_period(name), now=datetime.combine(this, datetime.min.time(), UTC))
    now = datetime.now(UTC).replace(microsecond=0)
    async with books.unit() as conn:
        (ann_invoice,) = await list_invoices(conn, customer_id=ann.id)
        await issue_credit_note(conn, invoice=ann_invoice.number, line=2, amount_micros=3 * DOLLAR, reason="outage")
        (service,) = (await services_of(conn, [pia.id]))[pia.id]
        granted = await authorize(conn, service.id, NAS, now=now - timedelta(minutes=20))
        login = f"pia@{books.realm}"
        for status, seconds in ((Status.START, 0), (Status.INTERIM, 900)):
            report = Report(status, "S1", login, now - timedelta(minutes=20) + timedelta(seconds=seconds),
                            seconds=seconds, session_ref=granted.session_id)  # fmt: skip
            await account(conn, NAS, report, received_at=report.event_time)
    span = window(start, datetime.now(UTC).date() + timedelta(days=1))
    async with books.unit() as conn:
        report_ = await revenue_report(conn, span, GroupBy.PLAN)
        invoices_ = await list_invoices(conn)
        credited = (await conn.execute(select(func.sum(credit_notes.c.net_micros)))).scalar_one()
        charged = (await conn.execute(select(func.sum(radius_sessions.c.charged_micros)))).scalar_one()
        used = 0
        for who in (ann, pat, pia):
            used += (await query_account(conn, (await find_entity(conn, who.code)).id, "9000")).balance
        tax = (await query_account(conn, (await isp_entity(conn)).id, "2100")).balance
        live = await active_sessions(conn)
        figures = await arpu(conn, span)
    total = report_.totals["USD"]
    assert charged > 0, "the session was charged"
    assert total.invoiced.net == sum(i.net_micros for i in invoices_) and len(invoices_) == 2
    assert total.invoiced.gross == sum(i.gross_micros for i in invoices_)
    assert total.credited.net == credited == 3 * DOLLAR
    assert total.prepaid.gross == charged
    assert total.revenue.gross == used, "gross revenue is what the 9000 Amount used accounts took"
    assert total.revenue.tax == tax, "tax is what 2100 Tax payable took"
    assert total.customers == 3
    by_plan = {row.key: row for row in report_.rows["USD"]}
    assert sorted(by_plan) == ["box-monthly", "dsl-10", "pre-hourly"]
    assert by_plan["pre-hourly"].prepaid.gross == charged and by_plan["pre-hourly"].invoiced.net == 0
    assert by_plan["box-monthly"].invoiced.net == 5 * DOLLAR, "a full month of box-monthly"
    assert (live.total, [c.key for c in live.by_nas], [c.key for c in live.by_plan]) == (1, [str(NAS)], ["pre-hourly"])
    assert figures == [arpu_of("USD", total.revenue.net, 3)]
    await assert_ledger_sound(books.tenant)


def test_arpu_rounds_half_even_and_windows_are_bounded() -> None:
    assert arpu_of("USD", 5, 2).arpu_micros == 2  # 2.5 -> 2
    assert arpu_of("USD", 7, 2).arpu_micros == 4  # 3.5 -> 4
    assert arpu_of("USD", 10, 3).arpu_micros == 3
    assert arpu_of("USD", 0, 0).arpu_micros == 0
    assert window(date(2026, 1, 1), date(2027, 1, 2)).end == date(2027, 1, 2)  # 366 days
    for start, end, words in (
        (date(2026, 2, 1), date(2026, 2, 1), "must be after"),
        (date(2026, 1, 1), date(2027, 1, 3), "at most 366 days"),
    ):
        try:
            window(start, end)
        except InvalidReport as exc:
            assert exc.field == "to" and words in str(exc)
        else:
            raise AssertionError(f"{start}..{end} was accepted")
