"""Payments: manual payments allocated to invoices, prepaid top-ups, reseller commission.

A payment is money received from a customer by cash, cheque, bank transfer or card. It
is one journal entry: the ISP's clearing account for the method is debited, and

- a post-paid customer's receivable (1100) is credited, and the payment is allocated to
  the customer's open invoices, the ones named or else the oldest first; what is left
  stays on account and is applied to later invoices by the next payment recorded;
- a prepaid customer's main balance (1000) is credited: that is a top-up (prepaid
  load), which sessions then spend.

Recording is idempotent on the caller's key: the same key with the same figures returns
the payment already recorded; with other figures it is refused.

Commission. When a payment settles an invoice of a customer sold by a reseller, the
reseller earns its commission rate on the net (tax-free) share of the amount settled,
and each reseller above it earns the difference between its own rate and the highest
rate below it (a VISP at 15 % over a sub-reseller at 10 % earns 5 %). Each such share is
posted as the ISP's commission expense (5000) and credited to the reseller's 2300
Commission earned, which is what the ISP owes that reseller.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.money import divide_half_even, format_amount, round_to_minor

from ..audit import log as audit
from ..ledger.entities import isp_entity, query_account
from ..ledger.posting import post_entries, post_entry
from ..ledger.rules import MAX_KEY_LENGTH, NewEntry, credit, debit
from ..ledger.tables import journal_entries, postings
from ..subscribers.customers import Customer, get_customer
from ..subscribers.resellers import Reseller, get_reseller_by_id
from ..subscribers.tables import customers
from . import dunning
from .errors import InvalidPayment
from .invoices import Invoice, get_invoice
from .tables import invoices, payment_allocations, payments

BASIS_POINTS = 10_000
MAX_REFERENCE_LENGTH = 200
COMMISSION_EXPENSE = "5000"
COMMISSION_EARNED = "2300"


class PaymentNotFound(InvalidPayment):
    """No payment has the id asked for (an InvalidPayment, so callers of old keep working)."""


class NotAvailable(InvalidPayment):
    """More was asked of a payment than it has left (to allocate or refund): says how much it has."""

    def __init__(self, message: str, available_micros: int) -> None:
        super().__init__(message)
        self.available_micros = available_micros


class Method(enum.StrEnum):
    CASH = "cash"
    CHEQUE = "cheque"
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"


CLEARING = {Method.CASH: "1120", Method.CHEQUE: "1120", Method.BANK_TRANSFER: "1110", Method.CARD: "1100"}


@dataclass(frozen=True, slots=True)
class Allocation:
    invoice: str  # number
    amount_micros: int
    commission_micros: int


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    customer: str  # customer number
    kind: str  # payment | topup
    method: Method
    amount_micros: int
    unallocated_micros: int
    received_at: datetime
    reference: str | None
    entry_id: int
    replayed: bool
    allocations: tuple[Allocation, ...] = ()


def _check(amount_micros: object, currency: str, method: object, key: object, reference: object) -> Method:
    if isinstance(amount_micros, bool) or not isinstance(amount_micros, int) or amount_micros <= 0:
        raise InvalidPayment(f"a payment amount must be a positive whole number of micro-units, got {amount_micros!r}")
    if round_to_minor(amount_micros, currency) != amount_micros:
        raise InvalidPayment(
            f"{format_amount(amount_micros, currency, precise=True)} is not a whole number of {currency} minor units"
        )
    try:
        checked = Method(method) if isinstance(method, str) else None
    except ValueError:
        checked = None
    if checked is None:
        raise InvalidPayment(f"payment method {method!r} is not one of {', '.join(m.value for m in Method)}")
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH - 20:
        raise InvalidPayment(f"a payment needs an idempotency key of 1 to {MAX_KEY_LENGTH - 20} characters")
    if reference is not None and (not isinstance(reference, str) or len(reference) > MAX_REFERENCE_LENGTH):
        raise InvalidPayment(f"a payment reference is text of at most {MAX_REFERENCE_LENGTH} characters")
    return checked


async def record_payment(
    conn: AsyncConnection,
    *,
    customer: str,
    amount_micros: int,
    method: Method | str,
    idempotency_key: str,
    received_at: datetime | None = None,
    reference: str | None = None,
    invoice_numbers: Sequence[str] = (),
) -> Payment:
    """Record a payment by `customer` (number, code or login); see the module docstring."""
    owner = await get_customer(conn, customer, for_update=True)
    isp = await isp_entity(conn)
    checked = _check(amount_micros, isp.currency, method, idempotency_key, reference)
    when = received_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise InvalidPayment(f"received_at must carry a time zone, got {when!r}")
    if owner.prepaid and invoice_numbers:
        raise InvalidPayment(
            f"customer {owner.number} is prepaid: a payment tops up the prepaid balance, and prepaid invoices are "
            "paid as they are issued; leave out the invoice numbers"
        )
    replay = await _replay(conn, owner, idempotency_key, amount_micros, checked, reference)
    if replay is not None:
        return replay
    kind = "topup" if owner.prepaid else "payment"
    target = await query_account(conn, owner.entity_id, "1000" if owner.prepaid else "1100")
    clearing = await query_account(conn, isp.id, CLEARING[checked])
    posted = await post_entry(
        conn,
        NewEntry(
            f"payment:{idempotency_key}",
            f"{'Top-up' if owner.prepaid else 'Payment'} by {checked.value.replace('_', ' ')}, {owner.number}",
            (debit(clearing.id, amount_micros, isp.currency), credit(target.id, amount_micros, isp.currency)),
            {"customer": owner.number, "method": checked.value, "reference": reference},
        ),
    )
    payment_id = (
        await conn.execute(
            insert(payments)
            .values(
                customer_id=owner.id,
                kind=kind,
                method=checked.value,
                amount_micros=amount_micros,
                unallocated_micros=0 if owner.prepaid else amount_micros,
                received_at=when,
                reference=reference,
                idempotency_key=idempotency_key,
                entry_id=posted.id,
            )
            .returning(payments.c.id)
        )
    ).scalar_one()
    await audit.record(
        conn,
        f"billing.{kind}.record",
        f"payment:{payment_id}",
        customer=owner.number,
        amount_micros=amount_micros,
        method=checked.value,
        reference=reference,
    )
    allocations: tuple[Allocation, ...] = ()
    if not owner.prepaid:
        allocations = await _allocate(conn, owner, payment_id, invoice_numbers)
        await dunning.review_customer(conn, owner.id, datetime.now(UTC).date(), escalate=False)
    return await _payment(conn, payment_id, replayed=False, allocations=allocations)


async def _replay(
    conn: AsyncConnection, owner: Customer, key: str, amount: int, method: Method, reference: str | None
) -> Payment | None:
    row = (await conn.execute(select(payments).where(payments.c.idempotency_key == key))).first()
    if row is None:
        return None
    if (row.customer_id, row.amount_micros, row.method, row.reference) != (owner.id, amount, method.value, reference):
        raise InvalidPayment(
            f"payment key {key!r} was already used for another payment (customer, amount, method or reference "
            "differ); use a new key for a new payment"
        )
    return await _payment(conn, row.id, replayed=True, allocations=await _first_allocations(conn, row.id))


async def _first_allocations(conn: AsyncConnection, payment_id: int) -> tuple[Allocation, ...]:
    """What recording payment `payment_id` allocated (not later allocations of what it left
    over), with the commission each part earned: a replay answers as the first call did."""
    paid = payments.alias("paid")
    rows = await conn.execute(
        select(invoices.c.id, invoices.c.number, payment_allocations.c.amount_micros)
        .join(invoices, invoices.c.id == payment_allocations.c.invoice_id)
        .join(paid, paid.c.id == payment_allocations.c.payment_id)
        .where(payment_allocations.c.payment_id == payment_id, payment_allocations.c.created_at == paid.c.created_at)
        .order_by(payment_allocations.c.id)
    )
    made = []
    for invoice_id, number, amount in rows.all():
        keys = rf"^commission:{payment_id}:{invoice_id}:[0-9]+$"  # the first call's, not a later part's
        commission = (
            await conn.execute(
                select(func.coalesce(func.sum(postings.c.amount), 0))
                .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
                .where(journal_entries.c.idempotency_key.regexp_match(keys), postings.c.amount > 0)
            )
        ).scalar_one()
        made.append(Allocation(number, amount, int(commission)))
    return tuple(made)


async def _payment(
    conn: AsyncConnection, payment_id: int, *, replayed: bool, allocations: tuple[Allocation, ...] = ()
) -> Payment:
    row = (await conn.execute(select(payments).where(payments.c.id == payment_id))).one()
    number = (await get_customer_number(conn, row.customer_id)) or ""
    return Payment(
        id=row.id,
        customer=number,
        kind=row.kind,
        method=Method(row.method),
        amount_micros=row.amount_micros,
        unallocated_micros=row.unallocated_micros,
        received_at=row.received_at,
        reference=row.reference,
        entry_id=row.entry_id,
        replayed=replayed,
        allocations=allocations,
    )


async def get_customer_number(conn: AsyncConnection, customer_id: int) -> str | None:
    return (await conn.execute(select(customers.c.customer_number).where(customers.c.id == customer_id))).scalar()


async def _open_invoices(conn: AsyncConnection, owner: Customer, numbers: Sequence[str]) -> list[Invoice]:
    if numbers:
        chosen = []
        for number in numbers:
            invoice = await get_invoice(conn, number, for_update=True)
            if invoice.customer_id != owner.id:
                raise InvalidPayment(f"invoice {number} is not an invoice of customer {owner.number}")
            if invoice.open_micros <= 0:
                raise InvalidPayment(f"invoice {number} is already settled; nothing is open on it")
            chosen.append(invoice)
        return chosen
    rows = (
        await conn.execute(
            select(invoices.c.number)
            .where(
                invoices.c.customer_id == owner.id,
                invoices.c.gross_micros > invoices.c.paid_micros + invoices.c.credited_micros,
            )
            .order_by(invoices.c.seq)
        )
    ).scalars()
    return [await get_invoice(conn, number, for_update=True) for number in rows]


async def apply_credit(conn: AsyncConnection, customer_id: int) -> None:
    """Apply what a post-paid customer has paid on account to their open invoices, oldest
    first (the bill run calls this for each new invoice of a customer in credit)."""
    owner = await get_customer(conn, (await get_customer_number(conn, customer_id)) or "", for_update=True)
    if not owner.prepaid:
        await _allocate(conn, owner, None, ())


async def _allocate(
    conn: AsyncConnection, owner: Customer, payment_id: int | None, numbers: Sequence[str]
) -> tuple[Allocation, ...]:
    """Apply the customer's unallocated payments, oldest first (this one last), to open invoices."""
    targets = await _open_invoices(conn, owner, numbers)
    sources = (
        await conn.execute(
            select(payments.c.id, payments.c.unallocated_micros)
            .where(payments.c.customer_id == owner.id, payments.c.unallocated_micros > 0)
            .order_by(payments.c.id)
            .with_for_update()
        )
    ).all()
    if numbers:  # named invoices take this payment only
        sources = [s for s in sources if s.id == payment_id]
    left = {source.id: source.unallocated_micros for source in sources}
    made: list[Allocation] = []
    for invoice in targets:
        open_amount = invoice.open_micros
        for source in sources:
            take = min(open_amount, left[source.id])
            if take <= 0:
                continue
            left[source.id] -= take
            open_amount -= take
            commission = await _commission(conn, owner, source.id, invoice, take)
            await conn.execute(
                insert(payment_allocations).values(payment_id=source.id, invoice_id=invoice.id, amount_micros=take)
            )
            await conn.execute(
                update(invoices).where(invoices.c.id == invoice.id).values(paid_micros=invoices.c.paid_micros + take)
            )
            if source.id == payment_id:
                made.append(Allocation(invoice.number, take, commission))
    for source in sources:
        if left[source.id] != source.unallocated_micros:
            await conn.execute(
                update(payments).where(payments.c.id == source.id).values(unallocated_micros=left[source.id])
            )
    return tuple(made)


