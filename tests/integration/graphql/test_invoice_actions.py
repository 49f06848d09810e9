"""Invoice and payment actions through /graphql (and the PDF download) alone, on a priced
tenant: a PDF link that downloads the real PDF and a 404 for any bad token; credit notes
and voids that change the invoice's open amount and the books (a void invoice reads and
lists as void, not paid); allocation by hand in parts, with commission; refunds with
replay and over-refund refusal; and another tenant's or reseller's objects answered
exactly like missing ones, the books untouched. Every money-moving test ends with sound
books."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.billing import links
from bureau.platform.billing.invoices import list_invoices
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.refunds import refunds
from bureau.platform.billing.run import bill_run
from bureau.platform.billing.tables import credit_notes, invoices, payments
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.ledger.entities import find_entity, isp_entity, query_account
from bureau.platform.ledger.tables import journal_entries
from bureau.platform.subscribers import customers, resellers
from bureau.tenants import apikeys
from tests.integration.graphql.conftest import Api, key_maker, served
from tests.integration.platform.billing.conftest import Books, at, make_books

DOLLAR = 1_000_000
NOW = at("2026-11-23T12:00:00")
INVOICE = "number customer total { micros } open { micros } status"
PAYMENT = "id unallocated { micros } amount { micros }"
LINK = """
query($number: String!) { invoicePdfLink(number: $number) {
  __typename ... on InvoicePdfLink { url expiresAt } ... on NotFound { message } } }"""
CREDIT = f"""
mutation($input: IssueCreditNoteInput!) {{ issueCreditNote(input: $input) {{
  __typename ... on IssuedCreditNote {{ creditNote {{ number invoice line reason net {{ micros }} tax {{ micros }}
    total {{ micros }} }} invoice {{ {INVOICE} }} }}
  ... on NotFound {{ message }} ... on ValidationError {{ message fields {{ path message }} }} }} }}"""
VOID = f"""
mutation($number: String!, $reason: String!) {{ voidInvoice(number: $number, reason: $reason) {{
  __typename ... on InvoiceVoid {{ invoice {{ {INVOICE} }} creditNotes {{ number line net {{ micros }} }} }}
  ... on NotFound {{ message }} ... on ValidationError {{ message fields {{ path message }} }} }} }}"""
ALLOCATE = f"""
mutation($input: AllocatePaymentInput!) {{ allocatePayment(input: $input) {{
  __typename ... on PaymentAllocation {{ payment {{ {PAYMENT} }} invoice {{ {INVOICE} }} amount {{ micros }}
    commission {{ micros }} }}
  ... on NotFound {{ message }} ... on ValidationError {{ message fields {{ path message }} }}
  ... on InsufficientFunds {{ message availableMicros }} }} }}"""
REFUND = f"""
mutation($input: RefundPaymentInput!) {{ refundPayment(input: $input) {{
  __typename ... on Refund {{ id payment {{ {PAYMENT} }} amount {{ micros formatted }} reason replayed }}
  ... on NotFound {{ message }} ... on ValidationError {{ message fields {{ path message }} }}
  ... on InsufficientFunds {{ message availableMicros }} }} }}"""
INVOICES = "query($status: String) { invoices(status: $status) { nodes { number status } } }"
PAY = """
mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  __typename ... on Payment { id unallocated { micros } } } }"""


@dataclass
class Shop:
    books: Books
    client: httpx.AsyncClient
    isp: Api
    finance: Api
    care: Api
    reader: Api
    north: Api  # a reseller key (admin role) of reseller "north"
    bob: customers.Customer  # post-paid, sold by the ISP
    nora: customers.Customer  # post-paid, sold by reseller north (10 % commission)


@pytest.fixture
async def shop(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[Shop]:
    books = await make_books(engine, make_tenant, "gqinv")
    north_realm = f"north.{books.realm}"
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="north", name="North", commission_bp=1000, realms=(north_realm,))
        await resellers.allow_plan(conn, "north", "dsl-10")
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    nora = await books.customer("nora", "dsl-10", "2026-09-01T00:00:00", reseller="north", realm=north_realm)
    slug = books.tenant.slug

    key = key_maker(engine, slug)
    async with served(engine, books.box) as client:
        yield Shop(
            books,
            client,
            isp=Api(client, await key("admin")),
            finance=Api(client, await key("finance")),
            care=Api(client, await key("care")),
            reader=Api(client, await key("read_only")),
            north=Api(client, await key("admin", "reseller", reseller="north")),
            bob=bob,
            nora=nora,
        )


@dataclass
class Other:
    tenant: Any
    api: Api  # an ISP admin key of this other tenant


@pytest.fixture
async def other(shop: Shop, engine: AsyncEngine, make_tenant: Any) -> Other:
    """Another tenant (made only for the tests that need it: a tenant costs seconds)."""
    tenant = await make_tenant("gqinvb")
    made = await apikeys.create_api_key(
        engine, name="isp-admin", scope="isp", role="admin", tenant=tenant.slug, reseller=None, actor="test"
    )
    return Other(tenant, Api(shop.client, made.token))


async def bill(shop: Shop, *periods: str) -> None:
    for period in periods:
        await bill_run(shop.books.unit, parse_period(period), now=NOW)


async def numbers(shop: Shop, customer: customers.Customer) -> list[str]:
    """The customer's invoice numbers, oldest first."""
    async with shop.books.unit() as conn:
        return [i.number for i in reversed(await list_invoices(conn, customer_id=customer.id))]


