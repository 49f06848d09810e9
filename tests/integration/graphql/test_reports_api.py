"""Reports through /graphql on a priced tenant: two post-paid customers of the ISP (on
dsl-10 and dial-hourly) and one of reseller "north", billed for September 2026, a payment
and a credit note; revenue by plan, reseller and month, aging at several dates, ARPU and
live sessions, each against figures worked out here from the price list; a reseller key
sees only its own customers, another tenant nothing; bad arguments refused by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.billing.credits import issue_credit_note
from bureau.platform.billing.invoices import list_invoices
from bureau.platform.billing.payments import record_payment
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.catalog import plans, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.rating.tariff import HOUR, UsageRate
from bureau.platform.rating.usage import Meter, Usage
from bureau.platform.sessions.authorize import authorize
from bureau.platform.subscribers import resellers
from bureau.platform.subscribers.services import services_of
from tests.integration.graphql.conftest import Api, key_maker, served
from tests.integration.platform.billing.conftest import PRICES_FROM, Books, at, make_books

DOLLAR = 1_000_000
NAS = 7
# September 2026 from the price list (make_books): dsl-10 is a 15.00 sign-up fee and 29.99
# a month, each taxed 5 % and rounded half-even to the cent (0.75 + 1.4995 -> 1.50);
# dial-hourly is 1.20 an hour (two hours: 2.40, tax 0.12).
DSL_NET, DSL_TAX = 15 * DOLLAR + 29_990_000, 750_000 + 1_500_000
DIAL_NET, DIAL_TAX = 2_400_000, 120_000
CREDIT_NET, CREDIT_TAX = 5 * DOLLAR, 250_000  # 5.00 of ann's first line, with its 5 % tax
PAID = 10 * DOLLAR  # ann pays part of her invoice
MONEY = "{ micros currency }"
ROW = (
    f"key label net {MONEY} tax {{ micros }} gross {{ micros }} invoicedNet {{ micros }} creditNotes {{ micros }} "
    "prepaidUsage { micros } customers"
)
REVENUE = f"""
query($from: Date!, $to: Date!, $by: RevenueGroupBy!) {{ revenueReport(from: $from, to: $to, groupBy: $by) {{
  __typename ... on RevenueReport {{ from to groupBy currencies {{ currency rows {{ {ROW} }} total {{ {ROW} }} }} }}
  ... on ValidationError {{ message fields {{ path message }} }} }} }}"""
AGING = """
query($asOf: Date!, $top: Int! = 0) { receivablesAging(asOf: $asOf, top: $top) {
  __typename ... on ReceivablesAging { asOf currencies { currency
    buckets { name open { micros } invoices customers } total { name open { micros } invoices customers }
    topDebtors { customer name open { micros } oldestDue } } }
  ... on ValidationError { message fields { path message } } } }"""
ARPU = """
query($from: Date!, $to: Date!) { arpu(from: $from, to: $to) {
  __typename ... on ArpuReport { currencies { currency revenue { micros } customers arpu { micros } } }
  ... on ValidationError { message fields { path message } } } }"""
SESSIONS = "{ activeSessionsReport { total byNas { key label sessions } byPlan { key label sessions } } }"
SEPTEMBER = {"from": "2026-09-01", "to": "2026-10-01"}


@dataclass
class Shop:
    books: Books
    isp: Api
    reader: Api  # an ISP key with the read_only role
    north: Api  # a reseller key of "north"
    other: Api  # an ISP key of another tenant
    numbers: dict[str, str]


@pytest.fixture
async def shop(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[Shop]:
    books = await make_books(engine, make_tenant, "gqrep")
    other = await make_tenant("gqrepb")
    north_realm = f"north.{books.realm}"
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="north", name="North", realms=(north_realm,))
        await resellers.allow_plan(conn, "north", "dsl-10")
        await plans.create_plan(conn, "pre-hourly", "PRE-HOURLY", category="all", billing="prepaid")
        rate = PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000))
        await versions.add_plan_version(conn, "pre-hourly", effective_from=PRICES_FROM, components=(rate,))
    two_hours = [("2026-09-10T08:00:00", Usage(seconds=2 * 3600))]
    ann = await books.customer("ann", "dsl-10", "2026-09-01T00:00:00")
    bob = await books.customer("bob", "dial-hourly", "2026-09-01T00:00:00", usage=two_hours)
    nora = await books.customer("nora", "dsl-10", "2026-09-01T00:00:00", reseller="north", realm=north_realm)
    await bill_run(books.unit, parse_period("2026-09"), now=at("2026-10-01T01:00:00"))
    async with books.unit() as conn:
        await record_payment(conn, customer=ann.number, amount_micros=PAID, method="cash", idempotency_key="ann-1")
        await record_payment(
            conn, customer=bob.number, amount_micros=DIAL_NET + DIAL_TAX, method="cash", idempotency_key="bob-1"
        )
        (invoice,) = [i for i in await list_invoices(conn) if i.customer_id == ann.id]
        await issue_credit_note(conn, invoice=invoice.number, line=1, amount_micros=CREDIT_NET, reason="outage")
    slug = books.tenant.slug

    key = key_maker(engine, slug)
    async with served(engine, books.box) as client:
        yield Shop(
            books,
            isp=Api(client, await key("admin")),
            reader=Api(client, await key("read_only")),
            north=Api(client, await key("admin", "reseller", reseller="north")),
            other=Api(client, await key("admin", tenant=other.slug)),
            numbers={"ann": ann.number, "bob": bob.number, "nora": nora.number},
        )


def row(key: str | None, label: str | None, net: int, tax: int, invoiced: int, credited: int, customers: int) -> Any:
    return {
        "key": key,
        "label": label,
        "net": {"micros": net, "currency": "USD"},
        "tax": {"micros": tax},
        "gross": {"micros": net + tax},
        "invoicedNet": {"micros": invoiced},
        "creditNotes": {"micros": credited},
        "prepaidUsage": {"micros": 0},
        "customers": customers,
    }


async def revenue(api: Api, by: str, **window: str) -> Any:
    answer = (await api(REVENUE, by=by, **(SEPTEMBER | window)))["revenueReport"]
    assert answer["__typename"] == "RevenueReport", answer
    return answer


async def test_revenue_by_plan_reseller_and_month_matches_the_price_list(shop: Shop, assert_ledger_sound: Any) -> None:
    dsl = row("dsl-10", "DSL-10", 2 * DSL_NET - CREDIT_NET, 2 * DSL_TAX - CREDIT_TAX, 2 * DSL_NET, CREDIT_NET, 2)
    dial = row("dial-hourly", "DIAL-HOURLY", DIAL_NET, DIAL_TAX, DIAL_NET, 0, 1)
    net, tax = 2 * DSL_NET + DIAL_NET - CREDIT_NET, 2 * DSL_TAX + DIAL_TAX - CREDIT_TAX
    total = row(None, None, net, tax, 2 * DSL_NET + DIAL_NET, CREDIT_NET, 3)
    by_plan = await revenue(shop.reader, "PLAN")
    assert (by_plan["from"], by_plan["to"], by_plan["groupBy"]) == ("2026-09-01", "2026-10-01", "PLAN")
    assert by_plan["currencies"] == [{"currency": "USD", "rows": [dial, dsl], "total": total}]
    direct_net, direct_tax = DSL_NET + DIAL_NET - CREDIT_NET, DSL_TAX + DIAL_TAX - CREDIT_TAX
    by_seller = (await revenue(shop.isp, "RESELLER"))["currencies"][0]
    assert by_seller["rows"] == [
        row("(direct)", "The ISP's own customers", direct_net, direct_tax, DSL_NET + DIAL_NET, CREDIT_NET, 2),
        row("north", "North", DSL_NET, DSL_TAX, DSL_NET, 0, 1),
    ]
    by_month = (await revenue(shop.isp, "MONTH", to="2026-12-01"))["currencies"][0]
    assert by_month["rows"] == [total | {"key": "2026-09", "label": "2026-09"}]
    assert (await revenue(shop.isp, "PLAN", **{"from": "2026-10-01", "to": "2026-11-01"}))["currencies"] == []
    await assert_ledger_sound(shop.books.tenant)


async def test_a_reseller_sees_only_its_customers_and_another_tenant_nothing(
    shop: Shop, assert_ledger_sound: Any
) -> None:
    mine = row("dsl-10", "DSL-10", DSL_NET, DSL_TAX, DSL_NET, 0, 1)
    assert (await revenue(shop.north, "PLAN"))["currencies"] == [
        {"currency": "USD", "rows": [mine], "total": mine | {"key": None, "label": None}}
    ]
    assert (await revenue(shop.other, "RESELLER"))["currencies"] == []
    aging = (await shop.north(AGING, asOf="2026-10-20", top=5))["receivablesAging"]["currencies"]
    assert [(d["customer"], d["open"]["micros"]) for d in aging[0]["topDebtors"]] == [
        (shop.numbers["nora"], DSL_NET + DSL_TAX)
    ]
    assert aging[0]["total"]["customers"] == 1
    assert (await shop.other(AGING, asOf="2026-10-20"))["receivablesAging"]["currencies"] == []
    arpu = (await shop.north(ARPU, **SEPTEMBER))["arpu"]["currencies"]
    assert arpu == [{"currency": "USD", "revenue": {"micros": DSL_NET}, "customers": 1, "arpu": {"micros": DSL_NET}}]
    assert (await shop.other(ARPU, **SEPTEMBER))["arpu"]["currencies"] == []
    await assert_ledger_sound(shop.books.tenant)


async def test_receivables_age_by_days_overdue_at_as_of(shop: Shop, assert_ledger_sound: Any) -> None:
    # Invoices are dated 2026-10-01 and due 14 days later; bob paid in full.
    ann_open = DSL_NET + DSL_TAX - PAID - (CREDIT_NET + CREDIT_TAX)
    nora_open = DSL_NET + DSL_TAX
    ages = {
        "2026-10-15": "current",
        "2026-10-16": "1-30",
        "2026-11-14": "1-30",
        "2026-11-15": "31-60",
        "2026-12-14": "31-60",
        "2026-12-15": "61-90",
        "2027-01-13": "61-90",
        "2027-01-14": "over-90",
    }
    for as_of, bucket in ages.items():
        answer = (await shop.isp(AGING, asOf=as_of))["receivablesAging"]
        (usd,) = answer["currencies"]
        filled = {
            b["name"]: (b["open"]["micros"], b["invoices"], b["customers"]) for b in usd["buckets"] if b["invoices"]
        }
        assert filled == {bucket: (ann_open + nora_open, 2, 2)}, as_of
        assert [b["name"] for b in usd["buckets"]] == ["current", "1-30", "31-60", "61-90", "over-90"]
        assert usd["total"] == {
            "name": "total",
            "open": {"micros": ann_open + nora_open},
            "invoices": 2,
            "customers": 2,
        }
    assert (await shop.isp(AGING, asOf="2026-09-30"))["receivablesAging"]["currencies"] == [], "not yet issued"
    top = (await shop.isp(AGING, asOf="2026-10-20", top=1))["receivablesAging"]["currencies"][0]["topDebtors"]
    assert top == [{"customer": shop.numbers["nora"], "name": "Nora", "open": {"micros": nora_open},
                    "oldestDue": "2026-10-15"}]  # fmt: skip
    await assert_ledger_sound(shop.books.tenant)


async def test_arpu_is_net_revenue_over_billed_customers_rounded_half_even(
    shop: Shop, assert_ledger_sound: Any
) -> None:
    net = 2 * DSL_NET + DIAL_NET - CREDIT_NET  # 87_380_000 over 3 customers: 29_126_666.67 -> 29_126_667
    answer = (await shop.reader(ARPU, **SEPTEMBER))["arpu"]["currencies"]
    assert answer == [{"currency": "USD", "revenue": {"micros": net}, "customers": 3, "arpu": {"micros": 29_126_667}}]
    await assert_ledger_sound(shop.books.tenant)


async def test_live_sessions_are_counted_by_nas_and_plan_in_scope(shop: Shop, assert_ledger_sound: Any) -> None:
    pia = await shop.books.customer("pia", "pre-hourly", "2026-09-01T00:00:00", prepaid=True)
    async with shop.books.unit() as conn:
        await record_payment(conn, customer=pia.number, amount_micros=20 * DOLLAR, method="cash", idempotency_key="p")
        (service,) = (await services_of(conn, [pia.id]))[pia.id]
        granted = await authorize(conn, service.id, NAS, now=datetime.now(UTC) - timedelta(minutes=5))
    assert granted.accepted, granted
    report = (await shop.reader(SESSIONS))["activeSessionsReport"]
    assert report == {
        "total": 1,
        "byNas": [{"key": str(NAS), "label": f"NAS {NAS}", "sessions": 1}],
        "byPlan": [{"key": "pre-hourly", "label": "PRE-HOURLY", "sessions": 1}],
    }
    empty = {"total": 0, "byNas": [], "byPlan": []}
    assert (await shop.north(SESSIONS))["activeSessionsReport"] == empty
    assert (await shop.other(SESSIONS))["activeSessionsReport"] == empty
    await assert_ledger_sound(shop.books.tenant)


async def test_bad_windows_and_group_by_are_refused_with_the_argument_named(shop: Shop) -> None:
    backwards = (await shop.isp(REVENUE, by="PLAN", **{"from": "2026-10-01", "to": "2026-09-01"}))["revenueReport"]
    assert backwards["__typename"] == "ValidationError"
    assert backwards["fields"] == [{"path": ["to"], "message": "'to' (2026-09-01) must be after 'from' (2026-10-01)"}]
    long = (await shop.isp(ARPU, **{"from": "2026-01-01", "to": "2027-01-03"}))["arpu"]
    assert long["fields"][0]["path"] == ["to"] and "at most 366 days" in long["message"]
    top = (await shop.isp(AGING, asOf="2026-10-20", top=51))["receivablesAging"]
    assert top["fields"] == [{"path": ["top"], "message": "top must be from 0 to 50, got 51"}]
    wrong = await shop.isp.raw(REVENUE, by="CUSTOMER", **SEPTEMBER)
    assert "RevenueGroupBy" in wrong["errors"][0]["message"]
