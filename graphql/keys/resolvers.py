"""API keys through the API: the operator for any tenant, an ISP admin for its own tenant."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.types import Info

from bureau.tenants import apikeys, lifecycle
from bureau.tenants.apikeys import Principal, Role, Scope

from ..context import Context, Refused
from ..errors import NotFound, ValidationError, refusal
from .types import ApiKey, NewApiKey

NewKeyResult = Annotated[NewApiKey | ValidationError | NotFound, strawberry.union("NewKeyResult")]
RevokeResult = Annotated[ApiKey | NotFound, strawberry.union("RevokeResult")]


class ManagesKeys(BasePermission):
    message = "this needs an operator key or an ISP key with the admin role (Authorization: Bearer <key>)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal: Principal | None = info.context.principal
        return principal is not None and (
            principal.scope is Scope.OPERATOR or (principal.scope is Scope.ISP and principal.role is Role.ADMIN)
        )


def _own_tenant(context: Context, wanted: str | None) -> str | None:
    """The tenant a key request is about: any for the operator, its own for an ISP admin."""
    caller = context.caller
    if caller.scope is Scope.OPERATOR:
        return wanted
    own = caller.tenant.slug if caller.tenant else None
    if wanted is not None and wanted != own:
        raise Refused("an ISP key manages the keys of its own tenant only")
    return own


@strawberry.input
class CreateApiKeyInput:
    name: str
    scope: str = strawberry.field(description="operator, isp or reseller")
    role: str = "admin"
    tenant: str | None = strawberry.field(default=None, description="An ISP admin's own tenant by default.")
    reseller: str | None = None


@strawberry.type
class KeyQueries:
    @strawberry.field(permission_classes=[ManagesKeys], description="Keys, newest first (never their secrets).")
    async def api_keys(self, info: Info[Any, Any], tenant: str | None = None) -> list[ApiKey]:
        chosen = _own_tenant(info.context, tenant)
        try:
            found = await apikeys.list_api_keys(info.context.engine, tenant=chosen)
        except lifecycle.TenantNotFound:
            return []
        return [ApiKey.of(k) for k in found]


@strawberry.type
class KeyMutations:
    @strawberry.mutation(permission_classes=[ManagesKeys], description="Make a key; its token is in the answer only.")
    async def create_api_key(self, info: Info[Any, Any], input: CreateApiKeyInput) -> NewKeyResult:
        context = info.context
        tenant = _own_tenant(context, input.tenant)
        if context.caller.scope is not Scope.OPERATOR and input.scope == Scope.OPERATOR.value:
            raise Refused("only the operator makes operator keys")
        try:
            made = await apikeys.create_api_key(
                context.engine,
                name=input.name,
                scope=input.scope,
                role=input.role,
                tenant=tenant,
                reseller=input.reseller,
                actor=context.caller.actor,
            )
        except (apikeys.ApiKeyError, lifecycle.TenantError) as exc:
            return refusal(exc, given=input)
        return NewApiKey(key=ApiKey.of(made.key), token=made.token)

    @strawberry.mutation(permission_classes=[ManagesKeys], description="Revoke a key; it is refused from now on.")
    async def revoke_api_key(self, info: Info[Any, Any], key_id: str) -> RevokeResult:
        context = info.context
        tenant = None if context.caller.scope is Scope.OPERATOR else _own_tenant(context, None)
        try:
            return ApiKey.of(
                await apikeys.revoke_api_key(context.engine, key_id, actor=context.caller.actor, tenant=tenant)
            )
        except apikeys.ApiKeyError as exc:
            return NotFound(message=str(exc))
