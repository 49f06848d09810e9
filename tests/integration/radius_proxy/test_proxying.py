"""Wholesale proxying over UDP on loopback: `Proxy.forward` against downstream RADIUS
servers on 127.0.2.x (pyrad's ServerAsync, an independent implementation, and a small
wire-level server for failures and forgeries), and the downstream registry on the real
database."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyrad import packet as pyrad_packet
from pyrad.dictionary import Dictionary as PyradDictionary
from pyrad.server import RemoteHost
from pyrad.server_async import ServerAsync
from sqlalchemy import select

from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.nas.downstream import (
    DownstreamError,
    add_downstream,
    list_downstream,
    proxied_accounting,
    realm_proxies,
    record_proxied_accounting,
    remove_downstream,
)
from bureau.platform.nas.registry import add_nas
from bureau.platform.radius import wire
from bureau.platform.radius.mschap import decrypt_mppe_key, encrypt_mppe_key, new_mppe_salt
from bureau.platform.radius.passwords import hide_password
from bureau.platform.subscribers import resellers
from bureau.radius_proxy import attributes as a
from bureau.radius_proxy import codec
from bureau.radius_proxy.proxying import Proxy
from bureau.tenants.proxies import DownstreamRoute, load_proxy_routes
from bureau.tenants.routing import TenantRef, tenant_unit

NAS_SECRET = b"nas-secret-123"
DOWN_SECRET = b"downstream-456"
NAS_STATES = [b"nas-state-one", b"nas-state-two"]
TENANT = TenantRef(1, "wholesale")
_hosts = itertools.count(1)


def _address() -> str:
    """A loopback address of its own for each downstream server of the run."""
    return f"127.0.2.{next(_hosts)}"


def _route(host: str, port: int, *, secret: bytes = DOWN_SECRET, position: int = 0) -> DownstreamRoute:
    return DownstreamRoute(TENANT, "active", "wholesale.example", position, host, port, port, secret)


def _access_request(attributes: list[tuple[int, bytes]], authenticator: bytes | None = None) -> wire.RawPacket:
    """An Access-Request as a NAS sends it: Message-Authenticator first, Proxy-States last."""
    vector = authenticator or os.urandom(16)
    listed = [(80, bytes(16)), *attributes, *((a.PROXY_STATE, s) for s in NAS_STATES)]
    data = wire.build(1, 42, vector, wire.encode_attributes(listed))
    data = data[:22] + wire.message_authenticator(data, NAS_SECRET) + data[38:]
    return wire.parse(data)


def _pap(login: str, password: str) -> wire.RawPacket:
    vector = os.urandom(16)
    hidden = hide_password(password.encode(), NAS_SECRET, vector)
    return _access_request([(1, login.encode()), (2, hidden)], vector)


def _nas_reply(data: bytes | None, request: wire.RawPacket) -> wire.RawPacket:
    """The reply Bureau gives the NAS, checked as the NAS checks it."""
    assert data is not None
    reply = wire.parse(data)
    assert wire.response_ok(reply, request.authenticator, NAS_SECRET)
    vector = wire.reply_vector(reply.code, request.authenticator, request.code)
    assert wire.verify_message_authenticator(reply, NAS_SECRET, vector) is not False
    return reply


# --- downstream servers -------------------------------------------------------------------


class _PyradDownstream(ServerAsync):  # type: ignore[misc]
    """The ISP's own server, played by pyrad: checks Message-Authenticator itself
    (enforce_ma) and reveals User-Password with its own code."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.seen: list[Any] = []
        self.passwords: list[str] = []

    def handle_auth_packet(self, protocol: Any, pkt: Any, addr: Any) -> None:
        self.seen.append(pkt)
        self.passwords.append(pkt.PwDecrypt(pkt["User-Password"][0]))
        reply = self.CreateReplyPacket(pkt, **{"Reply-Message": "welcome from the ISP", "Session-Timeout": 3600})
        reply.code = pyrad_packet.AccessAccept
        protocol.send_response(reply, addr)

    def handle_acct_packet(self, protocol: Any, pkt: Any, addr: Any) -> None:
        self.seen.append(pkt)
        protocol.send_response(self.CreateReplyPacket(pkt), addr)

    def handle_coa_packet(self, protocol: Any, pkt: Any, addr: Any) -> None:  # pragma: no cover - unused
        pass

    def handle_disconnect_packet(self, protocol: Any, pkt: Any, addr: Any) -> None:  # pragma: no cover - unused
        pass


