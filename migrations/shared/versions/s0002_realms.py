"""Realm registry: realm → tenant, reseller (DESIGN.md §3), backfilled from the tenants.

Every realm of every tenant schema is copied in, with the code of the reseller that owns
it (NULL: the ISP itself). `bureau migrate` upgrades the shared schema before the tenant
schemas, so a tenant whose schema has no `realms` table yet (before t0003) is skipped: it
has no realms, and every realm it adds later goes through the registry. Should two
tenants already hold the same realm, the one that added it first keeps it in the
registry and the others are logged as a warning for an operator to resolve.

Revision ID: s0002
Revises: s0001
Create Date: 2026-11-24
"""

import logging
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bureau.tenants import routing

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None

SHARED = "bureau_shared"

log = logging.getLogger("bureau.migrate")  # not __name__: Alembic loads this file under a name of its own

_tenants = sa.table("tenants", sa.column("id"), sa.column("slug"), schema=SHARED)
_registry = sa.table(
    "realms", sa.column("realm"), sa.column("tenant_id"), sa.column("reseller_code"), sa.column("created_at"),
    schema=SHARED,
)  # fmt: skip


def _tenant_realms(schema: str) -> sa.Select[str, str | None, datetime]:
    """A tenant's realms with their reseller's code, in `schema` (named by routing)."""
    realms = sa.table("realms", sa.column("realm"), sa.column("reseller_id"), sa.column("created_at"), schema=schema)
    resellers = sa.table("resellers", sa.column("id"), sa.column("entity_id"), schema=schema)
    entities = sa.table("entities", sa.column("id"), sa.column("code"), schema=schema)
    return (
        sa.select(realms.c.realm, entities.c.code, realms.c.created_at)
        .select_from(realms)
        .outerjoin(resellers, resellers.c.id == realms.c.reseller_id)
        .outerjoin(entities, entities.c.id == resellers.c.entity_id)
    )


def upgrade() -> None:
    op.create_table(
        "realms",
        sa.Column("realm", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.BigInteger, sa.ForeignKey(f"{SHARED}.tenants.id"), nullable=False),
        sa.Column("reseller_code", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("realm = lower(realm)", name="ck_realms_lower"),
        schema=SHARED,
    )
    op.create_index("ix_realms_tenant_id", "realms", ["tenant_id"], schema=SHARED)
    backfill(op.get_bind())


def backfill(connection: sa.Connection) -> list[str]:
    """Register every tenant realm not registered yet; return the realms left out because
    another tenant holds them. Safe to run again: registered realms are left alone."""
    found: list[tuple[datetime, int, str, str, str | None]] = []
    for tenant_id, slug in connection.execute(sa.select(_tenants.c.id, _tenants.c.slug).order_by(_tenants.c.id)):
        schema = routing.schema_name(slug)
        has_realms = connection.scalar(
            sa.text("SELECT 1 FROM information_schema.tables WHERE table_schema = :schema AND table_name = 'realms'"),
            {"schema": schema},
        )
        if not has_realms:
            continue
        rows = connection.execute(_tenant_realms(schema))
        found.extend((created_at, tenant_id, slug, realm, code) for realm, code, created_at in rows)
    conflicts: list[str] = []
    for created_at, tenant_id, slug, realm, code in sorted(found):  # the first to add a realm keeps it
        claimed = connection.execute(
            pg_insert(_registry)
            .values(realm=realm, tenant_id=tenant_id, reseller_code=code, created_at=created_at)
            .on_conflict_do_nothing(index_elements=["realm"])
            .returning(_registry.c.realm)
        ).first()
        if claimed is None:
            holder = connection.scalar(sa.select(_registry.c.tenant_id).where(_registry.c.realm == realm))
            if holder != tenant_id:
                conflicts.append(realm)
                log.warning(
                    "realm %r of tenant %r is already registered to tenant id %s; it is left out of the realm "
                    "registry until an operator resolves the clash",
                    realm,
                    slug,
                    holder,
                )
    return conflicts


def downgrade() -> None:
    op.drop_table("realms", schema=SHARED)
