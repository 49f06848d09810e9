"""Receivables aging: what is still open on invoices, by how long it has been overdue.

An invoice's open amount is its gross less what payments settled on it and what credit
notes took back (`invoices.paid_micros`, kept as the sum of its payment allocations, and
`credited_micros`, the sum of its credit notes' gross; a prepaid invoice is issued paid).
Settlements are counted as recorded now: `as_of` moves the aging clock, it does not replay
history. Only invoices issued on or before `as_of` with something open are counted; each
goes whole into one bucket by `as_of - due_date` in days: `current` (0 or less: not yet
overdue), 1-30, 31-60, 61-90, over 90.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, case, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from ..billing.tables import invoices
from ..subscribers.tables import customers
from .window import InvalidReport

BUCKETS = ("current", "1-30", "31-60", "61-90", "over-90")
MAX_TOP = 50  # debtors listed at most


@dataclass(frozen=True, slots=True)
class AgingBucket:
    name: str
    open_micros: int
    invoices: int
    customers: int


@dataclass(frozen=True, slots=True)
class Debtor:
    customer_number: str
    name: str
    open_micros: int
    oldest_due: date


@dataclass(frozen=True, slots=True)
class CurrencyAging:
    """One currency: every bucket (empty ones with zeros), the total and the top debtors."""

    currency: str
    buckets: tuple[AgingBucket, ...]
    total: AgingBucket
    debtors: tuple[Debtor, ...]


def _open_invoices(as_of: date, within: frozenset[int] | None) -> Any:
    open_micros = invoices.c.gross_micros - invoices.c.paid_micros - invoices.c.credited_micros
    overdue = literal(as_of, Date) - invoices.c.due_date
    bucket = case(
        (overdue <= 0, BUCKETS[0]),
        (overdue <= 30, BUCKETS[1]),
        (overdue <= 60, BUCKETS[2]),
        (overdue <= 90, BUCKETS[3]),
        else_=BUCKETS[4],
    )
    query = (
        select(
            invoices.c.id,
            invoices.c.currency,
            invoices.c.customer_id,
            invoices.c.due_date,
            open_micros.label("open_micros"),
            bucket.label("bucket"),
        )
        .select_from(invoices.join(customers, customers.c.id == invoices.c.customer_id))
        .where(invoices.c.issue_date <= as_of, open_micros > 0)
    )
    if within is not None:
        query = query.where(customers.c.reseller_id.in_(sorted(within)))
    return query.subquery("open_invoices")


async def receivables_aging(
    conn: AsyncConnection, as_of: date, *, top: int = 0, within: frozenset[int] | None = None
) -> list[CurrencyAging]:
    """The aging per currency as of `as_of` (module docstring); `top` largest debtors too."""
    if not 0 <= top <= MAX_TOP:
        raise InvalidReport("top", f"top must be from 0 to {MAX_TOP}, got {top}")
    found = _open_invoices(as_of, within)
    query = (
        select(
            found.c.currency,
            found.c.bucket,
            func.grouping(found.c.bucket).label("is_total"),
            func.sum(found.c.open_micros).label("open_micros"),
            func.count().label("invoices"),
            func.count(found.c.customer_id.distinct()).label("customers"),
        )
        .group_by(func.grouping_sets(tuple_(found.c.currency, found.c.bucket), tuple_(found.c.currency)))
        .order_by(found.c.currency)
    )
    buckets: dict[str, dict[str, AgingBucket]] = {}
    totals: dict[str, AgingBucket] = {}
    for row in await conn.execute(query):
        name = "total" if row.is_total else row.bucket
        figure = AgingBucket(name, int(row.open_micros), row.invoices, row.customers)
        if row.is_total:
            totals[row.currency] = figure
        else:
            buckets.setdefault(row.currency, {})[name] = figure
    debtors = await _debtors(conn, found, top) if top else {}
    return [
        CurrencyAging(
            currency=currency,
            buckets=tuple(buckets[currency].get(name, AgingBucket(name, 0, 0, 0)) for name in BUCKETS),
            total=totals[currency],
            debtors=tuple(debtors.get(currency, ())),
        )
        for currency in sorted(totals)
    ]


async def _debtors(conn: AsyncConnection, found: Any, top: int) -> dict[str, list[Debtor]]:
    """The `top` customers owing the most per currency (ties: the lower customer number)."""
    owed = (
        select(
            found.c.currency,
            found.c.customer_id,
            func.sum(found.c.open_micros).label("open_micros"),
            func.min(found.c.due_date).label("oldest_due"),
        )
        .group_by(found.c.currency, found.c.customer_id)
        .subquery("owed")
    )
    rank = func.row_number().over(
        partition_by=owed.c.currency, order_by=(owed.c.open_micros.desc(), customers.c.number)
    )
    ranked = (
        select(owed, customers.c.customer_number, customers.c.name, rank.cast(Integer).label("rank"))
        .select_from(owed.join(customers, customers.c.id == owed.c.customer_id))
        .subquery("ranked")
    )
    query = select(ranked).where(ranked.c.rank <= top).order_by(ranked.c.currency, ranked.c.rank)
    listed: dict[str, list[Debtor]] = {}
    for row in await conn.execute(query):
        listed.setdefault(row.currency, []).append(
            Debtor(row.customer_number, row.name, int(row.open_micros), row.oldest_due)
        )
    return listed
