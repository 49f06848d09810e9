"""Operator mutations: create, suspend and resume tenants."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.tenants import lifecycle

from ..errors import NotFound, ValidationError, refusal
from ..permissions import IsOperator
from .types import Tenant

TenantChange = Annotated[Tenant | NotFound | ValidationError, strawberry.union("TenantChange")]


@strawberry.input
class CreateTenantInput:
    slug: str
    name: str
    currency: str = "USD"
    time_zone: str = "UTC"


@strawberry.type
class OperatorMutations:
    @strawberry.mutation(permission_classes=[IsOperator], description="A new tenant: schema, migrations, books.")
    async def create_tenant(self, info: Info[Any, Any], input: CreateTenantInput) -> TenantChange:
        try:
            made = await lifecycle.create_tenant(
                info.context.engine,
                input.slug,
                name=input.name,
                currency=input.currency,
                time_zone=input.time_zone,
                actor=info.context.caller.actor,
            )
        except lifecycle.TenantError as exc:
            return refusal(exc, given=input)
        return Tenant.of(made)

    @strawberry.mutation(permission_classes=[IsOperator], description="Refuse the tenant's logins and API keys.")
    async def suspend_tenant(self, info: Info[Any, Any], slug: str) -> TenantChange:
        try:
            return Tenant.of(await lifecycle.suspend_tenant(info.context.engine, slug, actor=info.context.caller.actor))
        except lifecycle.TenantError as exc:
            return refusal(exc, given={"slug": slug})

    @strawberry.mutation(permission_classes=[IsOperator])
    async def resume_tenant(self, info: Info[Any, Any], slug: str) -> TenantChange:
        try:
            return Tenant.of(await lifecycle.resume_tenant(info.context.engine, slug, actor=info.context.caller.actor))
        except lifecycle.TenantError as exc:
            return refusal(exc, given={"slug": slug})
