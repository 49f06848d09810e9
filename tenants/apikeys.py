"""API keys: made, listed, revoked, and turned back into the principal that calls.

A key reads `bureau_<key id>_<secret>`. The key id is public: it finds the row and names
the key in lists and logs. The secret is 32 random bytes shown once, when the key is
made; only its SHA-256 is stored (a random 256-bit secret needs no slow hash: nobody
can guess it, and the digest cannot be turned back into it). A key belongs to a scope:

- `operator`: every tenant's administration (tenants, platform health);
- `isp`: one tenant, with a role: admin, care (customer care), finance or read_only;
- `reseller`: one reseller of one tenant, with its sub-resellers.

`authenticate` answers every key that is malformed, unknown, revoked or of a suspended
tenant with the same error, so a caller learns nothing about which keys exist.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.audit import log as audit
from bureau.platform.subscribers.errors import NotFound
from bureau.platform.subscribers.resellers import get_reseller

from . import lifecycle, routing
from .tables import api_keys, tenants

PREFIX = "bureau"
KEY_ID_LENGTH = 16
SECRET_BYTES = 32
MAX_NAME_LENGTH = 100
MAX_TOKEN_LENGTH = 200
MAX_LISTED = 1000
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key
_TOKEN = re.compile(rf"{PREFIX}_(?P<key_id>[a-z2-7]{{{KEY_ID_LENGTH}}})_(?P<secret>[A-Za-z0-9_-]{{43}})", re.ASCII)
_UNUSED_DIGEST = hashlib.sha256(b"no such key").digest()


class Scope(enum.StrEnum):
    OPERATOR = "operator"
    ISP = "isp"
    RESELLER = "reseller"


class Role(enum.StrEnum):
    ADMIN = "admin"
    CARE = "care"  # customer care: customers and services, no money or catalog
    FINANCE = "finance"  # payments, invoices, journal, reports
    READ_ONLY = "read_only"


class ApiKeyError(ValueError):
    """Bad input to an API key command; nothing was written."""


class InvalidApiKey(ApiKeyError):
    """A bearer token that does not name a usable key (one message for every reason)."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    scope: Scope
    role: Role
    tenant: str | None  # slug
    reseller_id: int | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewKey:
    key: ApiKey
    token: str  # shown once; only its digest is kept


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: what every resolver checks before it reads or writes."""

    key_id: str
    name: str
    scope: Scope
    role: Role
    tenant: routing.TenantRef | None  # None: operator
    reseller_id: int | None  # set for reseller keys
    currency: str | None = None  # the tenant's (fixed when the tenant is made); None for operator keys

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"apikey:{self.key_id}"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def _choice(kind: type[Scope] | type[Role], value: object, what: str) -> Any:
    try:
        return kind(value) if isinstance(value, str) else None
    except ValueError:
        pass
    raise ApiKeyError(f"{what} {value!r} is not one of {', '.join(m.value for m in kind)}")


def _key(row: Row[Any], slug: str | None) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        scope=Scope(row.scope),
        role=Role(row.role),
        tenant=slug,
        reseller_id=row.reseller_id,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def create_api_key(
    engine: AsyncEngine,
    *,
    name: str,
    scope: Scope | str,
    actor: str,
    role: Role | str = Role.ADMIN,
    tenant: str | None = None,
    reseller: str | None = None,
) -> NewKey:
    """Make a key: `tenant` (a slug) for isp and reseller keys, `reseller` (its code) for
    reseller keys. The token is in the result and nowhere else."""
    chosen_scope: Scope = _choice(Scope, scope, "scope")
    chosen_role: Role = _choice(Role, role, "role")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ApiKeyError(f"a key's name is 1 to {MAX_NAME_LENGTH} characters (what uses it), got {name!r}")
    if chosen_scope is Scope.OPERATOR and (tenant or reseller):
        raise ApiKeyError("an operator key belongs to no tenant or reseller; leave them out")
    if chosen_scope is Scope.OPERATOR and chosen_role is not Role.ADMIN:
        raise ApiKeyError("an operator key has the admin role only")
    if chosen_scope is not Scope.OPERATOR and not tenant:
        raise ApiKeyError(f"a {chosen_scope.value} key needs the tenant it belongs to")
    if chosen_scope is Scope.ISP and reseller:
        raise ApiKeyError("an ISP key sees the whole tenant; for one reseller make a reseller key")
    if chosen_scope is Scope.RESELLER and not reseller:
        raise ApiKeyError("a reseller key needs the reseller's code")
    found = await lifecycle.get_tenant(engine, tenant) if tenant else None
    key_id = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    async with engine.begin() as conn:
        reseller_id = None
        if found is not None:
            scoped = await routing.scope(conn, found.ref, actor=actor)
            if reseller:
                try:
                    reseller_id = (await get_reseller(scoped, reseller)).id
                except NotFound as exc:
                    raise ApiKeyError(f"{exc} in tenant {found.slug!r}") from None
            await audit.record(
                scoped, "apikey.create", f"apikey:{key_id}", name=name, scope=chosen_scope.value,
                role=chosen_role.value, reseller=reseller,
            )  # fmt: skip
        row = (
            await conn.execute(
                insert(api_keys)
                .values(
                    key_id=key_id,
                    secret_sha256=_digest(secret),
                    name=name.strip(),
                    scope=chosen_scope.value,
                    role=chosen_role.value,
                    tenant_id=found.id if found else None,
                    reseller_id=reseller_id,
                    created_by=actor,
                )
                .returning(*api_keys.c)
            )
        ).one()
    return NewKey(_key(row, found.slug if found else None), f"{PREFIX}_{key_id}_{secret}")


@cache  # built once: a statement is immutable, and building one costs more than running it
def _listing() -> Any:
    return select(api_keys, tenants.c.slug).outerjoin(tenants, tenants.c.id == api_keys.c.tenant_id)


async def list_api_keys(engine: AsyncEngine, *, tenant: str | None = None) -> list[ApiKey]:
    """Keys, newest first (at most MAX_LISTED); of one tenant when `tenant` (a slug) is given."""
    query = _listing().order_by(api_keys.c.id.desc()).limit(MAX_LISTED)
    if tenant is not None:
        query = query.where(api_keys.c.tenant_id == (await lifecycle.get_tenant(engine, tenant)).id)
    async with engine.connect() as conn:
        return [_key(row, row.slug) for row in await conn.execute(query)]


async def revoke_api_key(engine: AsyncEngine, key_id: str, *, actor: str, tenant: str | None = None) -> ApiKey:
    """Revoke a key at once (a no-op if it already is); `tenant` limits it to that tenant's keys."""
    async with engine.begin() as conn:
        query = _listing().where(api_keys.c.key_id == key_id).with_for_update(of=api_keys)
        row = (await conn.execute(query)).first()
        if row is None or (tenant is not None and row.slug != tenant):
            raise ApiKeyError(f"no API key has id {key_id!r}; `bureau apikey list` shows them")
        if row.revoked_at is None:
            await conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=datetime.now(UTC)))
            if row.tenant_id is not None:
                scoped = await routing.scope(conn, routing.TenantRef(row.tenant_id, row.slug), actor=actor)
                await audit.record(scoped, "apikey.revoke", f"apikey:{key_id}", name=row.name)
            row = (await conn.execute(_listing().where(api_keys.c.id == row.id))).one()
    return _key(row, row.slug)


