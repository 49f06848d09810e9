"""Reports as the API shows them (built from the platform's report values)."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from bureau.platform.reports import activity, aging, revenue
from bureau.platform.reports.arpu import Arpu as DomainArpu

from ..customers.types import Money


@strawberry.enum(description="What the revenue report's rows are.")
class RevenueGroupBy(Enum):
    PLAN = "plan"
    RESELLER = "reseller"
    MONTH = "month"


@strawberry.type(description="Revenue of one row (or a currency's total): invoiced - credit notes + prepaid usage.")
class RevenueRow:
    key: str | None = strawberry.field(description="Plan code, reseller code or YYYY-MM; null on the total.")
    label: str | None
    net: Money = strawberry.field(description="Revenue without tax: invoicedNet - creditNotes + prepaidUsage.")
    tax: Money = strawberry.field(description="Tax on it, credit notes' tax deducted.")
    gross: Money = strawberry.field(description="net + tax.")
    invoiced_net: Money = strawberry.field(description="Net of invoice lines of invoices whose period is in range.")
    credit_notes: Money = strawberry.field(description="Net taken back by credit notes on those invoices.")
    prepaid_usage: Money = strawberry.field(description="Net charged to prepaid sessions, by posting date (UTC).")
    customers: int = strawberry.field(description="Distinct customers with a figure in the row.")

    @classmethod
    def of(cls, row: revenue.RevenueRow) -> RevenueRow:
        total, cur = row.revenue, row.currency
        return cls(
            key=row.key,
            label=row.label,
            net=Money.of(total.net, cur),
            tax=Money.of(total.tax, cur),
            gross=Money.of(total.gross, cur),
            invoiced_net=Money.of(row.invoiced.net, cur),
            credit_notes=Money.of(row.credited.net, cur),
            prepaid_usage=Money.of(row.prepaid.net, cur),
            customers=row.customers,
        )


@strawberry.type(description="The revenue report of one currency.")
class RevenueByCurrency:
    currency: str
    rows: list[RevenueRow]
    total: RevenueRow


@strawberry.type(description="Revenue over [from, to) by plan, reseller or month, per currency.")
class RevenueReport:
    from_: date = strawberry.field(name="from", description="The first day counted.")
    to: date = strawberry.field(description="The first day not counted.")
    group_by: RevenueGroupBy
    currencies: list[RevenueByCurrency]

    @classmethod
    def of(cls, start: date, end: date, group_by: RevenueGroupBy, report: revenue.RevenueReport) -> RevenueReport:
        return cls(
            from_=start,
            to=end,
            group_by=group_by,
            currencies=[
                RevenueByCurrency(
                    currency=currency,
                    rows=[RevenueRow.of(row) for row in report.rows.get(currency, [])],
                    total=RevenueRow.of(total),
                )
                for currency, total in sorted(report.totals.items())
            ],
        )


@strawberry.type(description="Open invoice amounts in one aging bucket (or all of them: name 'total').")
class AgingBucket:
    name: str = strawberry.field(description="current (not yet due), 1-30, 31-60, 61-90, over-90 days overdue.")
    open: Money
    invoices: int
    customers: int

    @classmethod
    def of(cls, bucket: aging.AgingBucket, currency: str) -> AgingBucket:
        return cls(
            name=bucket.name,
            open=Money.of(bucket.open_micros, currency),
            invoices=bucket.invoices,
            customers=bucket.customers,
        )


@strawberry.type(description="A customer with open invoices, among the largest.")
class Debtor:
    customer: str = strawberry.field(description="The customer's number.")
    name: str
    open: Money
    oldest_due: date


@strawberry.type(description="Receivables of one currency by age.")
class AgingByCurrency:
    currency: str
    buckets: list[AgingBucket]
    total: AgingBucket
    top_debtors: list[Debtor]

    @classmethod
    def of(cls, found: aging.CurrencyAging) -> AgingByCurrency:
        cur = found.currency
        return cls(
            currency=cur,
            buckets=[AgingBucket.of(bucket, cur) for bucket in found.buckets],
            total=AgingBucket.of(found.total, cur),
            top_debtors=[
                Debtor(
                    customer=d.customer_number, name=d.name, open=Money.of(d.open_micros, cur), oldest_due=d.oldest_due
                )
                for d in found.debtors
            ],
        )


@strawberry.type(description="Open invoice amounts (gross - payments - credit notes) by days overdue at asOf.")
class ReceivablesAging:
    as_of: date
    currencies: list[AgingByCurrency]


@strawberry.type(description="Live sessions of one NAS or one plan.")
class SessionCount:
    key: str = strawberry.field(description="The NAS id or the plan code.")
    label: str
    sessions: int

    @classmethod
    def of(cls, count: activity.SessionCount) -> SessionCount:
        return cls(key=count.key, label=count.label, sessions=count.sessions)


@strawberry.type(description="Live RADIUS sessions (authorized or open) now.")
class ActiveSessionsReport:
    total: int
    by_nas: list[SessionCount]
    by_plan: list[SessionCount]

    @classmethod
    def of(cls, found: activity.ActiveSessions) -> ActiveSessionsReport:
        return cls(
            total=found.total,
            by_nas=[SessionCount.of(c) for c in found.by_nas],
            by_plan=[SessionCount.of(c) for c in found.by_plan],
        )


@strawberry.type(description="Average net revenue per billed customer in one currency.")
class ArpuFigure:
    currency: str
    revenue: Money = strawberry.field(description="Net revenue, as revenueReport's total net.")
    customers: int = strawberry.field(description="Distinct customers with revenue in the window.")
    arpu: Money = strawberry.field(description="revenue / customers, rounded half-even to a micro-unit.")

    @classmethod
    def of(cls, found: DomainArpu) -> ArpuFigure:
        cur = found.currency
        return cls(
            currency=cur,
            revenue=Money.of(found.revenue_micros, cur),
            customers=found.customers,
            arpu=Money.of(found.arpu_micros, cur),
        )


@strawberry.type(description="ARPU over [from, to), per currency.")
class ArpuReport:
    from_: date = strawberry.field(name="from")
    to: date
    currencies: list[ArpuFigure]
