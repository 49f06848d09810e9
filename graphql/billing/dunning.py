"""Dunning through the API: the steps, the customers in dunning and what was sent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from bureau.platform.billing import dunning
from bureau.platform.billing.dunning_policy import Action, Step
from bureau.platform.subscribers.customers import get_customer
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound

from ..context import Refused
from ..customers.types import Money
from ..errors import EXPECTED, FieldError, ValidationError, invalid
from ..permissions import IsIspAdmin, IsIspStaff
from ..scalars import BigInt


@strawberry.type(description="At so many days overdue, remind or suspend, once at least min is overdue.")
class DunningStep:
    days: int
    action: str
    min_overdue_micros: BigInt


@strawberry.type
class DunningCase:
    customer: str
    name: str
    level: int = strawberry.field(description="Days of the highest step taken.")
    suspended: bool
    opened_on: date
    days_overdue: int
    overdue: Money


@strawberry.type
class DunningEvent:
    customer: str
    action: str = strawberry.field(description="remind, suspend or restore")
    step_days: int | None
    on_date: date
    days_overdue: int
    overdue_micros: BigInt
    notice: JSON = strawberry.field(description="What the notice says: name, email, invoices, services.")


@strawberry.input
class DunningStepInput:
    days: int
    action: str
    min_overdue_micros: BigInt = BigInt(0)


@strawberry.type
class DunningSteps:
    steps: list[DunningStep]


StepsResult = Annotated[DunningSteps | ValidationError, strawberry.union("StepsResult")]


def _steps(found: tuple[Step, ...]) -> DunningSteps:
    return DunningSteps(
        steps=[
            DunningStep(days=s.days, action=s.action.value, min_overdue_micros=BigInt(s.min_overdue_micros))
            for s in found
        ]
    )


@strawberry.type
class DunningQueries:
    @strawberry.field(permission_classes=[IsIspStaff])
    async def dunning_steps(self, info: Info[Any, Any]) -> DunningSteps:
        async with info.context.unit() as conn:
            return _steps(await dunning.steps_of(conn))

    @strawberry.field(permission_classes=[IsIspStaff], description="Customers in dunning, furthest along first.")
    async def dunning_cases(self, info: Info[Any, Any], limit: int = 100) -> list[DunningCase]:
        if not 1 <= limit <= dunning.MAX_LISTED:
            raise Refused(f"limit must be from 1 to {dunning.MAX_LISTED}")
        async with info.context.unit() as conn:
            currency = info.context.currency
            cases = await dunning.open_cases(conn, datetime.now(UTC).date(), limit=limit)
        return [
            DunningCase(
                customer=c.customer,
                name=c.name,
                level=c.level,
                suspended=c.suspended,
                opened_on=c.opened_on,
                days_overdue=c.overdue.days,
                overdue=Money.of(c.overdue.micros, currency),
            )
            for c in cases
        ]

    @strawberry.field(
        permission_classes=[IsIspStaff], description="Reminders, suspensions, restorations; newest first."
    )
    async def dunning_events(
        self, info: Info[Any, Any], customer: str | None = None, limit: int = 100
    ) -> list[DunningEvent]:
        if not 1 <= limit <= dunning.MAX_LISTED:
            raise Refused(f"limit must be from 1 to {dunning.MAX_LISTED}")
        async with info.context.unit() as conn:
            try:
                owner = await get_customer(conn, customer) if customer is not None else None
            except SubscriberNotFound:
                return []
            found = await dunning.events_of(conn, customer_id=owner.id if owner else None, limit=limit)
        return [
            DunningEvent(
                customer=e.customer,
                action=e.action,
                step_days=e.step_days,
                on_date=e.on_date,
                days_overdue=e.days_overdue,
                overdue_micros=BigInt(e.overdue_micros),
                notice=cast(JSON, e.document),
            )
            for e in found
        ]


@strawberry.type
class DunningMutations:
    @strawberry.mutation(
        permission_classes=[IsIspAdmin], description="Replace the dunning steps; [] turns dunning off."
    )
    async def set_dunning_steps(self, info: Info[Any, Any], steps: list[DunningStepInput]) -> StepsResult:
        for index, step in enumerate(steps):
            if step.action not in {a.value for a in Action}:
                message = f"a step's action must be remind or suspend, got {step.action!r}"
                return ValidationError(
                    message=message, fields=[FieldError(path=["steps", str(index), "action"], message=message)]
                )
        wanted = [Step(s.days, Action(s.action), s.min_overdue_micros) for s in steps]
        try:
            async with info.context.unit() as conn:
                return _steps(await dunning.set_steps(conn, wanted))
        except EXPECTED as exc:
            return invalid(exc, given={"steps": steps})
