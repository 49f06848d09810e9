"""Subscriptions over a real WebSocket (graphql-transport-ws) to `bureau serve`'s app on
loopback: a subscriber logs in over RADIUS and the ISP hears the session open, update and
close and the balances move; a reseller hears only its own customers; another tenant
hears nothing; a bad key is turned away at connection_init."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bureau.app import create_app
from bureau.platform.subscribers import customers, resellers
from bureau.tenants import apikeys
from tests.integration.radius_proxy.conftest import Nas, nas  # noqa: F401  (the fixture)

PROTOCOL = "graphql-transport-ws"
BALANCES = """subscription($customer: String) { balanceChanges(customer: $customer) {
  customer name balance { micros } reserved { micros } accounts { code balance } } }"""
SESSIONS = "subscription { sessionChanges { change session { id login state seconds reservedMicros } } }"
PAY = """mutation($customer: String!, $key: String!) { recordPayment(input: {customer: $customer,
  amountMicros: 4000000, method: "cash", idempotencyKey: $key}) { __typename } }"""
QUIET = 0.5  # seconds in which a subscription that must hear nothing hears nothing


@asynccontextmanager
async def serving(nas: Nas) -> AsyncIterator[str]:  # noqa: F811
    """The API app served by uvicorn on a loopback port (as `bureau serve` does)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(nas.engine, box=nas.box), log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if task.done():
            task.result()  # it failed to start: say why
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Subscriber:
    """One graphql-transport-ws connection running one subscription."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def next(self, wait: float = 5.0) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def until(self, field: str, wanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Every message up to and including the first that `wanted` accepts."""
        seen = []
        while True:
            seen.append((await self.next())[field])
            if wanted(seen[-1]):
                return seen

    async def hears_nothing(self) -> bool:
        try:
            await asyncio.wait_for(self.ws.recv(), QUIET)
        except TimeoutError:
            return True
        return False


