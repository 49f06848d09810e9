"""API keys through /graphql: the operator for any tenant, an ISP admin for its own only."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.tenants import apikeys

CREATE = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on NewApiKey { token key { keyId scope role tenant } } ... on ValidationError { message } } }"""
REVOKE = """mutation($id: String!) { revokeApiKey(keyId: $id) {
  __typename ... on ApiKey { revokedAt } ... on NotFound { message } } }"""


async def test_keys_are_made_listed_and_revoked_within_the_caller_s_reach(
    engine: AsyncEngine, make_tenant: Any
) -> None:
    a, b = await make_tenant("kya"), await make_tenant("kyb")
    operator = await apikeys.create_api_key(engine, name="ops", scope="operator", actor="test")
    admin_a = await apikeys.create_api_key(engine, name="a", scope="isp", tenant=a.slug, actor="test")
    care_a = await apikeys.create_api_key(engine, name="c", scope="isp", role="care", tenant=a.slug, actor="test")
    key_b = await apikeys.create_api_key(engine, name="b", scope="isp", tenant=b.slug, actor="test")
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:

        async def ask(token: str, query: str, **variables: Any) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"}
            answer = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
            return dict(answer.json())

        made = (await ask(admin_a.token, CREATE, input={"name": "crm", "scope": "isp", "role": "finance"}))["data"]
        new = made["createApiKey"]
        assert new["key"] == {"keyId": new["key"]["keyId"], "scope": "isp", "role": "finance", "tenant": a.slug}
        assert (await apikeys.authenticate(engine, new["token"])).tenant == a.ref
        elsewhere = await ask(admin_a.token, CREATE, input={"name": "x", "scope": "isp", "tenant": b.slug})
        assert elsewhere["errors"][0]["message"] == "an ISP key manages the keys of its own tenant only"
        upward = await ask(admin_a.token, CREATE, input={"name": "x", "scope": "operator"})
        assert upward["errors"][0]["message"] == "only the operator makes operator keys"
        refused = await ask(care_a.token, "{ apiKeys { keyId } }")
        assert "operator key or an ISP key with the admin role" in refused["errors"][0]["message"]
        listed = {k["keyId"] for k in (await ask(admin_a.token, "{ apiKeys { keyId } }"))["data"]["apiKeys"]}
        assert listed == {admin_a.key.key_id, care_a.key.key_id, new["key"]["keyId"]}
        foreign = (await ask(admin_a.token, REVOKE, id=key_b.key.key_id))["data"]["revokeApiKey"]
        assert foreign["__typename"] == "NotFound"
        assert (await apikeys.authenticate(engine, key_b.token)).tenant == b.ref, "b's key still works"
        bad = await ask(operator.token, CREATE, input={"name": "y", "scope": "reseller", "tenant": b.slug})
        assert "needs the reseller's code" in bad["data"]["createApiKey"]["message"]
        gone = (await ask(operator.token, REVOKE, id=key_b.key.key_id))["data"]["revokeApiKey"]
        assert gone["__typename"] == "ApiKey" and gone["revokedAt"] is not None
        locked = await client.post("/graphql", json={"query": "{ me { keyId } }"},
                                   headers={"Authorization": f"Bearer {key_b.token}"})  # fmt: skip
        assert locked.status_code == 401
