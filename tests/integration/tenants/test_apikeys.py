"""API keys on real PostgreSQL: made once, stored as a digest, refused alike for every
reason, scoped to a tenant or a reseller, revoked at once."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.subscribers import resellers
from bureau.tenants import apikeys, lifecycle
from bureau.tenants.apikeys import ApiKeyError, InvalidApiKey, Role, Scope
from bureau.tenants.routing import tenant_unit
from bureau.tenants.tables import api_keys


async def test_an_isp_key_authenticates_as_its_tenant_and_role_and_only_its_digest_is_kept(
    engine: AsyncEngine, make_tenant: Any
) -> None:
    tenant = await make_tenant("key")
    made = await apikeys.create_api_key(
        engine, name="billing system", scope="isp", role="finance", tenant=tenant.slug, actor="test"
    )
    principal = await apikeys.authenticate(engine, made.token)
    assert (principal.scope, principal.role, principal.tenant, principal.reseller_id) == (
        Scope.ISP,
        Role.FINANCE,
        tenant.ref,
        None,
    )
    async with engine.connect() as conn:
        row = (await conn.execute(select(api_keys).where(api_keys.c.key_id == made.key.key_id))).one()
    secret = made.token.split("_", 2)[2]
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).digest()
    assert secret not in repr(tuple(row)) and row.last_used_at is not None


async def test_every_bad_token_gets_the_same_refusal(engine: AsyncEngine, make_tenant: Any) -> None:
    tenant = await make_tenant("bad")
    made = await apikeys.create_api_key(engine, name="n", scope="isp", tenant=tenant.slug, actor="test")
    wrong_secret = made.token[:-1] + ("A" if made.token[-1] != "A" else "B")
    unknown_id = "bureau_" + "a" * 16 + made.token[len("bureau_") + 16 :]
    for token in (wrong_secret, unknown_id, "", "Bearer x", made.token + "x", None, 42, "bureau_" * 100):
        with pytest.raises(InvalidApiKey, match=r"^invalid or revoked API key$"):
            await apikeys.authenticate(engine, token)
    await lifecycle.suspend_tenant(engine, tenant.slug, actor="test")
    with pytest.raises(InvalidApiKey, match=r"^invalid or revoked API key$"):
        await apikeys.authenticate(engine, made.token)
    await lifecycle.resume_tenant(engine, tenant.slug, actor="test")
    assert (await apikeys.authenticate(engine, made.token)).key_id == made.key.key_id
    revoked = await apikeys.revoke_api_key(engine, made.key.key_id, actor="test")
    assert revoked.revoked_at is not None
    with pytest.raises(InvalidApiKey):
        await apikeys.authenticate(engine, made.token)


async def test_a_reseller_key_names_its_reseller_and_the_scopes_are_checked(
    engine: AsyncEngine, make_tenant: Any
) -> None:
    tenant = await make_tenant("res")
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        northnet = await resellers.create_reseller(conn, code="northnet", name="NorthNet")
    made = await apikeys.create_api_key(
        engine, name="portal", scope="reseller", tenant=tenant.slug, reseller="northnet", actor="test"
    )
    principal = await apikeys.authenticate(engine, made.token)
    assert (principal.scope, principal.tenant, principal.reseller_id) == (Scope.RESELLER, tenant.ref, northnet.id)
    operator = await apikeys.create_api_key(engine, name="ops", scope="operator", actor="test")
    assert (await apikeys.authenticate(engine, operator.token)).tenant is None
    refusals = [
        ({"scope": "reseller", "tenant": tenant.slug, "reseller": "nobody"}, "no reseller has code 'nobody'"),
        ({"scope": "reseller", "tenant": tenant.slug}, "needs the reseller's code"),
        ({"scope": "isp"}, "needs the tenant"),
        ({"scope": "isp", "tenant": tenant.slug, "reseller": "northnet"}, "make a reseller key"),
        ({"scope": "operator", "tenant": tenant.slug}, "belongs to no tenant"),
        ({"scope": "operator", "role": "care"}, "admin role only"),
        ({"scope": "root"}, "scope 'root' is not one of operator, isp, reseller"),
        ({"scope": "isp", "tenant": tenant.slug, "role": "god"}, "role 'god' is not one of"),
        ({"scope": "isp", "tenant": tenant.slug, "name": " "}, "1 to 100 characters"),
    ]
    before = len(await apikeys.list_api_keys(engine))
    for arguments, message in refusals:
        with pytest.raises(ApiKeyError, match=message):
            await apikeys.create_api_key(engine, **({"name": "x", "actor": "test"} | arguments))
    assert len(await apikeys.list_api_keys(engine)) == before, "a refused key writes nothing"
    assert {k.key_id for k in await apikeys.list_api_keys(engine, tenant=tenant.slug)} == {made.key.key_id}