async def state(shop: Shop) -> tuple[int, ...]:
    """What any refused action must leave alone: entries, settlement figures, notes, refunds."""
    async with shop.books.unit() as conn:
        return (
            (await conn.execute(select(func.count()).select_from(journal_entries))).scalar_one(),
            (await conn.execute(select(func.sum(invoices.c.paid_micros + invoices.c.credited_micros)))).scalar_one()
            or 0,
            (await conn.execute(select(func.coalesce(func.sum(payments.c.unallocated_micros), 0)))).scalar_one(),
            (await conn.execute(select(func.count()).select_from(credit_notes))).scalar_one(),
            (await conn.execute(select(func.count()).select_from(refunds))).scalar_one(),
        )


async def pay(shop: Shop, customer: customers.Customer, micros: int, key: str, *invoices: str) -> dict[str, Any]:
    done = {"customer": customer.number, "amountMicros": micros, "method": "bank_transfer", "idempotencyKey": key}
    paid: dict[str, Any] = (await shop.finance(PAY, input=done | {"invoices": list(invoices)}))["recordPayment"]
    assert paid["__typename"] == "Payment", paid
    return paid


async def test_pdf_link_downloads_the_invoice_and_any_bad_token_is_a_bare_404(shop: Shop, other: Other) -> None:
    await bill(shop, "2026-09")
    first = (await numbers(shop, shop.bob))[0]
    nora_first = (await numbers(shop, shop.nora))[0]
    before = datetime.now(UTC)
    link = (await shop.reader(LINK, number=first))["invoicePdfLink"]
    assert link["__typename"] == "InvoicePdfLink"
    assert link["url"].startswith(f"/invoices/{first}.pdf?t={shop.books.tenant.id}.")
    expires = datetime.fromisoformat(link["expiresAt"])
    assert before + timedelta(minutes=14) < expires <= before + timedelta(minutes=15)
    answer = await shop.client.get(link["url"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")

    path, token = link["url"].split("?t=")
    head, _, mac = token.rpartition(".")
    key = links.link_key(shop.books.box)
    tenant_id = shop.books.tenant.id
    late = links.pdf_link(key, tenant_id, first, now=datetime.now(UTC) - timedelta(minutes=16))
    foreign = links.pdf_link(links.link_key(SecretBox(SecretBox.generate_key())), tenant_id, first)
    moved = links.pdf_link(key, other.tenant.id, first)  # a valid MAC for a tenant without that invoice
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    bad = [
        f"{path}?t={head}.{flipped}",  # tampered MAC
        f"/invoices/{nora_first}.pdf?t={token}",  # another invoice's token
        f"{path}?t={tenant_id + 1}.{head.partition('.')[2]}.{mac}",  # another tenant id, same MAC
        late.url,  # expired
        foreign.url,  # signed with another installation's key
        moved.url,
        path,  # no token
        f"{path}?t=garbage",
    ]
    for url in bad:
        refused = await shop.client.get(url)
        assert (refused.status_code, refused.text) == (404, "Not Found"), url

    gone = {"__typename": "NotFound", "message": f"no invoice has number {first!r}"}
    assert (await shop.north(LINK, number=first))["invoicePdfLink"] == gone  # not the reseller's customer
    assert (await other.api(LINK, number=first))["invoicePdfLink"] == gone  # another tenant
    assert (await shop.isp(LINK, number="INV-999999"))["invoicePdfLink"]["__typename"] == "NotFound"
    own = (await shop.north(LINK, number=nora_first))["invoicePdfLink"]
    assert (await shop.client.get(own["url"])).content.startswith(b"%PDF")


async def test_credit_note_and_void_take_the_invoice_back_in_the_books(shop: Shop, assert_ledger_sound: Any) -> None:
    await bill(shop, "2026-09")  # bob: 15.00 signup + 29.99 monthly, 5 % tax: 47.24
    first = (await numbers(shop, shop.bob))[0]
    note = {"invoice": first, "line": 2, "amountMicros": 10 * DOLLAR, "reason": "outage in September"}
    made = (await shop.finance(CREDIT, input=note))["issueCreditNote"]
    assert made["__typename"] == "IssuedCreditNote", made
    assert made["creditNote"]["net"]["micros"] == 10 * DOLLAR
    assert made["creditNote"]["tax"]["micros"] == 500_000
    assert made["invoice"]["open"]["micros"] == 47_240_000 - 10_500_000
    async with shop.books.unit() as conn:
        owed = (await query_account(conn, shop.bob.entity_id, "1100")).balance
    assert owed == 47_240_000 - 10_500_000

    too_much = (await shop.finance(CREDIT, input=note | {"amountMicros": 20 * DOLLAR}))["issueCreditNote"]
    assert too_much["__typename"] == "ValidationError"
    assert "19.99 USD of its net" in too_much["message"]
    assert too_much["fields"][0]["path"] == ["input", "amountMicros"]
    no_line = (await shop.finance(CREDIT, input=note | {"line": 9}))["issueCreditNote"]
    assert no_line["fields"][0]["path"] == ["input", "line"]
    no_reason = (await shop.finance(CREDIT, input=note | {"reason": " "}))["issueCreditNote"]
    assert no_reason["fields"][0]["path"] == ["input", "reason"]
    assert "admin or finance" in await shop.care.refused(CREDIT, input=note)

    assert "admin or finance role" in await shop.north.refused(VOID, number=first, reason="x")
    void = (await shop.finance(VOID, number=first, reason="customer never connected"))["voidInvoice"]
    assert void["__typename"] == "InvoiceVoid", void
    assert [(n["line"], n["net"]["micros"]) for n in void["creditNotes"]] == [(1, 15 * DOLLAR), (2, 19_990_000)]
    assert (void["invoice"]["open"]["micros"], void["invoice"]["status"]) == (0, "void")
    listed = {s: (await shop.reader(INVOICES, status=s))["invoices"]["nodes"] for s in ("void", "paid", "open")}
    assert listed["void"] == [{"number": first, "status": "void"}]
    assert listed["paid"] == [] and first not in [n["number"] for n in listed["open"]]
    assert "'gone' is not one of open, paid, void" in await shop.reader.refused(INVOICES, status="gone")
    before = await state(shop)
    again = (await shop.isp(VOID, number=first, reason="again"))["voidInvoice"]
    assert (again["creditNotes"], again["invoice"]) == ([], void["invoice"])
    assert await state(shop) == before
    async with shop.books.unit() as conn:
        assert (await query_account(conn, shop.bob.entity_id, "1100")).balance == 0
        tax_payable = (await query_account(conn, (await isp_entity(conn)).id, "2100")).balance
    assert tax_payable == 2_250_000  # nora's invoice's tax alone: bob's is all taken back
    await assert_ledger_sound(shop.books.tenant)


async def test_void_is_refused_while_payments_are_allocated(shop: Shop, assert_ledger_sound: Any) -> None:
    await bill(shop, "2026-09")
    first = (await numbers(shop, shop.bob))[0]
    await pay(shop, shop.bob, 10 * DOLLAR, "bank-1")
    before = await state(shop)
    refused = (await shop.isp(VOID, number=first, reason="wrong customer"))["voidInvoice"]
    assert refused["__typename"] == "ValidationError"
    assert refused["message"].startswith(f"invoice {first} has 10.00 USD of payments allocated to it")
    assert "refundPayment" in refused["message"]
    assert refused["fields"] == [{"path": ["number"], "message": refused["message"]}]
    assert await state(shop) == before
    missing = (await shop.isp(VOID, number="INV-999999", reason="x"))["voidInvoice"]
    assert missing == {"__typename": "NotFound", "message": "no invoice has number 'INV-999999'"}
    await assert_ledger_sound(shop.books.tenant)


async def test_payment_on_account_is_allocated_by_hand_in_parts_with_commission(
    shop: Shop, assert_ledger_sound: Any
) -> None:
    await bill(shop, "2026-09", "2026-10")  # nora: 47.24 (net 44.99), then 31.49 (net 29.99)
    sept, octo = await numbers(shop, shop.nora)
    paid = await pay(shop, shop.nora, 60 * DOLLAR, "nora-1", sept)  # 12.76 left on account
    assert paid["unallocated"]["micros"] == 12_760_000
    part = {"payment": paid["id"], "invoice": octo, "amountMicros": 5 * DOLLAR}
    before_entries = (await state(shop))[0]
    one = (await shop.north(ALLOCATE, input=part))["allocatePayment"]
    assert one["__typename"] == "PaymentAllocation", one
    assert one["payment"]["unallocated"]["micros"] == 7_760_000
    assert one["invoice"]["open"]["micros"] == 31_490_000 - 5 * DOLLAR
    assert one["commission"]["micros"] == 476_183  # 10 % of the net share 4.761829 (5.00 * 29.99 / 31.49)
    two = (await shop.finance(ALLOCATE, input=part | {"amountMicros": 7_760_000}))["allocatePayment"]
    assert two["__typename"] == "PaymentAllocation", two
    assert (two["payment"]["unallocated"]["micros"], two["invoice"]["open"]["micros"]) == (0, 18_730_000)
    assert (await state(shop))[0] == before_entries + 2  # a commission entry each, no money moved
    async with shop.books.unit() as conn:
        owed = (await query_account(conn, shop.nora.entity_id, "1100")).balance
        earned = (await query_account(conn, (await find_entity(conn, "north")).id, "2300")).balance
    assert owed == 47_240_000 + 31_490_000 - 60 * DOLLAR  # the receivable is as the payment left it
    assert earned == 4_499_000 + 476_183 + two["commission"]["micros"]

    empty = (await shop.isp(ALLOCATE, input=part))["allocatePayment"]
    assert empty == {
        "__typename": "InsufficientFunds",
        "message": f"payment {paid['id']} has 0.00 USD unallocated; 5.00 USD is more",
        "availableMicros": 0,
    }
    bobs = await pay(shop, shop.bob, 100 * DOLLAR, "bob-1")  # settles both of bob's, 21.27 left
    bob_octo = (await numbers(shop, shop.bob))[1]
    settled = (await shop.isp(ALLOCATE, input={**part, "payment": bobs["id"], "invoice": bob_octo}))["allocatePayment"]
    assert settled["__typename"] == "ValidationError" and settled["message"].startswith(f"invoice {bob_octo} has 0.00")
    assert settled["fields"][0]["path"] == ["input", "amountMicros"]
    foreign = (await shop.isp(ALLOCATE, input={**part, "payment": bobs["id"]}))["allocatePayment"]
    assert foreign["__typename"] == "ValidationError" and foreign["fields"][0]["path"] == ["input", "invoice"]
    odd = (await shop.isp(ALLOCATE, input={**part, "payment": bobs["id"], "amountMicros": 1}))["allocatePayment"]
    assert "minor units" in odd["message"] and odd["fields"][0]["path"] == ["input", "amountMicros"]
    await assert_ledger_sound(shop.books.tenant)


async def test_refund_pays_back_money_on_account_once_per_key(shop: Shop, assert_ledger_sound: Any) -> None:
    paid = await pay(shop, shop.bob, 50 * DOLLAR, "bob-50")  # nothing billed yet: all on account
    ask = {"payment": paid["id"], "amountMicros": 20 * DOLLAR, "reason": "asked for it back", "idempotencyKey": "r-1"}
    first = (await shop.finance(REFUND, input=ask))["refundPayment"]
    assert first["__typename"] == "Refund", first
    assert (first["amount"]["formatted"], first["replayed"], first["payment"]["unallocated"]["micros"]) == (
        "20.00 USD",
        False,
        30 * DOLLAR,
    )
    before = await state(shop)
    again = (await shop.isp(REFUND, input=ask))["refundPayment"]
    assert (again["id"], again["replayed"], again["amount"]) == (first["id"], True, first["amount"])
    assert await state(shop) == before
    async with shop.books.unit() as conn:
        assert (await query_account(conn, shop.bob.entity_id, "1100")).balance == -30 * DOLLAR
        assert (await query_account(conn, (await isp_entity(conn)).id, "1110")).balance == 30 * DOLLAR

    more = await shop.finance(REFUND, input=ask | {"idempotencyKey": "r-2", "amountMicros": 31 * DOLLAR})
    assert more["refundPayment"] == {
        "__typename": "InsufficientFunds",
        "message": f"payment {paid['id']} has 30.00 USD unallocated; 31.00 USD is more",
        "availableMicros": 30 * DOLLAR,
    }
    reused = (await shop.finance(REFUND, input=ask | {"amountMicros": 1 * DOLLAR}))["refundPayment"]
    assert reused["__typename"] == "ValidationError" and "already used" in reused["message"]
    assert reused["fields"][0]["path"] == ["input", "idempotencyKey"]
    assert await state(shop) == before
    await bill(shop, "2026-09")  # the 30.00 left on account goes to the new invoice: nothing refundable
    rest = await shop.finance(REFUND, input=ask | {"idempotencyKey": "r-3", "amountMicros": 1 * DOLLAR})
    assert rest["refundPayment"]["availableMicros"] == 0
    assert "admin or finance" in await shop.care.refused(REFUND, input=ask)
    await assert_ledger_sound(shop.books.tenant)


async def test_prepaid_top_up_is_refunded_from_the_balance(shop: Shop, assert_ledger_sound: Any) -> None:
    kim = await shop.books.customer("kim", "box-monthly", "2026-11-01T00:00:00", prepaid=True)
    paid = await pay(shop, kim, 20 * DOLLAR, "kim-1")
    ask = {"payment": paid["id"], "amountMicros": 15 * DOLLAR, "reason": "moving away", "idempotencyKey": "k-1"}
    done = (await shop.finance(REFUND, input=ask))["refundPayment"]
    assert done["__typename"] == "Refund", done
    over = (await shop.finance(REFUND, input=ask | {"idempotencyKey": "k-2"}))["refundPayment"]
    assert (over["__typename"], over["availableMicros"]) == ("InsufficientFunds", 5 * DOLLAR)
    async with shop.books.unit() as conn:
        assert (await query_account(conn, kim.entity_id, "1000")).balance == 5 * DOLLAR
    await assert_ledger_sound(shop.books.tenant)


async def test_other_tenants_and_resellers_get_not_found_and_change_nothing(
    shop: Shop, other: Other, assert_ledger_sound: Any
) -> None:
    await bill(shop, "2026-09", "2026-10")
    sept, octo = await numbers(shop, shop.bob)
    paid = await pay(shop, shop.bob, 60 * DOLLAR, "bob-60", sept)
    before = await state(shop)
    hidden_payment = {"__typename": "NotFound", "message": f"no payment has id {paid['id']}"}
    hidden_invoice = {"__typename": "NotFound", "message": f"no invoice has number {octo!r}"}
    allocate = {"payment": paid["id"], "invoice": octo, "amountMicros": DOLLAR}
    refund = {"payment": paid["id"], "amountMicros": DOLLAR, "reason": "r", "idempotencyKey": "x-1"}
    credit = {"invoice": octo, "line": 1, "amountMicros": DOLLAR, "reason": "r"}
    for api in (shop.north, other.api):
        assert (await api(ALLOCATE, input=allocate))["allocatePayment"] == hidden_payment
        assert (await api(REFUND, input=refund))["refundPayment"] == hidden_payment
        assert (await api(CREDIT, input=credit))["issueCreditNote"] == hidden_invoice
    assert (await other.api(VOID, number=octo, reason="r"))["voidInvoice"] == hidden_invoice
    nothing = {"__typename": "NotFound", "message": "no payment has id 999999"}
    assert (await shop.isp(REFUND, input=refund | {"payment": "999999"}))["refundPayment"] == nothing
    assert (await shop.isp(REFUND, input=refund | {"payment": "abc"}))["refundPayment"]["__typename"] == "NotFound"
    assert await state(shop) == before
    await assert_ledger_sound(shop.books.tenant)
    await assert_ledger_sound(other.tenant)
