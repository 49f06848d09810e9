"""Open sessions and Disconnect through /graphql: a real RADIUS login on loopback, the
Disconnect-Request answered by the test's NAS socket; other scopes see nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from bureau.app import create_app
from bureau.platform.subscribers import resellers
from bureau.tenants import apikeys
from tests.integration.radius_proxy.conftest import Nas, nas  # noqa: F401  (the fixture)
from tests.integration.radius_proxy.test_admin import _answer, _online

SESSIONS = "{ sessions(first: 10) { edges { node { id login state acctSessionId reservedMicros } } } }"
DISCONNECT = """mutation($id: ID!) { disconnectSession(id: $id) {
  __typename ... on Disconnected { answer } ... on NotFound { message } } }"""


async def test_sessions_are_listed_and_disconnected_in_the_caller_s_scope(nas: Nas) -> None:  # noqa: F811
    login, session = await _online(nas, "amy")
    slug = nas.tenant.slug
    isp = await apikeys.create_api_key(nas.engine, name="isp", scope="isp", tenant=slug, actor="test")
    async with nas.unit() as conn:
        await resellers.create_reseller(conn, code="empty", name="No customers")
    other = await apikeys.create_api_key(
        nas.engine, name="r", scope="reseller", tenant=slug, reseller="empty", actor="test"
    )
    transport = httpx.ASGITransport(app=create_app(nas.engine, box=nas.box))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:

        async def ask(token: str, query: str, **variables: Any) -> dict[str, Any]:
            answer = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
            )
            body = answer.json()
            assert "errors" not in body, body
            return dict(body["data"])

        listed = (await ask(isp.token, SESSIONS))["sessions"]["edges"]
        assert [(e["node"]["login"], e["node"]["state"], e["node"]["acctSessionId"]) for e in listed] == [
            (login, "open", "adm-1")
        ]
        assert listed[0]["node"]["reservedMicros"] == 2_000_000
        assert (await ask(other.token, SESSIONS))["sessions"]["edges"] == []
        hidden = (await ask(other.token, DISCONNECT, id=str(session)))["disconnectSession"]
        assert hidden == {"__typename": "NotFound", "message": f"no live session has id {session}"}
        assert nas.coa.inbox.empty(), "nothing was sent for the other scope"
        sending = asyncio.create_task(ask(isp.token, DISCONNECT, id=str(session)))
        await _answer(nas, 41)  # the NAS acknowledges
        assert (await sending)["disconnectSession"] == {"__typename": "Disconnected", "answer": "ack"}
        missing = (await ask(isp.token, DISCONNECT, id="999999"))["disconnectSession"]
        assert missing == {"__typename": "NotFound", "message": "no live session has id 999999"}