@pytest.fixture
async def pyrad_downstream() -> AsyncIterator[tuple[_PyradDownstream, DownstreamRoute]]:
    folder = Path(codec.__file__).parent / "dictionary"
    host = _address()
    server = _PyradDownstream(
        auth_port=0,
        acct_port=0,
        hosts={"0.0.0.0": RemoteHost("0.0.0.0", DOWN_SECRET, "bureau")},  # noqa: S104 - pyrad's "any client"
        dictionary=PyradDictionary(str(folder / "dictionary")),
        enforce_ma=True,
    )
    await server.initialize_transports(enable_auth=True, addresses=[host])
    port = server.auth_protocols[0].transport.get_extra_info("sockname")[1]
    try:
        yield server, _route(host, port)
    finally:
        await server.deinitialize_transports()


Answer = Callable[[wire.RawPacket], bytes | None]


@dataclass
class _WireServer(asyncio.DatagramProtocol):
    """A downstream server that answers with `answer(request)` (None: stays silent)."""

    secret: bytes
    answer: Answer | None = None
    received: list[bytes] = field(default_factory=list)
    transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        reply = self.answer(wire.parse(data)) if self.answer else None
        if reply is not None:
            self.transport.sendto(reply, addr)

    def reply(self, request: wire.RawPacket, code: int, attributes: list[tuple[int, bytes]]) -> bytes:
        """A correct reply, echoing the request's Proxy-States."""
        echoed = [(a.PROXY_STATE, s) for s in wire.proxy_states(request)]
        first = [(80, b"")] if code in wire.ACCESS_REPLY_CODES else []
        return wire.sign_reply(
            code, request.identifier, [*first, *attributes, *echoed], request.authenticator, self.secret,
            request_code=request.code,
        )  # fmt: skip


@pytest.fixture
async def wire_servers() -> AsyncIterator[Callable[..., Any]]:
    opened: list[Any] = []

    async def start(answer: Answer | None = None, secret: bytes = DOWN_SECRET) -> tuple[_WireServer, DownstreamRoute]:
        host = _address()
        transport, server = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _WireServer(secret, answer), local_addr=(host, 0)
        )
        opened.append(transport)
        return server, _route(host, transport.get_extra_info("sockname")[1], secret=secret, position=len(opened))

    yield start
    for transport in opened:
        transport.close()


# --- authentication -------------------------------------------------------------------------


async def test_pap_is_rehidden_for_the_downstream_and_its_accept_returns_with_the_nas_proxy_state(
    pyrad_downstream: tuple[_PyradDownstream, DownstreamRoute],
) -> None:
    server, route = pyrad_downstream
    request = _pap("alice@wholesale.example", "alice-secret")
    proxy = Proxy(timeout_s=2.0)
    data, outcome = await proxy.forward("auth", request, NAS_SECRET, [route])
    assert outcome == f"answered:{route.host}:{route.auth_port}"
    assert server.passwords == ["alice-secret"]  # pyrad revealed it with the downstream secret
    seen = server.seen[0]
    assert seen.authenticator != request.authenticator  # a fresh Request Authenticator
    states = seen["Proxy-State"]
    assert states[:2] == NAS_STATES and len(states) == 3 and len(states[2]) == 16  # ours, last
    reply = _nas_reply(data, request)
    assert reply.code == wire.ACCESS_ACCEPT
    assert reply.attributes[0][0] == wire.MESSAGE_AUTHENTICATOR  # BlastRADIUS: first
    assert wire.verify_message_authenticator(reply, NAS_SECRET, request.authenticator) is True
    assert wire.proxy_states(reply) == NAS_STATES  # ours stripped, the NAS's once and in order
    assert a.text(reply, a.REPLY_MESSAGE) == "welcome from the ISP"
    assert a.integer(reply, a.SESSION_TIMEOUT) == 3600
    assert proxy.outstanding == 0


