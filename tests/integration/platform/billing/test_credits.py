"""Credit notes and adjustments: new entries, never edits; bounded by what was invoiced."""

from __future__ import annotations

from typing import Any

import pytest

from bureau.platform.billing.credits import adjust_balance, issue_credit_note
from bureau.platform.billing.errors import InvalidCredit
from bureau.platform.billing.invoices import get_invoice
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.ledger.entities import isp_entity, query_account
from bureau.platform.ledger.errors import InsufficientFunds

from .conftest import Books, at

NOW = at("2026-11-23T12:00:00")


async def test_credit_note_takes_back_part_of_a_line_with_its_tax(books: Books, assert_ledger_sound: Any) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)  # line 1 sign-up 15.00, line 2 month 29.99
    async with books.unit() as conn:
        note = await issue_credit_note(conn, invoice="INV-000001", line=1, amount_micros=10_000_000, reason="promo")
        second = await issue_credit_note(conn, invoice="INV-000001", line=1, amount_micros=5_000_000, reason="rest")
        with pytest.raises(InvalidCredit, match=r"0\.00 USD of its net 15\.00 USD left"):
            await issue_credit_note(conn, invoice="INV-000001", line=1, amount_micros=10_000, reason="too much")
        invoice = await get_invoice(conn, "INV-000001")
        receivable = await query_account(conn, bob.entity_id, "1100")
        signup = await query_account(conn, (await isp_entity(conn)).id, "4020")
    assert (note.number, second.number) == ("CN-000001", "CN-000002")
    assert (note.net_micros, note.tax_micros, note.gross_micros) == (10_000_000, 500_000, 10_500_000)
    assert invoice.credited_micros == 15_750_000
    assert receivable.balance == 47_240_000 - 15_750_000
    assert signup.balance == 0
    await assert_ledger_sound(books.tenant)


@pytest.mark.parametrize(
    ("line", "amount", "message"),
    [(9, 1_000_000, "no line 9"), (1, 1_234, "minor units"), (1, -1_000_000, "positive"), (1, 0, "non-zero")],
)
async def test_bad_credit_notes_are_refused(
    books: Books, line: int, amount: int, message: str, assert_ledger_sound: Any
) -> None:
    await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    with pytest.raises(InvalidCredit, match=message):
        async with books.unit() as conn:
            await issue_credit_note(conn, invoice="INV-000001", line=line, amount_micros=amount, reason="x")
    async with books.unit() as conn:
        assert (await get_invoice(conn, "INV-000001")).credited_micros == 0
    await assert_ledger_sound(books.tenant)


async def test_adjustments_charge_and_credit_and_respect_the_prepaid_floor(
    books: Books, assert_ledger_sound: Any
) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    kim = await books.customer("kim", "box-monthly", "2026-09-01T00:00:00", prepaid=True)
    async with books.unit() as conn:
        charge = await adjust_balance(
            conn, customer=bob.number, amount_micros=2_500_000, reason="late fee", idempotency_key="fee-1"
        )
        again = await adjust_balance(
            conn, customer=bob.number, amount_micros=2_500_000, reason="late fee", idempotency_key="fee-1"
        )
        await adjust_balance(
            conn, customer=bob.number, amount_micros=-1_000_000, reason="goodwill", idempotency_key="gw-1"
        )
        receivable = await query_account(conn, bob.entity_id, "1100")
    assert (again.replayed, again.id) == (True, charge.id)
    assert receivable.balance == 1_500_000
    with pytest.raises(InsufficientFunds):
        async with books.unit() as conn:
            await adjust_balance(
                conn, customer=kim.number, amount_micros=1_000_000, reason="fee", idempotency_key="fee-2"
            )
    await assert_ledger_sound(books.tenant)
