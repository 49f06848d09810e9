"""Tenant lifecycle: create, list, show, suspend, resume.

Creating a tenant is one transaction: the registry row, the schema, its migrations,
and the ISP entity with its chart of accounts either all exist afterwards or none do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform import money, scheduling
from bureau.platform.audit import log as audit
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.entities import create_entity

from . import migrate, routing
from .tables import tenants

MAX_NAME_LENGTH = 200
ISP_ENTITY_CODE = "isp"
STATUSES = ("active", "suspended")


class TenantError(ValueError):
    """A tenant operation that cannot be done, with the reason."""


class TenantNotFound(TenantError):
    pass


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    slug: str
    name: str
    currency: str
    status: str
    schema: str
    created_at: datetime
    time_zone: str = "UTC"  # IANA name: when the tenant's scheduled jobs run

    @property
    def ref(self) -> routing.TenantRef:
        return routing.TenantRef(self.id, self.slug)


def _tenant(row: Row[Any]) -> Tenant:
    return Tenant(
        id=row.id,
        slug=row.slug,
        name=row.name,
        currency=row.currency,
        status=row.status,
        schema=routing.schema_name(row.slug),
        created_at=row.created_at,
        time_zone=row.time_zone,
    )


async def create_tenant(
    engine: AsyncEngine, slug: str, *, name: str, currency: str, actor: str, time_zone: str = "UTC"
) -> Tenant:
    """Register a tenant, create and migrate its schema, and open the ISP's books."""
    try:
        routing.validate_slug(slug)
    except routing.InvalidSlug as exc:
        raise TenantError(str(exc)) from None
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise TenantError(f"tenant name must be 1 to {MAX_NAME_LENGTH} characters, got {name!r}")
    try:
        money.currency_exponent(currency)
        scheduling.time_zone(time_zone)
    except (money.MoneyError, scheduling.InvalidTimeZone) as exc:
        raise TenantError(str(exc)) from None
    async with engine.begin() as conn:
        await migrate.lock(conn)
        if await _find(conn, slug) is not None:
            raise TenantError(f"tenant {slug!r} already exists; pick another slug")
        row = (
            await conn.execute(
                insert(tenants)
                .values(slug=slug, name=name, currency=currency, time_zone=time_zone)
                .returning(*tenants.c)
            )
        ).one()
        tenant = _tenant(row)
        leftover = await conn.scalar(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": tenant.schema}
        )
        if leftover:
            raise TenantError(
                f"schema {tenant.schema} already exists without a registered tenant (left over from a "
                "dropped tenant?); drop or rename it, or pick another slug"
            )
        await conn.execute(text(f'CREATE SCHEMA "{tenant.schema}"'))
        scoped = await routing.scope(conn, tenant.ref, actor=actor)
        await migrate.upgrade_tenant(scoped, slug)
        await audit.record(scoped, "tenant.create", f"tenant:{slug}", name=name, currency=currency)
        await create_entity(scoped, kind=EntityKind.ISP, code=ISP_ENTITY_CODE, name=name, currency=currency)
    return tenant


async def _find(conn: AsyncConnection, slug: str) -> Tenant | None:
    row = (await conn.execute(select(tenants).where(tenants.c.slug == slug))).first()
    return _tenant(row) if row else None


async def get_tenant(engine: AsyncEngine, slug: str) -> Tenant:
    async with engine.connect() as conn:
        tenant = await _find(conn, slug)
    if tenant is None:
        raise TenantNotFound(f"no tenant {slug!r}; `bureau tenant list` shows the tenants there are")
    return tenant


async def list_tenants(engine: AsyncEngine) -> list[Tenant]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tenants).order_by(tenants.c.slug))).all()
    return [_tenant(row) for row in rows]


async def _change(engine: AsyncEngine, slug: str, column: str, value: str, action: str, *, actor: str) -> Tenant:
    """Set one column of a tenant's registry row, audited in the tenant's own log."""
    tenant = await get_tenant(engine, slug)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                update(tenants)
                .where(tenants.c.id == tenant.id)
                .values({column: value, "updated_at": func.now()})
                .returning(*tenants.c)
            )
        ).one()
        scoped = await routing.scope(conn, tenant.ref, actor=actor)
        await audit.record(scoped, action, f"tenant:{slug}", before=getattr(tenant, column), after=value)
    return _tenant(row)


async def set_status(engine: AsyncEngine, slug: str, status: str, *, actor: str) -> Tenant:
    """Suspend or resume a tenant; the change is audited in the tenant's own log."""
    if status not in STATUSES:
        raise TenantError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    action = f"tenant.{'suspend' if status == 'suspended' else 'resume'}"
    return await _change(engine, slug, "status", status, action, actor=actor)


async def suspend_tenant(engine: AsyncEngine, slug: str, *, actor: str) -> Tenant:
    return await set_status(engine, slug, "suspended", actor=actor)


async def resume_tenant(engine: AsyncEngine, slug: str, *, actor: str) -> Tenant:
    return await set_status(engine, slug, "active", actor=actor)


async def set_time_zone(engine: AsyncEngine, slug: str, zone: str, *, actor: str) -> Tenant:
    """Change when the tenant's scheduled jobs run (an IANA name such as Europe/Berlin)."""
    try:
        scheduling.time_zone(zone)
    except scheduling.InvalidTimeZone as exc:
        raise TenantError(str(exc)) from None
    return await _change(engine, slug, "time_zone", zone, "tenant.time_zone", actor=actor)
