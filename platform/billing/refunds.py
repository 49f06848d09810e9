"""Refunds: money paid back to a customer out of one of their payments.

What may be refunded is what the payment still holds for the customer:

- a post-paid payment: its unallocated part (money on account). Money allocated to an
  invoice has settled it and is not refunded; a refund never re-opens an invoice, so it
  never touches dunning either.
- a prepaid top-up: what it loaded less what was refunded of it, and never more than
  the prepaid main balance holds now (the ledger's guard on 1000 has the last word).

A refund is one journal entry, the payment's own reversed: the customer's balance is
debited (post-paid receivable 1100 up: the credit on account is gone; prepaid 1000
down) and the ISP's clearing account for the payment's method is credited (the money
leaves). Refunds are idempotent on the caller's key: the same key with the same figures
returns the first refund (replayed), with other figures it is refused, and either way
nothing posts twice.

`refund_page` lists refunds newest first, a keyset page at a time, by customer, by
payment, or within a reseller subtree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Row,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.money import format_amount

from ..audit import log as audit
from ..db.arrays import id_array
from ..db.columns import created_at
from ..db.schema import tenant_metadata
from ..ledger.entities import isp_entity, query_account
from ..ledger.posting import post_entry
from ..ledger.rules import MAX_KEY_LENGTH, NewEntry, credit, debit
from ..subscribers.customers import get_customer
from ..subscribers.tables import customers
from .allocation import checked_amount
from .credits import MAX_REASON_LENGTH
from .errors import InvalidPayment
from .payments import CLEARING, Method, NotAvailable, Payment, get_payment
from .tables import payments

MAX_REFUND_KEY_LENGTH = MAX_KEY_LENGTH - 20  # the entry key is "refund:" + the caller's key
MAX_PAGE = 1000  # refunds in one `refund_page`

# Mirrors migration t0011 (append-only).
refunds = Table(
    "refunds",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("payment_id", BigInteger, ForeignKey("payments.id"), nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("entry_id", BigInteger, nullable=False),
    created_at(),
    Index("ix_refunds_payment_id", "payment_id"),
)


@dataclass(frozen=True, slots=True)
class Refund:
    id: int
    payment: Payment  # as it stands after the refund (for a replay: now)
    amount_micros: int
    reason: str
    entry_id: int
    created_at: datetime
    replayed: bool  # always False in `refund_page`


def _checked(reason: object, key: object) -> tuple[str, str]:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_LENGTH:
        raise InvalidPayment(f"a refund needs a reason of 1 to {MAX_REASON_LENGTH} characters")
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_REFUND_KEY_LENGTH:
        raise InvalidPayment(f"a refund needs an idempotency key of 1 to {MAX_REFUND_KEY_LENGTH} characters")
    return reason.strip(), key


async def refundable(conn: AsyncConnection, paid: Payment) -> int:
    """What may still be refunded of `paid` (see the module docstring)."""
    if paid.kind == "payment":
        return paid.unallocated_micros
    refunded = (
        await conn.execute(
            select(func.coalesce(func.sum(refunds.c.amount_micros), 0)).where(refunds.c.payment_id == paid.id)
        )
    ).scalar_one()
    owner = await get_customer(conn, paid.customer)
    balance = (await query_account(conn, owner.entity_id, "1000")).balance
    return max(min(paid.amount_micros - int(refunded), balance), 0)


async def refund_payment(
    conn: AsyncConnection, *, payment_id: int, amount_micros: int, reason: str, idempotency_key: str
) -> Refund:
    """Pay `amount_micros` of payment `payment_id` back to the customer; see the module docstring."""
    why, key = _checked(reason, idempotency_key)
    found = await get_payment(conn, payment_id)
    owner = await get_customer(conn, found.customer, for_update=True)  # the lock order of record_payment
    paid = await get_payment(conn, payment_id, for_update=True)
    isp = await isp_entity(conn)
    amount = checked_amount(amount_micros, isp.currency)
    old = (await conn.execute(select(refunds).where(refunds.c.idempotency_key == key))).first()
    if old is not None:
        if (old.payment_id, old.amount_micros, old.reason) != (paid.id, amount, why):
            raise InvalidPayment(
                f"refund key {key!r} was already used for another refund (payment, amount or reason differ); "
                "use a new key for a new refund"
            )
        return Refund(old.id, paid, amount, why, old.entry_id, old.created_at, replayed=True)
    available = await refundable(conn, paid)
    if amount > available:
        held = "unallocated" if paid.kind == "payment" else "refundable (of the top-up, within the prepaid balance)"
        raise NotAvailable(
            f"payment {paid.id} has {format_amount(available, isp.currency)} {held}; "
            f"{format_amount(amount, isp.currency)} is more",
            available,
        )
    balance = await query_account(conn, owner.entity_id, "1100" if paid.kind == "payment" else "1000")
    clearing = await query_account(conn, isp.id, CLEARING[paid.method])
    posted = await post_entry(
        conn,
        NewEntry(
            f"refund:{key}",
            f"Refund of payment {paid.id} by {paid.method.value.replace('_', ' ')}, {owner.number}: {why}",
            (debit(balance.id, amount, isp.currency), credit(clearing.id, amount, isp.currency)),
            {"customer": owner.number, "payment": paid.id, "method": paid.method.value},
        ),
    )
    row = (
        await conn.execute(
            insert(refunds)
            .values(payment_id=paid.id, amount_micros=amount, reason=why, idempotency_key=key, entry_id=posted.id)
            .returning(refunds.c.id, refunds.c.created_at)
        )
    ).one()
    if paid.kind == "payment":
        await conn.execute(
            update(payments)
            .where(payments.c.id == paid.id)
            .values(unallocated_micros=payments.c.unallocated_micros - amount)
        )
    await audit.record(
        conn,
        "billing.refund",
        f"refund:{row.id}",
        payment=paid.id,
        customer=owner.number,
        amount_micros=amount,
        reason=why,
    )
    return Refund(row.id, await get_payment(conn, paid.id), amount, why, posted.id, row.created_at, replayed=False)


@cache  # one statement per set of filters, built once: SQLAlchemy keeps its cache key
def _page_query(*, after: bool, customer: bool, payment: bool, scoped: bool) -> Select[Any]:
    """Refunds newest first with their payment as it stands now and its customer's number;
    each filter present is a bound parameter (`after_id`, `customer`, `payment_id`,
    `resellers`), and so is `limit`."""
    query = (
        select(
            refunds.c.id,
            refunds.c.payment_id,
            refunds.c.amount_micros,
            refunds.c.reason,
            refunds.c.entry_id,
            refunds.c.created_at,
            payments.c.kind,
            payments.c.method,
            payments.c.amount_micros.label("paid_micros"),
            payments.c.unallocated_micros,
            payments.c.received_at,
            payments.c.reference,
            payments.c.entry_id.label("payment_entry_id"),
            customers.c.customer_number,
        )
        .join(payments, payments.c.id == refunds.c.payment_id)
        .join(customers, customers.c.id == payments.c.customer_id)
        .order_by(refunds.c.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )
    if after:
        query = query.where(refunds.c.id < bindparam("after_id", type_=BigInteger))
    if customer:
        query = query.where(customers.c.customer_number == bindparam("customer", type_=Text))
    if payment:
        query = query.where(refunds.c.payment_id == bindparam("payment_id", type_=BigInteger))
    if scoped:
        query = query.where(customers.c.reseller_id == any_(id_array("resellers")))
    return query


def _listed(row: Row[Any]) -> Refund:
    paid = Payment(
        id=row.payment_id,
        customer=row.customer_number,
        kind=row.kind,
        method=Method(row.method),
        amount_micros=row.paid_micros,
        unallocated_micros=row.unallocated_micros,
        received_at=row.received_at,
        reference=row.reference,
        entry_id=row.payment_entry_id,
        replayed=False,
    )
    return Refund(row.id, paid, row.amount_micros, row.reason, row.entry_id, row.created_at, replayed=False)


async def refund_page(
    conn: AsyncConnection,
    *,
    after_id: int | None,
    limit: int,
    resellers: frozenset[int] | None,
    customer: str | None = None,
    payment_id: int | None = None,
) -> list[Refund]:
    """Refunds newest first, each with its payment as it stands now (customer number and
    method included; allocations not listed), at most `limit` (1 to MAX_PAGE).

    Keyset paging: `after_id` is the id of the last refund of the previous page, and this
    page goes on after it in this order (ids below it; None: from the newest). Filters:
    `customer`, a customer number ("C000123", as `get_customer` answers a reference);
    `payment_id`, one payment's refunds; `resellers`, only refunds of customers those
    resellers sold (a reseller's view; None: the whole tenant, the ISP's own customers
    included).
    """
    query = _page_query(
        after=after_id is not None,
        customer=customer is not None,
        payment=payment_id is not None,
        scoped=resellers is not None,
    )
    values: dict[str, Any] = {"limit": min(max(limit, 1), MAX_PAGE)}
    if after_id is not None:
        values["after_id"] = after_id
    if customer is not None:
        values["customer"] = customer
    if payment_id is not None:
        values["payment_id"] = payment_id
    if resellers is not None:
        values["resellers"] = sorted(resellers)
    return [_listed(row) for row in await conn.execute(query, values)]
