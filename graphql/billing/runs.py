"""Bill runs through the API: their progress, and asking a worker to bill a closed month."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.types import Info

from bureau.platform.billing.errors import BillingError
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import MAX_LISTED_RUNS, BillRunState, bill_run_states, queue_bill_run
from bureau.tenants.apikeys import Role, Scope

from ..context import Refused
from ..errors import FieldError, ValidationError
from ..permissions import IsIspStaff


class RunsBilling(BasePermission):
    message = "this needs an ISP key with the admin or finance role (Authorization: Bearer <key>)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal is not None and principal.scope is Scope.ISP and principal.role in (Role.ADMIN, Role.FINANCE)


@strawberry.type
class BillRun:
    period: str
    status: str = strawberry.field(description="running or finished")
    started_at: datetime
    finished_at: datetime | None
    passes: int = strawberry.field(description="How many times it was started (more than one: resumed).")
    invoices: int
    skipped: int = strawberry.field(description="Customers refused (e.g. a prepaid balance short of the invoice).")

    @classmethod
    def of(cls, run: BillRunState) -> BillRun:
        return cls(
            period=run.period,
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
            passes=run.passes,
            invoices=run.invoices,
            skipped=run.skipped,
        )


@strawberry.type(description="The month is queued for a worker; follow it with billRuns.")
class BillRunQueued:
    period: str


QueueResult = Annotated[BillRunQueued | ValidationError, strawberry.union("QueueBillRunResult")]


@strawberry.type
class BillRunQueries:
    @strawberry.field(permission_classes=[IsIspStaff], description="Bill runs, newest month first.")
    async def bill_runs(self, info: Info[Any, Any], limit: int = 24) -> list[BillRun]:
        if not 1 <= limit <= MAX_LISTED_RUNS:
            raise Refused(f"limit must be from 1 to {MAX_LISTED_RUNS}")
        async with info.context.unit() as conn:
            return [BillRun.of(r) for r in await bill_run_states(conn, limit=limit)]


@strawberry.type
class BillRunMutations:
    @strawberry.mutation(
        permission_classes=[RunsBilling],
        description="Bill a closed month (YYYY-MM) in the background; safe to ask twice, it issues nothing twice.",
    )
    async def start_bill_run(self, info: Info[Any, Any], period: str) -> QueueResult:
        try:
            month = parse_period(period)
            async with info.context.unit() as conn:
                await queue_bill_run(conn, month, datetime.now(UTC))
        except BillingError as exc:  # a malformed month, or one not over yet
            return ValidationError(message=str(exc), fields=[FieldError(path=["period"], message=str(exc))])
        return BillRunQueued(period=month.name)
