"""Business reports: revenue, receivables aging, active sessions, ARPU.

Any ISP key reads the whole tenant; a reseller key reads figures over the customers of its
own reseller and those below it only (`context.resellers`), never the tenant's totals.
Wrong arguments are a ValidationError naming the argument (`["from"]`, `["to"]`, `["top"]`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.reports.activity import active_sessions
from bureau.platform.reports.aging import receivables_aging
from bureau.platform.reports.arpu import arpu
from bureau.platform.reports.revenue import GroupBy, revenue_report
from bureau.platform.reports.window import InvalidReport, window

from ..errors import FieldError, ValidationError
from ..permissions import InTenant
from .types import (
    ActiveSessionsReport,
    AgingByCurrency,
    ArpuFigure,
    ArpuReport,
    ReceivablesAging,
    RevenueGroupBy,
    RevenueReport,
)

RevenueReportResult = Annotated[RevenueReport | ValidationError, strawberry.union("RevenueReportResult")]
ReceivablesAgingResult = Annotated[ReceivablesAging | ValidationError, strawberry.union("ReceivablesAgingResult")]
ArpuResult = Annotated[ArpuReport | ValidationError, strawberry.union("ArpuResult")]
FROM = strawberry.argument(name="from", description="The first day counted (UTC).")
TO = strawberry.argument(description="The first day not counted; at most 366 days after from.")


def invalid(exc: InvalidReport) -> ValidationError:
    return ValidationError(message=str(exc), fields=[FieldError(path=[exc.field], message=str(exc))])


@strawberry.type
class ReportsQueries:
    @strawberry.field(
        permission_classes=[InTenant],
        description="Revenue over [from, to) by plan, reseller or month, per currency (see docs/api.md, Reports).",
    )
    async def revenue_report(
        self,
        info: Info[Any, Any],
        from_: Annotated[date, FROM],
        to: Annotated[date, TO],
        group_by: RevenueGroupBy,
    ) -> RevenueReportResult:
        try:
            span = window(from_, to)
        except InvalidReport as exc:
            return invalid(exc)
        async with info.context.unit() as conn:
            within = await info.context.resellers(conn)
            report = await revenue_report(conn, span, GroupBy(group_by.value), within=within)
        return RevenueReport.of(from_, to, group_by, report)

    @strawberry.field(
        permission_classes=[InTenant],
        description="Open invoice amounts by days overdue at asOf, per currency, with the top debtors.",
    )
    async def receivables_aging(
        self,
        info: Info[Any, Any],
        as_of: date,
        top: Annotated[int, strawberry.argument(description="How many largest debtors to list (0 to 50).")] = 0,
    ) -> ReceivablesAgingResult:
        try:
            async with info.context.unit() as conn:
                found = await receivables_aging(conn, as_of, top=top, within=await info.context.resellers(conn))
        except InvalidReport as exc:
            return invalid(exc)
        return ReceivablesAging(as_of=as_of, currencies=[AgingByCurrency.of(c) for c in found])

    @strawberry.field(permission_classes=[InTenant], description="Live RADIUS sessions now, by NAS and by plan.")
    async def active_sessions_report(self, info: Info[Any, Any]) -> ActiveSessionsReport:
        async with info.context.unit() as conn:
            found = await active_sessions(conn, within=await info.context.resellers(conn))
        return ActiveSessionsReport.of(found)

    @strawberry.field(
        permission_classes=[InTenant],
        description="Net revenue per billed customer over [from, to), per currency, rounded half-even.",
    )
    async def arpu(self, info: Info[Any, Any], from_: Annotated[date, FROM], to: Annotated[date, TO]) -> ArpuResult:
        try:
            span = window(from_, to)
        except InvalidReport as exc:
            return invalid(exc)
        async with info.context.unit() as conn:
            found = await arpu(conn, span, within=await info.context.resellers(conn))
        return ArpuReport(from_=from_, to=to, currencies=[ArpuFigure.of(f) for f in found])
