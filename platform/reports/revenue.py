"""Revenue by plan, by reseller or by month, per currency, in one GROUP BY query.

What is counted, for the window [start, end):

- **invoiced**: the lines (net, tax, gross) of invoices whose billing period starts in the
  window (`invoices.period_start`), post-paid and prepaid invoices alike;
- **credited**: credit notes against those same invoices, whenever they were issued, so a
  period's figures always equal its invoices' lines less what was taken back from them;
- **prepaid usage**: what prepaid sessions were charged (journal entries
  `session:<id>:charge:<n>`), by the entry's posting time in UTC: gross is the debit to the
  subscriber's 9000 Amount used, net the credit to 4000 Revenue: usage, tax the credit to
  2100 Tax payable.

Revenue = invoiced - credited + prepaid usage (for net, tax and gross alike). Adjustments
(4900) and voucher breakage (4030) are not revenue of a plan and are left out. The same
figures can be found in the ledger: over all time, gross revenue of a customer equals the
sum of the postings to its 9000 Amount used, and the tenant's tax equals the postings to
2100 Tax payable (the tests prove both).

Keys: PLAN is the plan the line's service is on now (the plan code; "-" for a line with no
service), RESELLER the customer's reseller now (its code; "(direct)" for the ISP's own),
MONTH the invoice's period month or the posting month (YYYY-MM). `customers` counts the
distinct customers with a line, credit note or charge in the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, Text, case, cast, func, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from ..billing.tables import credit_notes, invoice_lines, invoices
from ..catalog.tables import plans
from ..ledger.tables import accounts, entities, journal_entries, postings
from ..sessions.tables import radius_sessions
from ..subscribers.tables import customers, resellers, services
from .window import Window

NO_PLAN = ("-", "No plan (lines without a service)")
DIRECT = ("(direct)", "The ISP's own customers")
CHARGE_KEYS = "session:%:charge:%"  # charge_entry's idempotency keys (platform.sessions.control)
AMOUNT_USED, USAGE_REVENUE, TAX_PAYABLE = "9000", "4000", "2100"
FIGURES = ("inv_net", "inv_tax", "inv_gross", "cn_net", "cn_tax", "cn_gross", "pp_net", "pp_tax", "pp_gross")


class GroupBy(StrEnum):
    PLAN = "plan"
    RESELLER = "reseller"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Triple:
    """Net, tax and gross micro-units of one kind of figure."""

    net: int
    tax: int
    gross: int

    def __add__(self, other: Triple) -> Triple:
        return Triple(self.net + other.net, self.tax + other.tax, self.gross + other.gross)

    def __sub__(self, other: Triple) -> Triple:
        return Triple(self.net - other.net, self.tax - other.tax, self.gross - other.gross)


@dataclass(frozen=True, slots=True)
class RevenueRow:
    """One row of the report; `key` and `label` are None on a currency's total."""

    currency: str
    key: str | None
    label: str | None
    invoiced: Triple
    credited: Triple
    prepaid: Triple
    customers: int

    @property
    def revenue(self) -> Triple:
        return self.invoiced - self.credited + self.prepaid


@dataclass(frozen=True, slots=True)
class RevenueReport:
    """Per currency: the rows by key, and the total (customers counted once over all rows)."""

    rows: dict[str, list[RevenueRow]]
    totals: dict[str, RevenueRow]


def _zeros(*names: str) -> list[Any]:
    return [literal(0, BigInteger).label(name) for name in names]


def _month(value: Any) -> Any:
    return func.to_char(value, "YYYY-MM")


def _invoiced(span: Window) -> Select[Any]:
    return (
        select(
            invoices.c.currency,
            invoices.c.customer_id,
            services.c.plan_id,
            _month(invoices.c.period_start).label("month"),
            invoice_lines.c.net_micros.label("inv_net"),
            invoice_lines.c.tax_micros.label("inv_tax"),
            invoice_lines.c.gross_micros.label("inv_gross"),
            *_zeros(*FIGURES[3:]),
        )
        .select_from(invoice_lines.join(invoices, invoices.c.id == invoice_lines.c.invoice_id))
        .outerjoin(services, services.c.id == invoice_lines.c.service_id)
        .where(invoices.c.period_start >= span.start, invoices.c.period_start < span.end)
    )


def _credited(span: Window) -> Select[Any]:
    line = (invoice_lines.c.invoice_id == credit_notes.c.invoice_id) & (
        invoice_lines.c.position == credit_notes.c.line_position
    )
    return (
        select(
            invoices.c.currency,
            invoices.c.customer_id,
            services.c.plan_id,
            _month(invoices.c.period_start).label("month"),
            *_zeros(*FIGURES[:3]),
            credit_notes.c.net_micros.label("cn_net"),
            credit_notes.c.tax_micros.label("cn_tax"),
            credit_notes.c.gross_micros.label("cn_gross"),
            *_zeros(*FIGURES[6:]),
        )
        .select_from(credit_notes.join(invoices, invoices.c.id == credit_notes.c.invoice_id).join(invoice_lines, line))
        .outerjoin(services, services.c.id == invoice_lines.c.service_id)
        .where(invoices.c.period_start >= span.start, invoices.c.period_start < span.end)
    )


