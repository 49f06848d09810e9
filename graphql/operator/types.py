"""Tenants and platform health as the operator sees them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from bureau.tenants import lifecycle


@strawberry.type(description="A client ISP: its own schema, books and subscribers.")
class Tenant:
    slug: strawberry.ID
    name: str
    currency: str
    status: str
    time_zone: str
    created_at: datetime

    @classmethod
    def of(cls, tenant: lifecycle.Tenant) -> Tenant:
        return cls(
            slug=strawberry.ID(tenant.slug),
            name=tenant.name,
            currency=tenant.currency,
            status=tenant.status,
            time_zone=tenant.time_zone,
            created_at=tenant.created_at,
        )


@strawberry.type
class Health:
    database: str
    version: str
    tenants: int


@strawberry.type(description="The API key that calls.")
class Me:
    key_id: str
    name: str
    scope: str
    role: str
    tenant: str | None
