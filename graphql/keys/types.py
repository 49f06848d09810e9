"""API keys as the API shows them (never the secret, but once, when a key is made)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from bureau.tenants import apikeys


@strawberry.type
class ApiKey:
    key_id: strawberry.ID
    name: str
    scope: str
    role: str
    tenant: str | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: apikeys.ApiKey) -> ApiKey:
        return cls(
            key_id=strawberry.ID(key.key_id),
            name=key.name,
            scope=key.scope.value,
            role=key.role.value,
            tenant=key.tenant,
            created_by=key.created_by,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


@strawberry.type(description="A key just made: the token is shown this once and kept only as a digest.")
class NewApiKey:
    key: ApiKey
    token: str