def _prepaid(span: Window) -> Select[Any]:
    def part(code: str, sign: int) -> Any:
        return func.sum(case((accounts.c.code == code, postings.c.amount * sign), else_=0))

    charges = (
        select(
            journal_entries.c.idempotency_key.label("key"),
            journal_entries.c.posted_at,
            func.max(postings.c.unit).label("currency"),
            func.max(case((accounts.c.code == AMOUNT_USED, accounts.c.entity_id))).label("entity_id"),
            part(USAGE_REVENUE, -1).label("pp_net"),
            part(TAX_PAYABLE, -1).label("pp_tax"),
            part(AMOUNT_USED, 1).label("pp_gross"),
        )
        .select_from(
            journal_entries.join(postings, postings.c.entry_id == journal_entries.c.id).join(
                accounts, accounts.c.id == postings.c.account_id
            )
        )
        .where(
            journal_entries.c.posted_at >= span.start_at,
            journal_entries.c.posted_at < span.end_at,
            journal_entries.c.idempotency_key.like(CHARGE_KEYS),
            accounts.c.code.in_((AMOUNT_USED, USAGE_REVENUE, TAX_PAYABLE)),
        )
        .group_by(journal_entries.c.id)
        .subquery("charges")
    )
    session_id = cast(func.split_part(charges.c.key, ":", 2), BigInteger)
    return (
        select(
            charges.c.currency,
            customers.c.id.label("customer_id"),
            radius_sessions.c.plan_id,
            _month(func.timezone("UTC", charges.c.posted_at)).label("month"),
            *_zeros(*FIGURES[:6]),
            charges.c.pp_net,
            charges.c.pp_tax,
            charges.c.pp_gross,
        )
        .select_from(charges.join(customers, customers.c.entity_id == charges.c.entity_id))
        .outerjoin(radius_sessions, radius_sessions.c.id == session_id)
    )


def _keyed(span: Window, group_by: GroupBy, within: frozenset[int] | None) -> Any:
    """Every figure with its row key and label, narrowed to the customers of `within`."""
    parts = union_all(_invoiced(span), _credited(span), _prepaid(span)).subquery("parts")
    seller = resellers.join(entities, entities.c.id == resellers.c.entity_id)
    key: ColumnElement[Any]
    label: ColumnElement[Any]
    if group_by is GroupBy.PLAN:
        key = func.coalesce(plans.c.code, literal(NO_PLAN[0], Text))
        label = func.coalesce(plans.c.name, literal(NO_PLAN[1], Text))
    elif group_by is GroupBy.RESELLER:
        key = func.coalesce(entities.c.code, literal(DIRECT[0], Text))
        label = func.coalesce(entities.c.name, literal(DIRECT[1], Text))
    else:
        key = label = parts.c.month
    source = parts.join(customers, customers.c.id == parts.c.customer_id)
    if group_by is GroupBy.PLAN:
        source = source.outerjoin(plans, plans.c.id == parts.c.plan_id)
    elif group_by is GroupBy.RESELLER:
        source = source.outerjoin(seller, resellers.c.id == customers.c.reseller_id)
    query = select(
        parts.c.currency,
        parts.c.customer_id,
        key.label("key"),
        label.label("label"),
        *[parts.c[name] for name in FIGURES],
    ).select_from(source)
    if within is not None:
        query = query.where(customers.c.reseller_id.in_(sorted(within)))
    return query.subquery("keyed")


async def revenue_report(
    conn: AsyncConnection, span: Window, group_by: GroupBy, *, within: frozenset[int] | None = None
) -> RevenueReport:
    """The report over `span` (see the module docstring); `within`: only customers of
    these resellers (a reseller key's subtree), None for the whole tenant."""
    keyed = _keyed(span, group_by, within)
    sets = func.grouping_sets(tuple_(keyed.c.currency, keyed.c.key, keyed.c.label), tuple_(keyed.c.currency))
    query = (
        select(
            keyed.c.currency,
            keyed.c.key,
            keyed.c.label,
            func.grouping(keyed.c.key).label("is_total"),
            func.count(keyed.c.customer_id.distinct()).label("customers"),
            *[func.sum(keyed.c[name]).label(name) for name in FIGURES],
        )
        .group_by(sets)
        .order_by(keyed.c.currency, keyed.c.key)
    )
    rows: dict[str, list[RevenueRow]] = {}
    totals: dict[str, RevenueRow] = {}
    for row in await conn.execute(query):
        figures: Sequence[int] = [int(row._mapping[name]) for name in FIGURES]
        found = RevenueRow(
            currency=row.currency,
            key=None if row.is_total else row.key,
            label=None if row.is_total else row.label,
            invoiced=Triple(*figures[0:3]),
            credited=Triple(*figures[3:6]),
            prepaid=Triple(*figures[6:9]),
            customers=row.customers,
        )
        if row.is_total:
            totals[row.currency] = found
        else:
            rows.setdefault(row.currency, []).append(found)
    return RevenueReport(rows=rows, totals=totals)