@asynccontextmanager
async def subscribed(host: str, token: str | None, query: str, **variables: Any) -> AsyncIterator[Subscriber]:
    async with connect(f"ws://{host}/graphql", subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
        await asyncio.sleep(0.2)  # the server's LISTEN is in place before the test changes anything
        yield Subscriber(ws)


async def _pay(nas: Nas, token: str, customer: str, key: str) -> None:  # noqa: F811
    import httpx

    transport = httpx.ASGITransport(app=create_app(nas.engine, box=nas.box))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:
        answer = await client.post(
            "/graphql",
            json={"query": PAY, "variables": {"customer": customer, "key": key}},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.json()["data"]["recordPayment"]["__typename"] == "Payment", answer.text


async def test_sessions_and_balances_are_heard_in_the_caller_s_scope(
    nas: Nas,  # noqa: F811
    make_tenant: Any,
    assert_ledger_sound: Any,
) -> None:
    slug = nas.tenant.slug
    isp = (await apikeys.create_api_key(nas.engine, name="isp", scope="isp", tenant=slug, actor="t")).token
    async with nas.unit() as conn:
        await resellers.create_reseller(conn, code="north", name="North")
        await customers.create_customer(
            conn, code="nora", name="Nora", email="nora@mail.example", address=customers.Address("US"),
            prepaid=True, reseller="north",
        )  # fmt: skip
    north = await apikeys.create_api_key(
        nas.engine, name="n", scope="reseller", tenant=slug, reseller="north", actor="t"
    )
    other = await make_tenant("subo")
    stranger = (await apikeys.create_api_key(nas.engine, name="o", scope="isp", tenant=other.slug, actor="t")).token
    login = await nas.subscriber("amy", "hourly", 5_000_000)

    async with (
        serving(nas) as host,
        subscribed(host, isp, SESSIONS) as sessions,
        subscribed(host, isp, BALANCES, customer=login) as amy_balances,
        subscribed(host, north.token, BALANCES) as north_balances,
        subscribed(host, stranger, BALANCES) as stranger_balances,
    ):
        accept = await nas.ask("auth", nas.pap(1, login, "amy-secret"))
        assert accept is not None and accept.code == 2
        start = [(1, login.encode()), (40, struct.pack("!I", 1)), (44, b"sub-1"), (25, accept.first(25) or b"")]
        assert await nas.ask("acct", nas.accounting(2, start)) is not None

        opened = await sessions.until("sessionChanges", lambda m: m["session"]["state"] == "open")
        assert opened[0]["change"] == "OPENED" and {m["session"]["login"] for m in opened} == {login}
        reserved = await amy_balances.until("balanceChanges", lambda m: (m["reserved"] or {}).get("micros", 0) > 0)
        assert reserved[-1]["customer"] and reserved[-1]["reserved"]["micros"] == 2_000_000

        stop = [(1, login.encode()), (40, struct.pack("!I", 2)), (44, b"sub-1"), (46, struct.pack("!I", 600))]
        assert await nas.ask("acct", nas.accounting(3, stop)) is not None
        closed = await sessions.until("sessionChanges", lambda m: m["change"] == "CLOSED")
        assert closed[-1]["session"]["seconds"] == 600 and closed[-1]["session"]["reservedMicros"] == 0
        settled = await amy_balances.until("balanceChanges", lambda m: m["reserved"]["micros"] == 0)
        assert settled[-1]["balance"]["micros"] == 5_000_000 - 200_000  # 10 minutes at 1.20 an hour

        await _pay(nas, isp, login, "sub-pay-amy")  # north's subscription must not hear of amy
        await _pay(nas, isp, "nora", "sub-pay-nora")
        heard = await north_balances.next()
        assert heard["balanceChanges"]["name"] == "Nora" and heard["balanceChanges"]["balance"]["micros"] == 4_000_000
        assert await north_balances.hears_nothing()
        assert await stranger_balances.hears_nothing(), "another tenant heard this tenant's changes"
    await assert_ledger_sound(nas.tenant)


async def test_a_bad_key_is_turned_away_and_a_hidden_customer_is_not_there(nas: Nas) -> None:  # noqa: F811
    slug = nas.tenant.slug
    async with nas.unit() as conn:
        await resellers.create_reseller(conn, code="south", name="South")
    south = await apikeys.create_api_key(
        nas.engine, name="s", scope="reseller", tenant=slug, reseller="south", actor="t"
    )
    login = await nas.subscriber("bob", "hourly", 0)
    async with serving(nas) as host:
        bad = "Bearer bureau_x_y"
        for headers, payload in (({}, {"Authorization": bad}), ({"Authorization": bad}, {})):  # init, or upgrade
            async with connect(
                f"ws://{host}/graphql",
                subprotocols=[PROTOCOL],
                additional_headers=headers,  # type: ignore[list-item]
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403, (headers, closed.value)

        for token in (None, south.token):  # no key; a reseller asking for the ISP's own customer
            async with subscribed(host, token, BALANCES, customer=login) as refused:
                message = json.loads(await asyncio.wait_for(refused.ws.recv(), 5))
                assert message["type"] in ("next", "error"), message
                errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
                expected = (
                    "needs an ISP or reseller key"
                    if token is None
                    else f"no customer has number, code or login {login!r}"
                )
                assert expected in errors[0]["message"], errors


async def test_a_revoked_key_hears_no_more(nas: Nas) -> None:  # noqa: F811
    made = await apikeys.create_api_key(nas.engine, name="isp", scope="isp", tenant=nas.tenant.slug, actor="t")
    async with serving(nas) as host, subscribed(host, made.token, BALANCES) as balances:
        await nas.subscriber("cat", "hourly", 1_000_000)
        assert (await balances.next())["balanceChanges"]["name"] == "cat"
        await apikeys.revoke_api_key(nas.engine, made.key.key_id, actor="t")
        await nas.subscriber("dan", "hourly", 1_000_000)
        message = json.loads(await asyncio.wait_for(balances.ws.recv(), 5))
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert "revoked" in errors[0]["message"], message
        assert "dan" not in json.dumps(message)
