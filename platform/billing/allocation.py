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
from ..ledger.tables import journal_entries, postings
from ..subscribers.customers import get_customer
from . import dunning
from .credits import checked_key
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
    replayed: bool = False  # True: the key was used before, and this is that allocation (as things stand now)


def checked_amount(amount_micros: object, currency: str) -> int:
    """A positive whole number of the currency's minor units, or InvalidPayment saying why."""
    if isinstance(amount_micros, bool) or not isinstance(amount_micros, int) or amount_micros <= 0:
        raise InvalidPayment(f"the amount must be a positive whole number of micro-units, got {amount_micros!r}")
    if round_to_minor(amount_micros, currency) != amount_micros:
        raise InvalidPayment(
            f"{format_amount(amount_micros, currency, precise=True)} is not a whole number of {currency} minor units"
        )
    return amount_micros


async def allocate_payment(
    conn: AsyncConnection, *, payment_id: int, invoice: str, amount_micros: int, idempotency_key: str | None = None
) -> Allocated:
    """Allocate `amount_micros` of payment `payment_id`'s unallocated money to `invoice`.
    With a key, a retry with the same figures returns the first allocation (replayed)."""
    key = checked_key(idempotency_key)
    found = await get_payment(conn, payment_id)
    owner = await get_customer(conn, found.customer, for_update=True)  # the lock order of record_payment
    paid = await get_payment(conn, payment_id, for_update=True)
    target = await get_invoice(conn, invoice, for_update=True)
    amount = checked_amount(amount_micros, target.currency)
    if key is not None:
        first = await _replay(conn, key, paid.id, target, amount)
        if first is not None:
            return first
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
        insert(payment_allocations).values(
            payment_id=paid.id, invoice_id=target.id, amount_micros=amount, idempotency_key=key
        )
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


async def _replay(conn: AsyncConnection, key: str, payment_id: int, target: Invoice, amount: int) -> Allocated | None:
    """The allocation made with `key` before (None: none), refused if its figures differ."""
    first = (
        await conn.execute(select(payment_allocations).where(payment_allocations.c.idempotency_key == key))
    ).first()
    if first is None:
        return None
    if (first.payment_id, first.invoice_id, first.amount_micros) != (payment_id, target.id, amount):
        raise InvalidPayment(
            f"allocation key {key!r} was already used for another allocation (payment, invoice or amount differ); "
            "use a new key for a new allocation"
        )
    # Its act number among the pair's allocations names its commission entries (post_commission's `part`).
    acts = (
        await conn.execute(
            select(func.count()).where(
                payment_allocations.c.payment_id == payment_id,
                payment_allocations.c.invoice_id == target.id,
                payment_allocations.c.id <= first.id,
            )
        )
    ).scalar_one()
    pattern = rf"^commission:{payment_id}:{target.id}:[0-9]+:allocation-{acts}$"
    commission = (
        await conn.execute(
            select(func.coalesce(func.sum(postings.c.amount), 0))
            .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
            .where(journal_entries.c.idempotency_key.regexp_match(pattern), postings.c.amount > 0)
        )
    ).scalar_one()
    return Allocated(
        await get_payment(conn, payment_id), await get_invoice(conn, target.number), amount, int(commission), True
    )
