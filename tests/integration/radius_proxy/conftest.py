"""A running RADIUS server on loopback for one tenant, and a NAS that talks to it.

Each test gets its own loopback address for its NAS (127.0.1.N): the NAS registry gives
an address to one NAS in the whole installation, and all tests share one database.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from bureau.platform.catalog import plans, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.ledger.entities import find_entity, isp_entity, query_account
from bureau.platform.ledger.posting import post_entry
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.nas.registry import add_nas
from bureau.platform.radius import wire
from bureau.platform.radius.passwords import hide_password
from bureau.platform.rating.tariff import GIGABYTE, HOUR, UsageRate
from bureau.platform.rating.usage import Meter
from bureau.platform.subscribers import customers, resellers, services
from bureau.radius_proxy.server import RadiusServer
from bureau.tenants.routing import tenant_unit

SECRET = b"testing123"
FROM = datetime(2026, 1, 1, tzinfo=UTC)
_hosts = itertools.count(1)


class _Socket(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.inbox.put_nowait((data, addr))


@dataclass
class Nas:
    """A NAS on its own loopback address: sends requests, receives replies and CoA."""

    address: str
    server: RadiusServer
    client: _Socket
    coa: _Socket
    coa_port: int
    realm: str
    tenant: Any
    engine: Any
    box: SecretBox
    sent: list[bytes] = field(default_factory=list)

    def send(self, kind: str, datagram: bytes) -> None:
        assert self.client.transport is not None
        self.sent.append(datagram)
        self.client.transport.sendto(datagram, ("127.0.0.1", self.server.ports[kind]))

    async def ask(self, kind: str, datagram: bytes, wait: float = 5.0) -> wire.RawPacket | None:
        self.send(kind, datagram)
        try:
            data, _ = await asyncio.wait_for(self.client.inbox.get(), wait)
        except TimeoutError:
            return None
        return wire.parse(data)

    def access_request(self, identifier: int, attributes: list[tuple[int, bytes]], *, ma: bool = True,
                       authenticator: bytes | None = None) -> bytes:  # fmt: skip
        vector = authenticator or os.urandom(16)
        listed = [(80, bytes(16)), *attributes] if ma else attributes
        data = wire.build(1, identifier, vector, wire.encode_attributes(listed))
        if not ma:
            return data
        signature = wire.message_authenticator(data, SECRET)
        return data[:22] + signature + data[38:]

    def pap(self, identifier: int, login: str, password: str, **kw: Any) -> bytes:
        vector = os.urandom(16)
        hidden = hide_password(password.encode(), SECRET, vector)
        return self.access_request(identifier, [(1, login.encode()), (2, hidden)], authenticator=vector, **kw)

    def chap(self, identifier: int, login: str, password: str) -> bytes:
        challenge = os.urandom(16)
        ident = bytes([7])
        answer = ident + hashlib.md5(ident + password.encode() + challenge).digest()  # noqa: S324
        return self.access_request(identifier, [(1, login.encode()), (3, answer), (60, challenge)])

    @staticmethod
    def accounting(identifier: int, attributes: list[tuple[int, bytes]]) -> bytes:
        return wire.sign_request(4, identifier, attributes, SECRET)

    def unit(self) -> Any:
        return tenant_unit(self.engine, self.tenant.ref, actor="test")

    async def balance(self, login: str, code: str) -> int:
        async with self.unit() as conn:
            return (await query_account(conn, (await find_entity(conn, login)).id, code)).balance

    async def subscriber(self, name: str, plan: str, balance: int) -> str:
        login = f"{name}@{self.realm}"
        async with self.unit() as conn:
            await customers.create_customer(conn, code=login, name=name, email=f"{name}@mail.example",
                                            address=customers.Address("US"), prepaid=True)  # fmt: skip
            service = await services.add_service(conn, self.box, customer=login, kind="radius_login", login=login,
                                                 plan=plan, password=f"{name}-secret")  # fmt: skip
            await services.change_service_state(conn, service.id, "active")
            if balance:
                main = await query_account(conn, (await find_entity(conn, login)).id, "1000")
                opening = await query_account(conn, (await isp_entity(conn)).id, "3900")
                postings = (debit(opening.id, balance, "USD"), credit(main.id, balance, "USD"))
                await post_entry(conn, NewEntry(f"open:{login}", "Opening", postings))
        return login


@pytest.fixture
async def nas(engine: Any, make_tenant: Any) -> AsyncIterator[Nas]:
    tenant = await make_tenant("rad")
    box = SecretBox(SecretBox.generate_key())
    address = f"127.0.1.{next(_hosts)}"
    loop = asyncio.get_running_loop()
    _, coa = await loop.create_datagram_endpoint(_Socket, local_addr=(address, 0))
    coa_port = coa.transport.get_extra_info("sockname")[1] if coa.transport else 0
    realm = f"rad-{tenant.slug.rpartition('_')[2]}.example"
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await plans.create_category(conn, "all", "All")
        rates = {
            "hourly": UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000),
            "data": UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000),
        }
        for code, rate in rates.items():
            await plans.create_plan(conn, code, code, category="all", billing="prepaid")
            await versions.add_plan_version(conn, code, effective_from=FROM, components=(PriceComponent.usage(rate),))
        await resellers.add_realm(conn, realm)
        await add_nas(conn, box, name="nas", address=address, secret=SECRET.decode(), coa_port=coa_port)
    server = RadiusServer(engine, box, b"k" * 32, auth_port=0, acct_port=0, disconnect_timeout_s=0.3,
                          disconnect_attempts=3)  # fmt: skip
    await server.start()
    _, client = await loop.create_datagram_endpoint(_Socket, local_addr=(address, 0))
    try:
        yield Nas(address, server, client, coa, coa_port, realm, tenant, engine, box)
    finally:
        for socket in (client, coa):
            if socket.transport:
                socket.transport.close()
        await server.stop()