async def test_chap_passes_unchanged_with_the_nas_authenticator_as_its_challenge(wire_servers: Any) -> None:
    seen: list[wire.RawPacket] = []

    def accept(packet: wire.RawPacket) -> bytes:
        seen.append(packet)
        return server.reply(packet, wire.ACCESS_ACCEPT, [])

    server, route = await wire_servers(accept)
    answer = bytes([7]) + hashlib.md5(b"x").digest()  # noqa: S324 - CHAP is MD5
    request = _access_request([(1, b"carl@wholesale.example"), (a.CHAP_PASSWORD, answer)])
    data, outcome = await Proxy(timeout_s=1.0).forward("auth", request, NAS_SECRET, [route])
    assert outcome.startswith("answered:") and _nas_reply(data, request).code == wire.ACCESS_ACCEPT
    assert seen[0].first(a.CHAP_PASSWORD) == answer
    assert seen[0].first(a.CHAP_CHALLENGE) == request.authenticator
    assert wire.verify_message_authenticator(seen[0], DOWN_SECRET) is True


async def test_mppe_keys_are_reencrypted_for_the_nas(wire_servers: Any) -> None:
    send_key, recv_key = os.urandom(16), os.urandom(16)

    def accept(packet: wire.RawPacket) -> bytes:
        def key(kind: int, value: bytes) -> tuple[int, bytes]:
            return a.vendor_attribute(311, kind, encrypt_mppe_key(value, DOWN_SECRET, packet.authenticator,
                                                                  new_mppe_salt()))  # fmt: skip

        keys = [key(a.MS_MPPE_SEND_KEY, send_key), key(a.MS_MPPE_RECV_KEY, recv_key)]
        return server.reply(packet, wire.ACCESS_ACCEPT, keys)

    server, route = await wire_servers(accept)
    request = _access_request([(1, b"dan@wholesale.example")])
    data, _ = await Proxy(timeout_s=1.0).forward("auth", request, NAS_SECRET, [route])
    reply = _nas_reply(data, request)
    send, recv = a.vendor(reply, 311, a.MS_MPPE_SEND_KEY), a.vendor(reply, 311, a.MS_MPPE_RECV_KEY)
    assert send is not None and recv is not None
    assert decrypt_mppe_key(send, NAS_SECRET, request.authenticator) == send_key
    assert decrypt_mppe_key(recv, NAS_SECRET, request.authenticator) == recv_key


async def test_a_silent_server_is_retried_then_the_next_one_answers(wire_servers: Any) -> None:
    silent, first = await wire_servers(None)
    answering, second = await wire_servers(lambda p: answering.reply(p, wire.ACCESS_REJECT, []))
    request = _pap("erin@wholesale.example", "erin-secret")
    data, outcome = await Proxy(timeout_s=0.2, tries=2).forward("auth", request, NAS_SECRET, [first, second])
    assert outcome == f"answered:{second.host}:{second.auth_port}"
    assert _nas_reply(data, request).code == wire.ACCESS_REJECT
    assert len(silent.received) == 2 and silent.received[0] == silent.received[1]  # a true retransmission
    assert len(answering.received) == 1


async def test_no_answer_from_any_server_is_no_reply_never_an_accept(wire_servers: Any) -> None:
    _, first = await wire_servers(None)
    _, second = await wire_servers(None)
    unbound = _route(_address(), 9)  # nothing listens: ICMP unreachable, also a timeout
    proxy = Proxy(timeout_s=0.1, tries=1)
    data, outcome = await proxy.forward("auth", _pap("f@wholesale.example", "pw"), NAS_SECRET, [first, second, unbound])
    assert (data, outcome) == (None, "timeout")
    assert proxy.outstanding == 0 and proxy.outcomes["timeout"] == 1


@pytest.mark.parametrize("forgery", ["bad_authenticator", "missing_message_authenticator", "missing_proxy_state"])
async def test_a_forged_or_unsigned_downstream_reply_is_discarded(wire_servers: Any, forgery: str) -> None:
    def forged(packet: wire.RawPacket) -> bytes:
        states = [(a.PROXY_STATE, s) for s in wire.proxy_states(packet)]
        if forgery == "missing_proxy_state":
            states = states[:-1]
        attributes = [(80, b""), *states] if forgery != "missing_message_authenticator" else states
        data = bytearray(wire.sign_reply(wire.ACCESS_REJECT, packet.identifier, attributes, packet.authenticator,
                                         DOWN_SECRET, request_code=1))  # fmt: skip
        if forgery == "missing_message_authenticator":  # sign_reply always adds one: sign it again without
            body = wire.encode_attributes(states)
            data = bytearray(wire.build(2, packet.identifier, packet.authenticator, body))
            data[4:20] = wire.response_authenticator(2, packet.identifier, packet.authenticator, body, DOWN_SECRET)
        if forgery == "bad_authenticator":
            data[0] = wire.ACCESS_ACCEPT  # a Reject turned into an Accept by someone without the secret
        return bytes(data)

    server, route = await wire_servers(forged)
    proxy = Proxy(timeout_s=0.2, tries=1)
    data, outcome = await proxy.forward("auth", _pap("g@wholesale.example", "pw"), NAS_SECRET, [route])
    assert (data, outcome) == (None, "bad_reply")
    assert proxy.discarded == {forgery: 1}
    assert len(server.received) == 1


