"""Service mutations: add, change state (activate, suspend, resume, cancel), change plan,
reset password. Names follow the service functions (`platform/subscribers/services.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.subscribers import services as domain

from ..customers.types import Service
from ..errors import EXPECTED, NotFound, PlanNotAllowed, ValidationError, failure
from ..permissions import CanManageCustomers
from ..scope import visible_customer, visible_service

ServiceResult = Annotated[Service | NotFound | ValidationError | PlanNotAllowed, strawberry.union("ServiceResult")]


@strawberry.input
class AddServiceInput:
    customer: str = strawberry.field(description="Customer number, code or login.")
    kind: str = strawberry.field(description="radius_login, mailbox, web, ftp, disk_quota or domain.")
    login: str
    plan: str = strawberry.field(description="The plan's code; one the customer's reseller may sell.")
    password: str | None = None
    quota_mb: int | None = None


@strawberry.type
class ServiceMutations:
    @strawberry.mutation(permission_classes=[CanManageCustomers], description="Add a pending service to a customer.")
    async def add_service(self, info: Info[Any, Any], input: AddServiceInput) -> ServiceResult:
        try:
            async with info.context.unit() as conn:
                owner = await visible_customer(info, conn, input.customer)
                made = await domain.add_service(
                    conn,
                    info.context.box,
                    customer=owner.number,
                    kind=input.kind,
                    login=input.login,
                    plan=input.plan,
                    password=input.password,
                    quota_mb=input.quota_mb,
                )
                return Service.of(made)
        except EXPECTED as exc:
            return failure(exc, given=input)

    @strawberry.mutation(
        permission_classes=[CanManageCustomers],
        description="pending → active, active ⇄ suspended, any → cancelled (final). Billing follows the change.",
    )
    async def change_service_state(
        self,
        info: Info[Any, Any],
        id: strawberry.ID,
        state: str,
        at: Annotated[
            datetime | None,
            strawberry.argument(
                description="When it took effect (default now): not in the future, not before the service's last"
                " change, not in a month already billed."
            ),
        ] = None,
    ) -> ServiceResult:
        try:
            async with info.context.unit() as conn:
                found = await visible_service(info, conn, id)
                return Service.of(await domain.change_service_state(conn, found.id, state, at=at))
        except EXPECTED as exc:
            return failure(exc, given={"state": state, "at": at.isoformat() if at else None})

    @strawberry.mutation(permission_classes=[CanManageCustomers], description="Move a service to another plan.")
    async def change_plan(self, info: Info[Any, Any], id: strawberry.ID, plan: str) -> ServiceResult:
        try:
            async with info.context.unit() as conn:
                found = await visible_service(info, conn, id)
                return Service.of(await domain.change_plan(conn, found.id, plan))
        except EXPECTED as exc:
            return failure(exc, given={"plan": plan})

    @strawberry.mutation(permission_classes=[CanManageCustomers], description="Replace a service's password.")
    async def reset_password(self, info: Info[Any, Any], id: strawberry.ID, password: str) -> ServiceResult:
        try:
            async with info.context.unit() as conn:
                found = await visible_service(info, conn, id)
                await domain.reset_password(conn, info.context.box, found.id, password)
                return Service.of(await domain.get_service(conn, found.id))
        except EXPECTED as exc:
            return failure(exc, given={"password": password})
