"""Operator queries: tenants, platform health; `me` for every key."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy import text
from strawberry.types import Info

import bureau
from bureau.tenants import lifecycle

from ..errors import NotFound
from ..permissions import IsAuthenticated, IsOperator
from .types import Health, Me, Tenant

TenantResult = Annotated[Tenant | NotFound, strawberry.union("TenantResult")]


@strawberry.type
class OperatorQueries:
    @strawberry.field(permission_classes=[IsOperator], description="Every tenant, by slug.")
    async def tenants(self, info: Info[Any, Any]) -> list[Tenant]:
        return [Tenant.of(t) for t in await lifecycle.list_tenants(info.context.engine)]

    @strawberry.field(permission_classes=[IsOperator])
    async def tenant(self, info: Info[Any, Any], slug: str) -> TenantResult:
        try:
            return Tenant.of(await lifecycle.get_tenant(info.context.engine, slug))
        except lifecycle.TenantNotFound as exc:
            return NotFound(message=str(exc))

    @strawberry.field(permission_classes=[IsOperator], description="Whether the platform's parts answer.")
    async def health(self, info: Info[Any, Any]) -> Health:
        async with info.context.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        count = len(await lifecycle.list_tenants(info.context.engine))
        return Health(database="ok", version=bureau.__version__, tenants=count)

    @strawberry.field(permission_classes=[IsAuthenticated], description="The key that calls, and its scope.")
    def me(self, info: Info[Any, Any]) -> Me:
        caller = info.context.caller
        return Me(
            key_id=caller.key_id,
            name=caller.name,
            scope=caller.scope.value,
            role=caller.role.value,
            tenant=caller.tenant.slug if caller.tenant else None,
        )