async def test_a_reply_signed_with_another_secret_is_discarded_and_the_next_server_answers(wire_servers: Any) -> None:
    impostor, wrong = await wire_servers(lambda p: impostor.reply(p, wire.ACCESS_ACCEPT, []), secret=b"not-the-secret")
    honest, right = await wire_servers(lambda p: honest.reply(p, wire.ACCESS_REJECT, []))
    wrong = _route(wrong.host, wrong.auth_port, secret=DOWN_SECRET)  # Bureau's idea of the secret
    request = _pap("h@wholesale.example", "pw")
    data, outcome = await Proxy(timeout_s=0.2, tries=1).forward("auth", request, NAS_SECRET, [wrong, right])
    assert outcome == f"answered:{right.host}:{right.auth_port}"
    assert _nas_reply(data, request).code == wire.ACCESS_REJECT


# --- accounting ------------------------------------------------------------------------------


def _acct_request(status: int, session: bytes) -> wire.RawPacket:
    attributes = [(1, b"ivy@wholesale.example"), (40, struct.pack("!I", status)), (44, session),
                  *((a.PROXY_STATE, s) for s in NAS_STATES)]  # fmt: skip
    return wire.parse(wire.sign_request(4, 7, attributes, NAS_SECRET))


async def test_accounting_is_forwarded_resigned_and_recorded_once_for_wholesale_billing(
    wire_servers: Any, engine: Any, make_tenant: Any
) -> None:
    seen: list[wire.RawPacket] = []

    def respond(packet: wire.RawPacket) -> bytes:
        seen.append(packet)
        return server.reply(packet, wire.ACCOUNTING_RESPONSE, [])

    server, route = await wire_servers(respond)
    request = _acct_request(1, b"ws-session-1")
    data, outcome = await Proxy(timeout_s=1.0).forward("acct", request, NAS_SECRET, [route])
    assert outcome == f"answered:{route.host}:{route.acct_port}"
    reply = _nas_reply(data, request)
    assert reply.code == wire.ACCOUNTING_RESPONSE and wire.proxy_states(reply) == NAS_STATES
    forwarded = seen[0]
    assert wire.accounting_request_ok(forwarded, DOWN_SECRET)
    assert forwarded.attributes[:-1] == request.attributes  # same attributes, then our Proxy-State
    assert forwarded.attributes[-1][0] == a.PROXY_STATE and len(forwarded.attributes[-1][1]) == 16

    tenant = await make_tenant("whs")
    realm = f"ws-{tenant.slug.rpartition('_')[2]}.example"
    box = SecretBox(SecretBox.generate_key())
    received = datetime.now(UTC)
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await resellers.add_realm(conn, realm)
        nas = await add_nas(conn, box, name="bng", address=f"127.0.3.{next(_hosts)}", secret="testing123")
        record = {"realm": realm, "nas_id": nas.id, "raw": request.data, "received_at": received, "status_type": 1,
                  "acct_session_id": "ws-session-1", "user_name": "ivy@wholesale.example"}  # fmt: skip
        first = await record_proxied_accounting(conn, **record, forwarded_to=None, answered=False)  # a timeout
        again = await record_proxied_accounting(conn, **record, forwarded_to=outcome[9:], answered=True)  # retry
        later = await record_proxied_accounting(conn, **record, forwarded_to=None, answered=False)  # a late dup
        rows = (await conn.execute(select(proxied_accounting).where(proxied_accounting.c.realm == realm))).all()
    assert first == again == later
    assert len(rows) == 1
    row = rows[0]
    assert (row.tenant_id, row.nas_id, row.status_type, row.acct_session_id) == (tenant.id, nas.id, 1, "ws-session-1")
    assert row.raw == request.data and row.answered is True
    assert row.forwarded_to == f"{route.host}:{route.acct_port}"


