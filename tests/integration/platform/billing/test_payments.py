"""Payments on real PostgreSQL: allocation to invoices, balances carried into the next
invoice, prepaid top-ups, idempotency, reseller commission, and sound books after each."""

from __future__ import annotations

from typing import Any

import pytest

from bureau.platform.billing.errors import InvalidPayment
from bureau.platform.billing.invoices import get_invoice, invoice_document, list_invoices
from bureau.platform.billing.payments import commission_shares, record_payment
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.ledger.entities import find_entity, isp_entity, query_account
from bureau.platform.subscribers import resellers

from .conftest import Books, at

NOW = at("2026-11-23T12:00:00")


async def test_payment_settles_the_invoice_and_the_next_invoice_carries_the_rest(
    books: Books, assert_ledger_sound: Any
) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)  # 15.00 + 29.99, 5 % tax: 47.24
    async with books.unit() as conn:
        paid = await record_payment(
            conn,
            customer=bob.number,
            amount_micros=40_000_000,
            method="bank_transfer",
            idempotency_key="bank-1",
            reference="TRX 1",
        )
    assert [(a.invoice, a.amount_micros) for a in paid.allocations] == [("INV-000001", 40_000_000)]
    assert paid.unallocated_micros == 0
    await bill_run(books.unit, parse_period("2026-10"), now=NOW)  # 29.99 + 1.50 tax = 31.49
    async with books.unit() as conn:
        first = await get_invoice(conn, "INV-000001")
        doc = await invoice_document(conn, "INV-000002")
        clearing = await query_account(conn, (await isp_entity(conn)).id, "1110")
    assert (first.paid_micros, first.open_micros, first.status) == (40_000_000, 7_240_000, "open")
    assert doc.opening_balance_micros == 47_240_000
    assert doc.payments_received_micros == 40_000_000
    assert doc.totals.gross_micros == 31_490_000
    assert doc.balance_due_micros == 38_730_000
    assert clearing.balance == 40_000_000
    await assert_ledger_sound(books.tenant)


async def test_overpayment_stays_on_account_and_settles_the_next_invoice(
    books: Books, assert_ledger_sound: Any
) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    async with books.unit() as conn:
        paid = await record_payment(
            conn, customer=bob.number, amount_micros=100_000_000, method="cash", idempotency_key="cash-1"
        )
    assert paid.unallocated_micros == 100_000_000 - 47_240_000
    await bill_run(books.unit, parse_period("2026-10"), now=NOW)
    async with books.unit() as conn:
        doc = await invoice_document(conn, "INV-000002")
        await record_payment(conn, customer=bob.number, amount_micros=10_000, method="cash", idempotency_key="cash-2")
        second = await get_invoice(conn, "INV-000002")
    assert doc.balance_due_micros == 47_240_000 - 100_000_000 + 47_240_000 + 31_490_000 - 47_240_000
    assert second.status == "paid"  # the 52.76 left on account, then the 0.01, settled its 31.49
    await assert_ledger_sound(books.tenant)


async def test_replayed_payment_is_recorded_once_and_a_reused_key_is_refused(
    books: Books, assert_ledger_sound: Any
) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    async with books.unit() as conn:
        first = await record_payment(
            conn, customer=bob.number, amount_micros=5_000_000, method="cheque", idempotency_key="chq-77"
        )
        again = await record_payment(
            conn, customer=bob.number, amount_micros=5_000_000, method="cheque", idempotency_key="chq-77"
        )
        with pytest.raises(InvalidPayment, match="already used"):
            await record_payment(
                conn, customer=bob.number, amount_micros=6_000_000, method="cheque", idempotency_key="chq-77"
            )
        receivable = await query_account(conn, bob.entity_id, "1100")
    assert (again.id, again.replayed, first.replayed) == (first.id, True, False)
    assert receivable.balance == -5_000_000
    await assert_ledger_sound(books.tenant)


@pytest.mark.parametrize(
    ("amount", "method", "message"),
    [
        (0, "cash", "positive"),
        (-5, "cash", "positive"),
        (1_234_567, "cash", "minor units"),
        (1_000_000, "bitcoin", "cash, cheque, bank_transfer, card"),
    ],
)
async def test_bad_payments_are_refused_and_write_nothing(
    books: Books, amount: int, method: str, message: str, assert_ledger_sound: Any
) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    with pytest.raises(InvalidPayment, match=message):
        async with books.unit() as conn:
            await record_payment(conn, customer=bob.number, amount_micros=amount, method=method, idempotency_key="k")
    async with books.unit() as conn:
        assert (await query_account(conn, bob.entity_id, "1100")).balance == 0
    await assert_ledger_sound(books.tenant)