async def _reseller_chain(conn: AsyncConnection, reseller_id: int) -> list[Reseller]:
    chain = [await get_reseller_by_id(conn, reseller_id)]
    while chain[-1].parent_id is not None:
        chain.append(await get_reseller_by_id(conn, chain[-1].parent_id))
    return chain


def commission_shares(net_micros: int, rates_bp: Sequence[int]) -> list[int]:
    """Each level's commission on `net_micros`, selling reseller first (see module docstring)."""
    shares = []
    below = 0
    for rate in rates_bp:
        earned = max(rate - below, 0)
        shares.append(divide_half_even(net_micros * earned, BASIS_POINTS))
        below = max(below, rate)
    return shares


async def _commission(conn: AsyncConnection, owner: Customer, payment_id: int, invoice: Invoice, amount: int) -> int:
    return await post_commission(conn, owner, payment_id, invoice, amount)


async def post_commission(
    conn: AsyncConnection, owner: Customer, payment_id: int, invoice: Invoice, amount: int, *, part: str = ""
) -> int:
    """Post the resellers' commission on `amount` of `invoice` settled by payment `payment_id`
    (see the module docstring); `part` tells apart the entries of a payment allocated to the
    same invoice more than once (`allocation.allocate_payment`). Returns the total commission."""
    if owner.reseller_id is None or invoice.gross_micros == 0:
        return 0
    net = divide_half_even(amount * invoice.net_micros, invoice.gross_micros)
    chain = await _reseller_chain(conn, owner.reseller_id)
    shares = commission_shares(net, [r.commission_bp for r in chain])
    isp = await isp_entity(conn)
    expense = await query_account(conn, isp.id, COMMISSION_EXPENSE)
    entries = []
    for reseller, share in zip(chain, shares, strict=True):
        if share <= 0:
            continue
        earned = await query_account(conn, reseller.entity_id, COMMISSION_EARNED)
        entries.append(
            NewEntry(
                f"commission:{payment_id}:{invoice.id}:{reseller.id}{part}",
                f"Commission for {reseller.code} on {invoice.number}",
                (debit(expense.id, share, isp.currency), credit(earned.id, share, isp.currency)),
                {"invoice": invoice.number, "reseller": reseller.code, "net_micros": net},
            )
        )
    if entries:
        await post_entries(conn, entries)
    return sum(shares)


async def get_payment(conn: AsyncConnection, payment_id: int, *, for_update: bool = False) -> Payment:
    """One payment by id (its allocations not listed); InvalidPayment when there is none."""
    query = select(payments.c.id).where(payments.c.id == payment_id)
    found = (await conn.execute(query.with_for_update() if for_update else query)).scalar()
    if found is None:
        raise PaymentNotFound(f"no payment has id {payment_id}")
    return await _payment(conn, found, replayed=False)


async def payments_of(conn: AsyncConnection, customer: str) -> list[Payment]:
    owner = await get_customer(conn, customer)
    ids = (
        await conn.execute(select(payments.c.id).where(payments.c.customer_id == owner.id).order_by(payments.c.id))
    ).scalars()
    return [await _payment(conn, payment_id, replayed=False) for payment_id in ids]


async def unallocated_total(conn: AsyncConnection, customer_id: int) -> int:
    return int(
        (
            await conn.execute(
                select(func.coalesce(func.sum(payments.c.unallocated_micros), 0)).where(
                    payments.c.customer_id == customer_id
                )
            )
        ).scalar_one()
    )
