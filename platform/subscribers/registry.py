"""The installation-wide realm registry: realm → tenant, reseller (DESIGN.md §3).

`bureau_shared.realms` (migration s0002) names, for every realm of every tenant, the
tenant that owns it and the reseller's code (NULL: the ISP itself), so that the RADIUS
proxy can route "user@realm" to one tenant schema without scanning tenants. A realm
belongs to exactly one ISP or reseller in the whole installation.

`resellers.add_realm` writes the registry row in the same transaction as the tenant's
own `realms` row; the routing lookup is `bureau.tenants.realms.route_realm`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Table, Text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.columns import created_at
from ..db.schema import SHARED, shared_metadata
from ..db.unit import tenant_id_of

realm_registry = Table(
    "realms",
    shared_metadata,
    Column("realm", Text, primary_key=True),
    Column("tenant_id", BigInteger, ForeignKey(f"{SHARED}.tenants.id"), nullable=False),
    Column("reseller_code", Text),  # the reseller's entity code; NULL: the ISP itself
    created_at(),
    CheckConstraint("realm = lower(realm)", name="lower"),
)


async def register_realm(conn: AsyncConnection, realm: str, reseller_code: str | None) -> bool:
    """Claim `realm` (already checked and lower-cased) for the connection's tenant.

    False if the realm is already registered, by this tenant or another. Two tenants
    racing for one realm get one winner: the loser's insert waits for the winner's
    transaction and then does nothing.
    """
    row = (
        await conn.execute(
            pg_insert(realm_registry)
            .values(realm=realm, tenant_id=tenant_id_of(conn), reseller_code=reseller_code)
            .on_conflict_do_nothing(index_elements=["realm"])
            .returning(realm_registry.c.realm)
        )
    ).first()
    return row is not None
