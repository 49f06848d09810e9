"""Who may call what: strawberry permission classes, each with the message it refuses with."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from bureau.tenants.apikeys import Role, Scope

from .context import Context

KEY_REQUIRED = "an API key is required: send Authorization: Bearer <key>"


def _context(info: Info[Any, Any]) -> Context:
    context: Context = info.context
    return context


class IsOperator(BasePermission):
    message = "this needs an operator key (Authorization: Bearer <key>)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _context(info).principal
        return principal is not None and principal.scope is Scope.OPERATOR


class InTenant(BasePermission):
    """An ISP or reseller key: reads in its own tenant (or reseller)."""

    message = "this needs an ISP or reseller key (Authorization: Bearer <key>); operator keys administer tenants"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _context(info).principal
        return principal is not None and principal.tenant is not None


class CanManageCustomers(BasePermission):
    """Customers and services change: ISP admin and customer care, and reseller keys (for their own)."""

    message = "this needs an ISP or reseller key with the admin or care role (Authorization: Bearer <key>)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _context(info).principal
        return principal is not None and principal.tenant is not None and principal.role in (Role.ADMIN, Role.CARE)


class IsAuthenticated(BasePermission):
    message = KEY_REQUIRED

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _context(info).principal is not None


class CanHandleMoney(BasePermission):
    """Payments and top-ups: ISP admin and finance, and reseller keys (for their own customers)."""

    message = "this needs an ISP or reseller key with the admin or finance role (Authorization: Bearer <key>)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _context(info).principal
        return principal is not None and principal.tenant is not None and principal.role in (Role.ADMIN, Role.FINANCE)


class IsIspAdmin(BasePermission):
    """The tenant's catalog, resellers and keys: an ISP key with the admin role."""

    message = "this needs an ISP key with the admin role (Authorization: Bearer <key>)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _context(info).principal
        return principal is not None and principal.scope is Scope.ISP and principal.role is Role.ADMIN


class IsIspStaff(BasePermission):
    """Reads of the whole tenant (catalog, journal, reports): any ISP key, any role."""

    message = "this needs an ISP key (Authorization: Bearer <key>)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _context(info).principal
        return principal is not None and principal.scope is Scope.ISP


class IsIspFinance(BasePermission):
    """Voids: an ISP key with the admin or finance role (never a reseller key)."""

    message = "this needs an ISP key with the admin or finance role (Authorization: Bearer <key>)"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _context(info).principal
        return principal is not None and principal.scope is Scope.ISP and principal.role in (Role.ADMIN, Role.FINANCE)
