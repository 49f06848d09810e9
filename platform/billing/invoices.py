"""Issued invoices: look them up, list them, and rebuild the document to render.

An invoice is rebuilt from its row, its lines and the seller/customer snapshot taken
when it was issued, so it renders the same (JSON or PDF, `platform.invoicing.render`)
however the catalog, the reseller's branding or the customer's address change later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, any_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.db.arrays import id_array
from bureau.platform.invoicing.document import InvoiceDocument, InvoiceLine, tax_summary_of, totals_of

from ..subscribers.tables import customers
from .errors import BillingError, InvoiceNotFound
from .sellers import from_snapshot
from .tables import invoice_lines, invoices

MAX_LIST = 1000
STATUSES = ("open", "paid", "void")


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    number: str
    customer_id: int
    customer_number: str
    reseller_id: int | None
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    currency: str
    prepaid: bool
    net_micros: int
    tax_micros: int
    gross_micros: int
    balance_due_micros: int
    paid_micros: int
    credited_micros: int
    entry_id: int | None
    voided_at: datetime | None  # when `void_invoice` first voided it
    void_reason: str | None

    @property
    def open_micros(self) -> int:
        """What is still to pay on this invoice itself (gross less payments and credits)."""
        return self.gross_micros - self.paid_micros - self.credited_micros

    @property
    def status(self) -> str:
        """void once voided; else open while anything is left to pay, else paid. A credit
        note on a paid invoice (or any on a prepaid one, issued paid) takes open below
        zero: still paid, as the `invoice_page` filter, dunning and aging count it."""
        if self.voided_at is not None:
            return "void"
        return "open" if self.open_micros > 0 else "paid"


@cache  # built once: a statement is immutable, and building one costs more than running it
def _query() -> Select[Any]:
    """Invoices with their customer's number; not the issued document (invoice_document
    reads it), which is the largest column and would be decoded from JSON for nothing."""
    shown = [column for column in invoices.c if column.name != "document"]
    return select(*shown, customers.c.customer_number).join(customers, customers.c.id == invoices.c.customer_id)


def _invoice(row: Row[Any]) -> Invoice:
    return Invoice(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        customer_number=row.customer_number,
        reseller_id=row.reseller_id,
        period_start=row.period_start,
        period_end=row.period_end,
        issue_date=row.issue_date,
        due_date=row.due_date,
        currency=row.currency,
        prepaid=row.prepaid,
        net_micros=row.net_micros,
        tax_micros=row.tax_micros,
        gross_micros=row.gross_micros,
        balance_due_micros=row.balance_due_micros,
        paid_micros=row.paid_micros,
        credited_micros=row.credited_micros,
        entry_id=row.entry_id,
        voided_at=row.voided_at,
        void_reason=row.void_reason,
    )


async def get_invoice(conn: AsyncConnection, number: str, *, for_update: bool = False) -> Invoice:
    query = _query().where(invoices.c.number == number)
    if for_update:
        query = query.with_for_update(of=invoices)
    row = (await conn.execute(query)).first()
    if row is None:
        raise InvoiceNotFound(f"no invoice has number {number!r}")
    return _invoice(row)


async def list_invoices(
    conn: AsyncConnection, *, customer_id: int | None = None, period_start: date | None = None, limit: int = 100
) -> list[Invoice]:
    """Invoices by number, newest first; filtered by customer and/or period."""
    query = _query().order_by(invoices.c.seq.desc()).limit(min(max(limit, 1), MAX_LIST))
    if customer_id is not None:
        query = query.where(invoices.c.customer_id == customer_id)
    if period_start is not None:
        query = query.where(invoices.c.period_start == period_start)
    return [_invoice(row) for row in await conn.execute(query)]


async def invoice_document(conn: AsyncConnection, number: str) -> InvoiceDocument:
    """The invoice as issued, ready for `invoice_json` / `invoice_pdf`."""
    row = (await conn.execute(select(invoices).where(invoices.c.number == number))).first()
    if row is None:
        raise InvoiceNotFound(f"no invoice has number {number!r}")
    lines = tuple((await lines_of(conn, [row.id]))[row.id])
    seller, customer = from_snapshot(row.document)
    return InvoiceDocument(
        number=row.number,
        issue_date=row.issue_date,
        period_start=row.period_start,
        period_end=row.period_end,
        due_date=row.due_date,
        currency=row.currency,
        seller=seller,
        customer=customer,
        lines=lines,
        tax_summary=tax_summary_of(lines),
        totals=totals_of(lines),
        opening_balance_micros=row.opening_balance_micros,
        payments_received_micros=row.payments_received_micros,
        balance_due_micros=row.balance_due_micros,
    )


def _line(row: Row[Any]) -> InvoiceLine:
    return InvoiceLine(
        description=row.description,
        quantity=row.quantity,
        unit=row.unit,
        unit_price_micros=row.unit_price_micros,
        net_micros=row.net_micros,
        tax_rate_bp=row.tax_rate_bp,
        tax_micros=row.tax_micros,
        gross_micros=row.gross_micros,
    )


@cache  # a statement built once keeps its cache key: SQLAlchemy does not walk it again per call
def _lines_of_ids() -> Select[Any]:
    return (
        select(invoice_lines)
        .where(invoice_lines.c.invoice_id == any_(id_array("ids")))
        .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
    )


@cache
def _latest_of_ids() -> Select[Any]:
    return (
        _query()
        .where(invoices.c.customer_id == any_(id_array("ids")))
        .order_by(invoices.c.customer_id, invoices.c.id.desc())
        .ext(distinct_on(invoices.c.customer_id))
    )


async def lines_of(conn: AsyncConnection, invoice_ids: Iterable[int]) -> dict[int, list[InvoiceLine]]:
    """The lines of several invoices in one query, by invoice id, each in its order."""
    ids = sorted(set(invoice_ids))
    found: dict[int, list[InvoiceLine]] = {i: [] for i in ids}
    if ids:
        for row in await conn.execute(_lines_of_ids(), {"ids": ids}):
            found[row.invoice_id].append(_line(row))
    return found


async def invoice_page(
    conn: AsyncConnection,
    *,
    before_id: int | None = None,
    limit: int = 100,
    customer_id: int | None = None,
    period_start: date | None = None,
    status: str | None = None,
    resellers: frozenset[int] | None = None,
) -> list[Invoice]:
    """Invoices newest first, before id `before_id` (keyset paging), at most `limit` (capped);
    `status` one of STATUSES (see `Invoice.status`); `resellers`: only invoices of customers they sold."""
    query = _query().order_by(invoices.c.id.desc()).limit(min(max(limit, 1), MAX_LIST))
    if before_id is not None:
        query = query.where(invoices.c.id < before_id)
    if customer_id is not None:
        query = query.where(invoices.c.customer_id == customer_id)
    if period_start is not None:
        query = query.where(invoices.c.period_start == period_start)
    if resellers is not None:
        query = query.where(customers.c.reseller_id.in_(sorted(resellers)))
    settled = invoices.c.gross_micros <= invoices.c.paid_micros + invoices.c.credited_micros
    voided = invoices.c.voided_at.is_not(None)
    if status == "void":
        query = query.where(voided)
    elif status == "paid":
        query = query.where(settled, ~voided)
    elif status == "open":
        query = query.where(~settled, ~voided)
    elif status is not None:
        raise BillingError(f"invoice status {status!r} is not one of {', '.join(STATUSES)}")
    return [_invoice(row) for row in await conn.execute(query)]


async def latest_invoices(conn: AsyncConnection, customer_ids: Iterable[int]) -> dict[int, Invoice]:
    """Each customer's newest invoice, for several customers in one query."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    return {row.customer_id: _invoice(row) for row in await conn.execute(_latest_of_ids(), {"ids": ids})}