async def test_an_accounting_response_with_a_bad_authenticator_gets_the_nas_no_answer(wire_servers: Any) -> None:
    def forged(packet: wire.RawPacket) -> bytes:
        data = bytearray(server.reply(packet, wire.ACCOUNTING_RESPONSE, []))
        data[10] ^= 1
        return bytes(data)

    server, route = await wire_servers(forged)
    data, outcome = await Proxy(timeout_s=0.2, tries=1).forward("acct", _acct_request(2, b"s"), NAS_SECRET, [route])
    assert (data, outcome) == (None, "bad_reply")


# --- the registry ------------------------------------------------------------------------------


async def test_downstream_servers_are_registered_sealed_in_order_and_loaded_for_routing(
    engine: Any, make_tenant: Any
) -> None:
    owner, other = await make_tenant("prx"), await make_tenant("prx")
    realm = f"prx-{owner.slug.rpartition('_')[2]}.example"
    box = SecretBox(SecretBox.generate_key())
    async with tenant_unit(engine, owner.ref, actor="test") as conn:
        await resellers.add_realm(conn, realm)
        primary = await add_downstream(conn, box, realm=realm.upper(), host="192.0.2.10", secret="isp-secret-1")
        backup = await add_downstream(
            conn, box, realm=realm, host=" 2001:db8::0:10 ", secret="isp-secret-2", auth_port=11812, acct_port=11813
        )
        with pytest.raises(DownstreamError, match="already a downstream server"):
            await add_downstream(conn, box, realm=realm, host="192.0.2.10", secret="isp-secret-3")
        for bad in ("radius.isp.example", "0.0.0.0", "224.0.0.1"):  # noqa: S104 - refused, not bound
            with pytest.raises(DownstreamError, match=r"not an IP address|cannot be a downstream"):
                await add_downstream(conn, box, realm=realm, host=bad, secret="isp-secret-3")
        with pytest.raises(DownstreamError, match="secret"):
            await add_downstream(conn, box, realm=realm, host="192.0.2.12", secret="short")
        await add_downstream(conn, box, realm=realm, host="192.0.2.12", secret="isp-secret-3")
        await add_downstream(conn, box, realm=realm, host="192.0.2.13", secret="isp-secret-4")
        with pytest.raises(DownstreamError, match="the most allowed"):
            await add_downstream(conn, box, realm=realm, host="192.0.2.14", secret="isp-secret-5")
        await remove_downstream(conn, realm, "192.0.2.12")
        with pytest.raises(DownstreamError, match="not a downstream server"):
            await remove_downstream(conn, realm, "192.0.2.12")
        listed = await list_downstream(conn, realm)
        sealed = (await conn.execute(select(realm_proxies.c.secret_sealed).where(realm_proxies.c.realm == realm))).all()
    assert (primary.position, backup.position, backup.host) == (0, 1, "2001:db8::10")
    assert [(s.host, s.position) for s in listed] == [("192.0.2.10", 0), ("2001:db8::10", 1), ("192.0.2.13", 3)]
    assert all(b"isp-secret" not in row.secret_sealed for row in sealed)

    async with tenant_unit(engine, other.ref, actor="test") as conn:
        with pytest.raises(DownstreamError, match="not a realm of this ISP"):
            await add_downstream(conn, box, realm=realm, host="192.0.2.99", secret="stolen-secret")
        with pytest.raises(DownstreamError, match="not a realm of this ISP"):
            await list_downstream(conn, realm)

    routes = (await load_proxy_routes(engine, box))[realm]
    assert [(r.host, r.position, r.secret) for r in routes] == [
        ("192.0.2.10", 0, b"isp-secret-1"), ("2001:db8::10", 1, b"isp-secret-2"), ("192.0.2.13", 3, b"isp-secret-4")
    ]  # fmt: skip
    assert routes[0].tenant == owner.ref and routes[0].tenant_status == "active"
    assert routes[1].address("acct") == ("2001:db8::10", 11813) and routes[1].label("auth") == "[2001:db8::10]:11812"
    assert realm not in await load_proxy_routes(engine, SecretBox(SecretBox.generate_key()))  # skipped, logged
