"""Tenant routing: the only module that turns a tenant into a schema and a connection.

A tenant's schema name is derived here, and only here, from a validated slug. Every
tenant-scoped unit of work is opened here, with SQLAlchemy's `schema_translate_map`
mapping the placeholder schema of the platform's tables onto the tenant's schema, so
the schema is in the compiled SQL itself rather than in connection state (no
`SET search_path` on pooled connections).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.db import unit
from bureau.platform.db.schema import TENANT

SLUG_MAX_LENGTH = 40  # "tenant_" + slug stays well inside PostgreSQL's 63-byte names
SCHEMA_PREFIX = "tenant_"
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


class InvalidSlug(ValueError):
    """A tenant slug that cannot name a schema."""


@dataclass(frozen=True, slots=True)
class TenantRef:
    """What routing needs to know of a tenant: its registry id and slug."""

    id: int
    slug: str


def validate_slug(slug: str) -> str:
    """Return `slug` if it can name a tenant, else raise InvalidSlug saying why."""
    if not isinstance(slug, str) or not slug:
        raise InvalidSlug("tenant slug is empty: use lower-case letters, digits and _")
    if len(slug) > SLUG_MAX_LENGTH:
        raise InvalidSlug(f"tenant slug {slug!r} is {len(slug)} characters; at most {SLUG_MAX_LENGTH} allowed")
    if not _SLUG.fullmatch(slug):  # not match(): `$` would let "acme\n" through
        raise InvalidSlug(
            f"tenant slug {slug!r} may only hold lower-case letters, digits and _, and must start with a letter"
        )
    if slug.startswith("pg_"):
        raise InvalidSlug(f"tenant slug {slug!r} may not start with 'pg_' (reserved by PostgreSQL)")
    return slug


def schema_name(slug: str) -> str:
    """The PostgreSQL schema of the tenant with this slug."""
    return SCHEMA_PREFIX + validate_slug(slug)


def event_channel(slug: str) -> str:
    """The NOTIFY channel of the tenant's change events: its schema's triggers (migration
    t0012) name it `'bureau:' || TG_TABLE_SCHEMA`, so the two must agree."""
    return "bureau:" + schema_name(slug)


def translate_map(slug: str) -> dict[str | None, str | None]:
    return {TENANT: schema_name(slug)}


async def scope(conn: AsyncConnection, tenant: TenantRef, *, actor: str = unit.DEFAULT_ACTOR) -> AsyncConnection:
    """Scope an open connection to `tenant`: its tables resolve into the tenant's schema."""
    return await conn.execution_options(
        schema_translate_map=translate_map(tenant.slug),
        **{unit.TENANT_ID: tenant.id, unit.ACTOR: actor},
    )


@asynccontextmanager
async def tenant_unit(
    engine: AsyncEngine, tenant: TenantRef, *, actor: str = unit.DEFAULT_ACTOR
) -> AsyncIterator[AsyncConnection]:
    """A transaction scoped to one tenant: committed on success, rolled back on error."""
    async with engine.connect() as conn:
        scoped = await scope(conn, tenant, actor=actor)
        async with scoped.begin():
            yield scoped