@cache
def _by_key_id() -> Any:
    return (
        select(api_keys, tenants.c.slug, tenants.c.status.label("tenant_status"), tenants.c.currency)
        .outerjoin(tenants, tenants.c.id == api_keys.c.tenant_id)
        .where(api_keys.c.key_id == bindparam("key_id"))
    )


async def authenticate(engine: AsyncEngine, token: object, *, now: datetime | None = None) -> Principal:
    """The principal of a bearer token; InvalidApiKey for anything else."""
    refused = InvalidApiKey("invalid or revoked API key")
    match = _TOKEN.fullmatch(token) if isinstance(token, str) and len(token) <= MAX_TOKEN_LENGTH else None
    if match is None:
        raise refused
    async with engine.connect() as conn:
        # each statement its own transaction: no BEGIN and ROLLBACK around a lookup that
        # every request makes (two round trips of the three it would take)
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        row = (await conn.execute(_by_key_id(), {"key_id": match["key_id"]})).first()
        stored = row.secret_sha256 if row is not None else _UNUSED_DIGEST
        if not hmac.compare_digest(stored, _digest(match["secret"])) or row is None or row.revoked_at is not None:
            raise refused
        if row.tenant_id is not None and row.tenant_status != "active":
            raise refused
        when = now or datetime.now(UTC)
        if row.last_used_at is None or row.last_used_at < when - TOUCH_EVERY:
            await conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=when))
    tenant = routing.TenantRef(row.tenant_id, row.slug) if row.tenant_id is not None else None
    return Principal(row.key_id, row.name, Scope(row.scope), Role(row.role), tenant, row.reseller_id, row.currency)


async def still_valid(engine: AsyncEngine, principal: Principal) -> bool:
    """Whether the principal's key is still unrevoked and its tenant (if any) active: what a
    long-lived caller (a subscription) checks before it hears more."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(api_keys.c.revoked_at, tenants.c.status)
                .outerjoin(tenants, tenants.c.id == api_keys.c.tenant_id)
                .where(api_keys.c.key_id == principal.key_id)
            )
        ).first()
    return row is not None and row.revoked_at is None and (row.status in (None, "active"))
