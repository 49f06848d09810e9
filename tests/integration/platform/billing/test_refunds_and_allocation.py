"""Invoice and payment actions on real PostgreSQL, below the API: the last credit of a
line takes the rest of its tax, voids (post-paid and prepaid, the void status and its
filter, and the rule against voiding a paid invoice), allocation in parts followed by
the oldest-first rule on the same pair, refunds, and the signed PDF link tokens. Sound
books after each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bureau.platform.billing import links
from bureau.platform.billing.allocation import allocate_payment
from bureau.platform.billing.credits import issue_credit_note
from bureau.platform.billing.errors import BillingError, InvalidCredit, InvalidPayment
from bureau.platform.billing.invoices import STATUSES, get_invoice, invoice_page
from bureau.platform.billing.payments import NotAvailable, get_payment, record_payment
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.refunds import refund_payment
from bureau.platform.billing.run import bill_run
from bureau.platform.billing.voids import void_invoice
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.ledger.entities import find_entity, isp_entity, query_account
from bureau.platform.subscribers import resellers

from .conftest import DOLLAR, Books, at

NOW = at("2026-11-23T12:00:00")


async def test_the_last_credit_of_a_line_takes_the_rest_of_its_tax(books: Books, assert_ledger_sound: Any) -> None:
    await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)  # line 1: 15.00 signup, tax 0.75
    async with books.unit() as conn:
        small = await issue_credit_note(conn, invoice="INV-000001", line=1, amount_micros=100_000, reason="a")
        rest = await issue_credit_note(conn, invoice="INV-000001", line=1, amount_micros=14_900_000, reason="b")
    assert small.tax_micros == 0  # 0.005 rounds half-even to 0.00
    assert rest.tax_micros == 750_000  # not 0.745 -> 0.74: the line's tax is taken back in full
    await assert_ledger_sound(books.tenant)


async def test_void_credits_what_is_left_and_marks_the_invoice_void_once(
    books: Books, assert_ledger_sound: Any
) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    before = datetime.now(UTC)
    async with books.unit() as conn:
        await issue_credit_note(conn, invoice="INV-000001", line=2, amount_micros=9_990_000, reason="outage")
        void = await void_invoice(conn, invoice="INV-000001", reason=" never connected ")
        owed = (await query_account(conn, bob.entity_id, "1100")).balance
        tax = (await query_account(conn, (await isp_entity(conn)).id, "2100")).balance
    async with books.unit() as conn:  # another transaction: a later time, had it been written
        again = await void_invoice(conn, invoice="INV-000001", reason="asked twice")
    assert [(n.line, n.net_micros) for n in void.credit_notes] == [(1, 15 * DOLLAR), (2, 20 * DOLLAR)]
    assert (void.invoice.open_micros, void.invoice.credited_micros, again.credit_notes) == (0, 47_240_000, ())
    assert (void.invoice.status, void.invoice.void_reason) == ("void", "never connected")
    assert void.invoice.voided_at is not None and before <= void.invoice.voided_at <= datetime.now(UTC)
    assert again.invoice == void.invoice, "the first void's time and reason stand"
    assert (owed, tax) == (0, 0)
    with pytest.raises(InvalidCredit, match="reason"):
        async with books.unit() as conn:
            await void_invoice(conn, invoice="INV-000001", reason="")

    await bill_run(books.unit, parse_period("2026-10"), now=NOW)  # INV-000002: 31.49, then paid in full
    async with books.unit() as conn:
        await record_payment(
            conn, customer=bob.number, amount_micros=31_490_000, method="cash", idempotency_key="oct",
            invoice_numbers=["INV-000002"],
        )  # fmt: skip
        listed = {status: [i.number for i in await invoice_page(conn, status=status)] for status in STATUSES}
        paid = await get_invoice(conn, "INV-000002")
        with pytest.raises(BillingError, match="'gone' is not one of open, paid, void"):
            await invoice_page(conn, status="gone")
    assert listed == {"open": [], "paid": ["INV-000002"], "void": ["INV-000001"]}
    assert (paid.status, paid.voided_at, paid.void_reason) == ("paid", None, None)
    await assert_ledger_sound(books.tenant)


async def test_a_prepaid_invoice_is_voided_back_onto_the_balance_and_a_paid_one_is_not(
    books: Books, assert_ledger_sound: Any
) -> None:
    kim = await books.customer("kim", "box-monthly", "2026-09-01T00:00:00", prepaid=True)
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    async with books.unit() as conn:
        await record_payment(conn, customer=kim.number, amount_micros=10 * DOLLAR, method="cash", idempotency_key="k")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)  # kim: 5.25 from the balance
    async with books.unit() as conn:
        kims = (await get_invoice(conn, "INV-000001")).customer_id == kim.id
        prepaid, postpaid = ("INV-000001", "INV-000002") if kims else ("INV-000002", "INV-000001")
        await record_payment(conn, customer=bob.number, amount_micros=DOLLAR, method="cash", idempotency_key="b")
        await issue_credit_note(conn, invoice=prepaid, line=1, amount_micros=DOLLAR, reason="late start")
        credited = await get_invoice(conn, prepaid)
        void = await void_invoice(conn, invoice=prepaid, reason="goodwill")
        balance = (await query_account(conn, kim.entity_id, "1000")).balance
    # Issued paid, then credited: open is below zero, and the invoice is still paid until voided.
    assert (credited.open_micros, credited.status) == (-1_050_000, "paid")
    assert (len(void.credit_notes), void.invoice.status, balance) == (1, "void", 10 * DOLLAR)
    with pytest.raises(InvalidCredit, match=r"1\.00 USD of payments allocated"):
        async with books.unit() as conn:
            await void_invoice(conn, invoice=postpaid, reason="wrong")
    await assert_ledger_sound(books.tenant)


async def test_a_pair_allocated_by_hand_can_be_allocated_again_by_the_oldest_first_rule(
    books: Books, assert_ledger_sound: Any
) -> None:
    realm = f"visp-{books.tenant.slug.rpartition('_')[2]}.example"
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="visp", name="VISP", commission_bp=1000, realms=(realm,))
        await resellers.allow_plan(conn, "visp", "dsl-10")
    nora = await books.customer("nora", "dsl-10", "2026-09-01T00:00:00", reseller="visp", realm=realm)
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)  # 47.24
    await bill_run(books.unit, parse_period("2026-10"), now=NOW)  # 31.49
    async with books.unit() as conn:
        first = await record_payment(
            conn,
            customer=nora.number,
            amount_micros=60 * DOLLAR,
            method="cash",
            idempotency_key="n1",
            invoice_numbers=["INV-000001"],
        )
        part = await allocate_payment(conn, payment_id=first.id, invoice="INV-000002", amount_micros=2 * DOLLAR)
        with pytest.raises(NotAvailable) as short:
            await allocate_payment(conn, payment_id=first.id, invoice="INV-000002", amount_micros=11 * DOLLAR)
        # A new payment applies what the first still holds (10.76) to the same invoice, oldest first.
        await record_payment(conn, customer=nora.number, amount_micros=DOLLAR, method="cash", idempotency_key="n2")
        second = await get_invoice(conn, "INV-000002")
        left = await get_payment(conn, first.id)
        earned = (await query_account(conn, (await find_entity(conn, "visp")).id, "2300")).balance
    assert short.value.available_micros == 10_760_000
    assert (part.amount_micros, left.unallocated_micros) == (2 * DOLLAR, 0)
    assert second.paid_micros == 2 * DOLLAR + 10_760_000 + DOLLAR
    assert earned > part.commission_micros > 0
    await assert_ledger_sound(books.tenant)


async def test_refunds_reverse_the_payment_once_and_refuse_more_than_is_left(
    books: Books, assert_ledger_sound: Any
) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    async with books.unit() as conn:
        paid = await record_payment(
            conn, customer=bob.number, amount_micros=8 * DOLLAR, method="card", idempotency_key="p"
        )
        first = await refund_payment(
            conn, payment_id=paid.id, amount_micros=3 * DOLLAR, reason="dup", idempotency_key="r"
        )
        again = await refund_payment(
            conn, payment_id=paid.id, amount_micros=3 * DOLLAR, reason="dup", idempotency_key="r"
        )
        with pytest.raises(NotAvailable, match=r"5\.00 USD unallocated") as more:
            await refund_payment(conn, payment_id=paid.id, amount_micros=6 * DOLLAR, reason="x", idempotency_key="r2")
        with pytest.raises(InvalidPayment, match="already used"):
            await refund_payment(conn, payment_id=paid.id, amount_micros=DOLLAR, reason="dup", idempotency_key="r")
        card = (await query_account(conn, (await isp_entity(conn)).id, "1100")).balance  # the ISP's card clearing
        owed = (await query_account(conn, bob.entity_id, "1100")).balance
    assert (first.replayed, again.replayed, again.id, again.entry_id) == (False, True, first.id, first.entry_id)
    assert (first.payment.unallocated_micros, more.value.available_micros) == (5 * DOLLAR, 5 * DOLLAR)
    assert (card, owed) == (5 * DOLLAR, -5 * DOLLAR)
    await assert_ledger_sound(books.tenant)


def test_pdf_link_tokens_bind_tenant_invoice_and_expiry() -> None:
    key = links.link_key(SecretBox(SecretBox.generate_key(), key_id=3))
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    link = links.pdf_link(key, 7, "INV-000001", now=now)
    token = link.url.partition("?t=")[2]
    assert link.url.startswith("/invoices/INV-000001.pdf?t=7.") and link.expires_at == now + timedelta(minutes=15)
    assert links.check_token(key, "INV-000001", token, now=now + timedelta(minutes=14)) == 7
    assert links.check_token(key, "INV-000001", token, now=now + timedelta(minutes=15)) is None  # expired
    assert links.check_token(key, "INV-000002", token, now=now) is None  # another invoice
    assert links.check_token(key, "INV-000001", "8" + token[1:], now=now) is None  # another tenant
    other = links.link_key(SecretBox(SecretBox.generate_key(), key_id=3))
    assert links.check_token(other, "INV-000001", token, now=now) is None  # another installation
    assert links.link_key(SecretBox(SecretBox.generate_key())) != key
    for junk in ("", "7", "7.1.x", "07.1." + "A" * 43, token + "A", "x" * 500):
        assert links.check_token(key, "INV-000001", junk, now=now) is None


async def test_a_credit_note_and_an_allocation_retried_with_their_key_happen_once(
    books: Books, assert_ledger_sound: Any
) -> None:
    realm = f"visp-{books.tenant.slug.rpartition('_')[2]}.example"
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="visp", name="VISP", commission_bp=1000, realms=(realm,))
        await resellers.allow_plan(conn, "visp", "dsl-10")
    nora = await books.customer("nora", "dsl-10", "2026-09-01T00:00:00", reseller="visp", realm=realm)
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)  # 47.24
    await bill_run(books.unit, parse_period("2026-10"), now=NOW)  # 31.49
    async with books.unit() as conn:
        paid = await record_payment(
            conn, customer=nora.number, amount_micros=60 * DOLLAR, method="cash", idempotency_key="n1",
            invoice_numbers=["INV-000001"],
        )  # fmt: skip
        given = {"invoice": "INV-000002", "line": 1, "amount_micros": 5 * DOLLAR, "reason": "outage"}
        note = await issue_credit_note(conn, **given, idempotency_key="cn-1")  # type: ignore[arg-type]
        again = await issue_credit_note(conn, **given, idempotency_key="cn-1")  # type: ignore[arg-type]
        with pytest.raises(InvalidCredit, match="already used"):
            await issue_credit_note(conn, **given | {"amount_micros": DOLLAR}, idempotency_key="cn-1")  # type: ignore[arg-type]
        part = await allocate_payment(conn, payment_id=paid.id, invoice="INV-000002", amount_micros=3 * DOLLAR,
                                      idempotency_key="al-1")  # fmt: skip
        retry = await allocate_payment(conn, payment_id=paid.id, invoice="INV-000002", amount_micros=3 * DOLLAR,
                                       idempotency_key="al-1")  # fmt: skip
        with pytest.raises(InvalidPayment, match="already used"):
            await allocate_payment(conn, payment_id=paid.id, invoice="INV-000002", amount_micros=DOLLAR,
                                   idempotency_key="al-1")  # fmt: skip
        invoice = await get_invoice(conn, "INV-000002")
        left = await get_payment(conn, paid.id)
        earned = (await query_account(conn, (await find_entity(conn, "visp")).id, "2300")).balance
    assert (again.replayed, again.number, again.gross_micros) == (True, note.number, note.gross_micros)
    assert invoice.credited_micros == note.gross_micros, "credited once"
    assert (retry.replayed, retry.amount_micros, retry.commission_micros) == (
        True,
        part.amount_micros,
        part.commission_micros,
    )
    assert part.commission_micros > 0
    assert invoice.paid_micros == 3 * DOLLAR and left.unallocated_micros == 60 * DOLLAR - 47_240_000 - 3 * DOLLAR
    commission_on_first = 4_499_000  # 10 % of INV-000001's net 44.99
    assert earned == commission_on_first + part.commission_micros, "commission posted once"
    await assert_ledger_sound(books.tenant)