async def test_prepaid_top_up_loads_the_main_balance(books: Books, assert_ledger_sound: Any) -> None:
    kim = await books.customer("kim", "box-monthly", "2026-09-01T00:00:00", prepaid=True)
    async with books.unit() as conn:
        topup = await record_payment(
            conn, customer=kim.number, amount_micros=20_000_000, method="card", idempotency_key="card-1"
        )
        with pytest.raises(InvalidPayment, match="prepaid"):
            await record_payment(
                conn,
                customer=kim.number,
                amount_micros=1_000_000,
                method="card",
                idempotency_key="card-2",
                invoice_numbers=["INV-000001"],
            )
    assert topup.kind == "topup"
    report = await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    async with books.unit() as conn:
        (invoice,) = await list_invoices(conn, customer_id=kim.id)
        main = await query_account(conn, kim.entity_id, "1000")
    assert report.invoices == 1
    assert (invoice.gross_micros, invoice.status, invoice.balance_due_micros) == (5_250_000, "paid", 0)
    assert main.balance == 20_000_000 - 5_250_000
    await assert_ledger_sound(books.tenant)


async def test_prepaid_customer_without_funds_is_skipped_then_billed_after_a_top_up(
    books: Books, assert_ledger_sound: Any
) -> None:
    kim = await books.customer("kim", "box-monthly", "2026-09-01T00:00:00", prepaid=True)
    first = await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    assert first.invoices == 0
    assert [number for number, _ in first.skipped] == [kim.number]
    assert "does not cover" in first.skipped[0][1]
    async with books.unit() as conn:
        await record_payment(conn, customer=kim.number, amount_micros=10_000_000, method="cash", idempotency_key="t")
    second = await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    assert (second.new_pass, second.invoices, second.skipped) == (True, 1, [])
    await assert_ledger_sound(books.tenant)


def test_commission_shares_give_each_level_its_margin_over_the_level_below() -> None:
    assert commission_shares(100_000_000, [1000]) == [10_000_000]
    assert commission_shares(100_000_000, [1000, 1500]) == [10_000_000, 5_000_000]
    assert commission_shares(100_000_000, [1500, 1000]) == [15_000_000, 0]
    assert commission_shares(33_333_333, [333]) == [1_110_000]  # 1_109_999.99 half-even


async def test_reseller_commission_is_posted_when_its_customer_pays(books: Books, assert_ledger_sound: Any) -> None:
    visp_realm = f"visp-{books.tenant.slug.rpartition('_')[2]}.example"
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="visp", name="VISP", commission_bp=1500)
        await resellers.create_reseller(
            conn, code="sub", name="Sub VISP", commission_bp=1000, parent="visp", realms=(visp_realm,)
        )
        await resellers.allow_plan(conn, "visp", "dsl-10")
        await resellers.allow_plan(conn, "sub", "dsl-10")
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00", reseller="sub", realm=visp_realm)
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)  # net 44.99, gross 47.24
    async with books.unit() as conn:
        invoice = await get_invoice(conn, "INV-000001")
        paid = await record_payment(
            conn, customer=bob.number, amount_micros=47_240_000, method="card", idempotency_key="c1"
        )
        again = await record_payment(
            conn, customer=bob.number, amount_micros=47_240_000, method="card", idempotency_key="c1"
        )
        sub_earned = await query_account(conn, (await find_entity(conn, "sub")).id, "2300")
        visp_earned = await query_account(conn, (await find_entity(conn, "visp")).id, "2300")
        expense = await query_account(conn, (await isp_entity(conn)).id, "5000")
    assert invoice.reseller_id is not None
    assert paid.allocations[0].commission_micros == 6_748_500
    assert again.replayed and again.allocations == paid.allocations  # a retry answers as the first call did
    assert (sub_earned.balance, visp_earned.balance, expense.balance) == (4_499_000, 2_249_500, 6_748_500)
    await assert_ledger_sound(books.tenant)
