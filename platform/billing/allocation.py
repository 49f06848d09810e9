"""Allocating a payment by hand: money a post-paid customer paid on account, to one invoice.

`record_payment` allocates to the oldest open invoices (or the ones named) as the money
comes in; what is left stays on account (`payments.unallocated_micros`). Staff may move
part or all of it onto a particular open invoice of the same customer. That is a matter
of the sub-ledger alone: the customer's receivable (1100) was credited when the money
came in, whichever invoice it settles, so no journal entry moves money here. What does
post is the resellers' commission on the share settled, exactly as when a payment is
allocated as it is recorded (each act keyed apart, so allocating in parts pays each part
once). Settling more may lift a dunning suspension, so dunning reviews the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.money import format_amount, round_to_minor

from ..audit import log as audit
from ..subscribers.customers import get_customer
from . import dunning
from .errors import InvalidPayment
from .invoices import Invoice, get_invoice
from .payments import NotAvailable, Payment, get_payment, post_commission
from .tables import invoices, payment_allocations, payments


@dataclass(frozen=True, slots=True)
class Allocated:
    payment: Payment  # as it stands after the allocation
    invoice: Invoice  # likewise
    amount_micros: int
    commission_micros: int


def checked_amount(amount_micros: object, currency: str) -> int:
    """A positive whole number of the currency's minor units, or InvalidPayment saying why."""
    if isinstance(amount_micros, bool) or not isinstance(amount_micros, int) or amount_micros <= 0:
        raise InvalidPayment(f"the amount must be a positive whole number of micro-units, got {amount_micros!r}")
    if round_to_minor(amount_micros, currency) != amount_micros:
        raise InvalidPayment(
            f"{format_amount(amount_micros, currency, precise=True)} is not a whole number of {currency} minor units"
        )
    return amount_micros


async def allocate_payment(conn: AsyncConnection, *, payment_id: int, invoice: str, amount_micros: int) -> Allocated:
    """Allocate `amount_micros` of payment `payment_id`'s unallocated money to `invoice`."""
    found = await get_payment(conn, payment_id)
    owner = await get_customer(conn, found.customer, for_update=True)  # the lock order of record_payment
    paid = await get_payment(conn, payment_id, for_update=True)
    target = await get_invoice(conn, invoice, for_update=True)
    amount = checked_amount(amount_micros, target.currency)
    if paid.kind != "payment":
        raise InvalidPayment(
            f"payment {payment_id} is a prepaid top-up: it loaded the prepaid balance and is not allocated to invoices"
        )
    if target.customer_id != owner.id:
        raise InvalidPayment(
            f"invoice {invoice} is not an invoice of customer {owner.number}, who made payment {paid.id}"
        )
    if amount > paid.unallocated_micros:
        raise NotAvailable(
            f"payment {paid.id} has {format_amount(paid.unallocated_micros, target.currency)} unallocated; "
            f"{format_amount(amount, target.currency)} is more",
            paid.unallocated_micros,
        )
    if amount > target.open_micros:
        raise InvalidPayment(
            f"invoice {invoice} has {format_amount(max(target.open_micros, 0), target.currency)} open; "
            f"{format_amount(amount, target.currency)} is more"
        )
    # The pair's acts, this one included, tell apart its commission entries (the customer's lock serialises them).
    acts = (
        1
        + (
            await conn.execute(
                select(func.count()).where(
                    payment_allocations.c.payment_id == paid.id, payment_allocations.c.invoice_id == target.id
                )
            )
        ).scalar_one()
    )
    await conn.execute(
        insert(payment_allocations).values(payment_id=paid.id, invoice_id=target.id, amount_micros=amount)
    )
    await conn.execute(
        update(invoices).where(invoices.c.id == target.id).values(paid_micros=invoices.c.paid_micros + amount)
    )
    await conn.execute(
        update(payments)
        .where(payments.c.id == paid.id)
        .values(unallocated_micros=payments.c.unallocated_micros - amount)
    )
    commission = await post_commission(conn, owner, paid.id, target, amount, part=f":allocation-{acts}")
    await audit.record(
        conn,
        "billing.payment.allocate",
        f"payment:{paid.id}",
        invoice=invoice,
        amount_micros=amount,
        commission_micros=commission,
    )
    await dunning.review_customer(conn, owner.id, datetime.now(UTC).date(), escalate=False)
    return Allocated(await get_payment(conn, paid.id), await get_invoice(conn, invoice), amount, commission)
