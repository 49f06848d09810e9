"""Average revenue per user: a window's net revenue over the customers who produced it.

Per currency: the net revenue of `revenue.revenue_report` (invoiced less credited plus
prepaid usage, tax excluded) divided by the distinct customers with any invoice line,
credit note or prepaid charge in the window ("billed customers"; a customer with only a
session and no charge is not counted). The division is rounded half-even to a whole
micro-unit (`money.divide_half_even`, Bureau's one rounding rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from ..money import divide_half_even
from .revenue import GroupBy, revenue_report
from .window import Window


@dataclass(frozen=True, slots=True)
class Arpu:
    currency: str
    revenue_micros: int
    customers: int
    arpu_micros: int


def arpu_of(currency: str, revenue_micros: int, customers: int) -> Arpu:
    """The pure rule: half-even division; 0 for no customers."""
    average = divide_half_even(revenue_micros, customers) if customers else 0
    return Arpu(currency, revenue_micros, customers, average)


async def arpu(conn: AsyncConnection, span: Window, *, within: frozenset[int] | None = None) -> list[Arpu]:
    """ARPU per currency over `span` (module docstring); one query (the revenue totals)."""
    report = await revenue_report(conn, span, GroupBy.MONTH, within=within)
    return [arpu_of(currency, total.revenue.net, total.customers) for currency, total in sorted(report.totals.items())]
