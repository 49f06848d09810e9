"""Routing a RADIUS user name ("user@realm") to its tenant through the realm registry.

The registry (`bureau_shared.realms`, see `bureau.platform.subscribers.registry`) maps
each realm of the installation to one tenant and, for a reseller's realm, the reseller's
code. One indexed lookup answers which tenant schema a login belongs to; no tenant is
scanned. Realms match case-insensitively ("Demo.Example" is "demo.example").

    route = await route_login(engine, "alice@Demo.Example")
    if route is not None and route.tenant_status == "active":
        async with routing.tenant_unit(engine, route.tenant) as conn: ...
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.subscribers.registry import realm_registry

from .routing import TenantRef
from .tables import tenants


@dataclass(frozen=True, slots=True)
class RealmRoute:
    """Where a realm lives: its tenant (for `routing.tenant_unit`), that tenant's status
    ("active" or "suspended") and the owning reseller's code (None: the ISP itself)."""

    realm: str
    tenant: TenantRef
    tenant_status: str
    reseller_code: str | None


def split_login(login: str) -> tuple[str, str | None]:
    """Split "user@realm" at the last "@" into the user and the lower-cased realm.

    The realm is None when there is none ("alice", "alice@"): such a login cannot be
    routed by realm.
    """
    user, at, realm = login.rpartition("@")
    if not at:
        return login, None
    return user, realm.lower() or None


async def route_realm(engine: AsyncEngine, realm: str) -> RealmRoute | None:
    """The tenant and reseller that own `realm` (any case), or None if no tenant has it."""
    query = (
        select(realm_registry.c.realm, realm_registry.c.reseller_code, tenants.c.id, tenants.c.slug, tenants.c.status)
        .join(tenants, tenants.c.id == realm_registry.c.tenant_id)
        .where(realm_registry.c.realm == realm.lower())
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    return RealmRoute(row.realm, TenantRef(row.id, row.slug), row.status, row.reseller_code)


async def route_login(engine: AsyncEngine, login: str) -> RealmRoute | None:
    """Route "user@realm" by its realm; None if it has no realm or the realm is unknown."""
    _, realm = split_login(login)
    return None if realm is None else await route_realm(engine, realm)
