"""The RADIUS server over UDP on loopback with real PostgreSQL: authentication, the
packet-path defences, accounting that charges once, and Disconnect when funds run out."""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Any

from bureau.platform.radius import wire
from bureau.platform.radius.mschap import generate_nt_response, verify_mschap2
from bureau.radius_proxy import attributes as a

from .conftest import SECRET, Nas


def _int(value: int) -> bytes:
    return struct.pack("!I", value)


def _accounting(nas: Nas, identifier: int, status: int, login: str, seconds: int = 0, octets: int = 0,
                klass: bytes | None = None, sid: bytes = b"sess-1") -> bytes:  # fmt: skip
    attributes = [(1, login.encode()), (40, _int(status)), (44, sid), (46, _int(seconds)), (43, _int(octets % 2**32)),
                  (53, _int(octets >> 32))]  # fmt: skip
    if klass is not None:
        attributes.append((25, klass))
    return nas.accounting(identifier, attributes)


async def test_pap_accept_carries_a_signed_reply_with_session_timeout_and_class(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    alice = await nas.subscriber("alice", "hourly", 10_000_000)
    request = nas.pap(1, alice, "alice-secret")
    reply = await nas.ask("auth", request)
    assert reply is not None and reply.code == 2
    assert reply.attributes[0][0] == a.MESSAGE_AUTHENTICATOR  # BlastRADIUS: first
    assert wire.response_ok(reply, request[4:20], SECRET)
    assert wire.verify_message_authenticator(reply, SECRET, request[4:20]) is True
    assert a.integer(reply, a.SESSION_TIMEOUT) == 6000  # 2.00 reserved at 1.20 an hour
    assert reply.first(a.CLASS) is not None
    assert await nas.balance(alice, "1010") == 2_000_000
    await assert_ledger_sound(nas.tenant)


async def test_wrong_password_unknown_user_and_foreign_realm_are_rejected(nas: Nas) -> None:
    alice = await nas.subscriber("alice", "hourly", 10_000_000)
    for number, (login, password) in enumerate(
        [(alice, "nope"), (f"nobody@{nas.realm}", "x"), ("alice@elsewhere.example", "alice-secret")], start=1
    ):
        reply = await nas.ask("auth", nas.pap(number, login, password))
        assert reply is not None and reply.code == 3, login
        assert reply.attributes[0][0] == a.MESSAGE_AUTHENTICATOR
    assert nas.server.stats.rejected == 3


async def test_chap_and_mschapv2_authenticate(nas: Nas) -> None:
    await nas.subscriber("carl", "hourly", 5_000_000)
    dan = await nas.subscriber("dan", "hourly", 5_000_000)
    chap = await nas.ask("auth", nas.chap(1, f"carl@{nas.realm}", "carl-secret"))
    assert chap is not None and chap.code == 2
    challenge, peer = os.urandom(16), os.urandom(16)
    user = dan.encode()
    response = bytes([9, 0]) + peer + bytes(8) + generate_nt_response(challenge, peer, user, "dan-secret")
    request = nas.access_request(
        2, [(1, user), a.vendor_attribute(311, 11, challenge), a.vendor_attribute(311, 25, response)]
    )
    reply = await nas.ask("auth", request)
    assert reply is not None and reply.code == 2
    expected = verify_mschap2("dan-secret", user, challenge, response)
    assert expected is not None and a.vendor(reply, 311, 26) == expected.success
    assert a.vendor(reply, 311, 16) is not None and a.vendor(reply, 311, 17) is not None


async def test_unknown_nas_missing_or_bad_message_authenticator_and_garbage_are_dropped(nas: Nas) -> None:
    alice = await nas.subscriber("alice", "hourly", 10_000_000)
    assert await nas.ask("auth", nas.pap(1, alice, "alice-secret", ma=False), wait=0.5) is None
    forged = bytearray(nas.pap(2, alice, "alice-secret"))
    forged[25] ^= 0xFF  # inside the Message-Authenticator
    assert await nas.ask("auth", bytes(forged), wait=0.5) is None
    zero_length_attribute = b"\x01\x03\x00\x18" + bytes(16) + b"\x01\x00\x00\x00"
    zero_length_vendor = b"\x01\x04\x00\x1e" + bytes(16) + b"\x1a\x0a\x00\x00\x01\x37\x0b\x00\x00\x00"
    for junk in (b"\x01", os.urandom(19), zero_length_attribute, zero_length_vendor, b"\x04\x01\xff\xff" + bytes(16)):
        assert await nas.ask("auth", junk, wait=0.2) is None
    bad_acct = bytearray(_accounting(nas, 3, 1, alice))
    bad_acct[5] ^= 1  # Request Authenticator
    assert await nas.ask("acct", bytes(bad_acct), wait=0.5) is None
    dropped = nas.server.stats.dropped
    assert dropped["missing_message_authenticator"] == 1
    assert dropped["bad_message_authenticator"] == 1
    assert dropped["bad_authenticator"] == 1
    assert sum(v for k, v in dropped.items() if k.startswith("malformed")) == 5
    reply = await nas.ask("auth", nas.pap(4, alice, "alice-secret"))  # still serving
    assert reply is not None and reply.code == 2


async def test_accounting_charges_once_through_retransmissions_and_answers_after_recording(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    alice = await nas.subscriber("alice", "hourly", 10_000_000)
    accept = await nas.ask("auth", nas.pap(1, alice, "alice-secret"))
    assert accept is not None
    klass = accept.first(a.CLASS)
    start = await nas.ask("acct", _accounting(nas, 1, 1, alice, klass=klass))
    assert start is not None and start.code == 5 and wire.response_ok(start, nas.sent[-1][4:20], SECRET)
    interim = _accounting(nas, 2, 3, alice, 600, klass=klass)
    first = await nas.ask("acct", interim)
    again = await nas.ask("acct", interim)  # a duplicate: the cached answer, nothing charged
    resent = await nas.ask("acct", _accounting(nas, 3, 3, alice, 600, klass=klass))  # new id, same counters
    stop = await nas.ask("acct", _accounting(nas, 4, 2, alice, 900, klass=klass))
    assert None not in (first, again, resent, stop)
    assert nas.server.stats.duplicates == 1
    assert await nas.balance(alice, "9000") == 300_000  # 900 s at 1.20 an hour
    assert await nas.balance(alice, "1000") == 9_700_000
    assert await nas.balance(alice, "8000") == 0
    await assert_ledger_sound(nas.tenant)


async def test_funds_exhausted_sends_a_disconnect_request_the_nas_acknowledges(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    carol = await nas.subscriber("carol", "data", 500_000)
    accept = await nas.ask("auth", nas.pap(1, carol, "carol-secret"))
    assert accept is not None and accept.code == 2
    klass = accept.first(a.CLASS)
    await nas.ask("acct", _accounting(nas, 1, 1, carol, klass=klass))
    await nas.ask("acct", _accounting(nas, 2, 3, carol, 60, 10**8, klass=klass))  # 0.1 GB = 1.00, 0.50 there
    data, source = await asyncio.wait_for(nas.coa.inbox.get(), 5)
    request = wire.parse(data)
    assert request.code == 40 and wire.accounting_request_ok(request, SECRET)
    assert wire.verify_message_authenticator(request, SECRET) is True
    assert request.first(a.ACCT_SESSION_ID) == b"sess-1" and request.first(a.USER_NAME) == carol.encode()
    ack = wire.sign_reply(41, request.identifier, [], request.authenticator, SECRET, request_code=40)
    assert nas.coa.transport is not None
    nas.coa.transport.sendto(ack, source)
    stop = await nas.ask("acct", _accounting(nas, 3, 2, carol, 70, 10**8, klass=klass))
    assert stop is not None
    assert await nas.balance(carol, "1000") == 0 and await nas.balance(carol, "1010") == 0
    assert await nas.balance(carol, "9000") == 500_000
    await assert_ledger_sound(nas.tenant)


async def test_a_suspended_service_is_disconnected_at_its_next_update_and_refused_after(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    from bureau.platform.subscribers.services import change_service_state, find_service

    dave = await nas.subscriber("dave", "hourly", 10_000_000)
    accept = await nas.ask("auth", nas.pap(1, dave, "dave-secret"))
    assert accept is not None and accept.code == 2
    klass = accept.first(a.CLASS)
    await nas.ask("acct", _accounting(nas, 1, 1, dave, klass=klass))
    async with nas.unit() as conn:  # dunning suspends the customer for an unpaid invoice
        await change_service_state(conn, (await find_service(conn, "radius_login", dave)).id, "suspended")
    await nas.ask("acct", _accounting(nas, 2, 3, dave, 600, klass=klass))
    data, source = await asyncio.wait_for(nas.coa.inbox.get(), 5)
    request = wire.parse(data)
    assert request.code == 40 and request.first(a.USER_NAME) == dave.encode()
    ack = wire.sign_reply(41, request.identifier, [], request.authenticator, SECRET, request_code=40)
    assert nas.coa.transport is not None
    nas.coa.transport.sendto(ack, source)
    stop = await nas.ask("acct", _accounting(nas, 3, 2, dave, 630, klass=klass))
    again = await nas.ask("auth", nas.pap(4, dave, "dave-secret"))
    assert stop is not None and again is not None and again.code == 3
    assert await nas.balance(dave, "9000") == 210_000  # 630 s at 1.20 an hour, charged as used
    assert await nas.balance(dave, "1010") == 0
    await assert_ledger_sound(nas.tenant)


async def test_plan_reply_attributes_interim_interval_and_sessions_at_once(nas: Nas) -> None:
    from bureau.platform.catalog.errors import InvalidCatalogValue
    from bureau.platform.catalog.radius import set_radius_options

    alice = await nas.subscriber("alice", "hourly", 10_000_000)
    async with nas.unit() as conn:
        await set_radius_options(
            conn,
            "hourly",
            attributes={"Mikrotik-Rate-Limit": "10M/20M", "Idle-Timeout": 900},
            max_sessions=2,
            interim_interval=120,
        )
        try:
            await set_radius_options(conn, "hourly", attributes={"Session-Timeout": 5})
        except InvalidCatalogValue as exc:
            assert "set by Bureau itself" in str(exc)
        else:
            raise AssertionError("Session-Timeout from a plan was accepted")
    replies = [await nas.ask("auth", nas.pap(number, alice, "alice-secret")) for number in (1, 2, 3)]
    assert [r.code if r else None for r in replies] == [2, 2, 3]
    first = replies[0]
    assert first is not None
    assert a.vendor(first, 14988, 8) == b"10M/20M"  # Mikrotik-Rate-Limit
    assert a.integer(first, a.IDLE_TIMEOUT) == 900
    assert a.integer(first, a.ACCT_INTERIM_INTERVAL) == 120


async def test_an_overloaded_server_drops_and_counts_instead_of_queueing(nas: Nas, monkeypatch: Any) -> None:
    from bureau.radius_proxy import server as module

    alice = await nas.subscriber("alice", "hourly", 10_000_000)
    monkeypatch.setattr(module, "MAX_IN_FLIGHT", 0)
    assert await nas.ask("auth", nas.pap(1, alice, "alice-secret"), wait=0.5) is None
    assert nas.server.stats.dropped["overloaded"] == 1
    monkeypatch.setattr(module, "MAX_IN_FLIGHT", 2048)
    retried = await nas.ask("auth", nas.pap(2, alice, "alice-secret"))  # the NAS's retry gets through
    assert retried is not None and retried.code == 2


async def test_two_server_processes_can_share_the_ports(nas: Nas) -> None:
    """SO_REUSEPORT: a second server (as another process would) binds the same ports, and
    requests from different source ports are all answered by one or the other."""
    from bureau.radius_proxy.server import RadiusServer

    alice = await nas.subscriber("alice", "hourly", 10_000_000)
    servers = [
        RadiusServer(nas.engine, nas.box, b"k" * 32, auth_port=0, acct_port=0, reuse_port=True),
    ]
    await servers[0].start()
    servers.append(
        RadiusServer(
            nas.engine,
            nas.box,
            b"k" * 32,
            auth_port=servers[0].ports["auth"],
            acct_port=servers[0].ports["acct"],
            reuse_port=True,
        )
    )
    await servers[1].start()
    try:
        assert servers[1].ports == servers[0].ports
        nas.server = servers[0]  # the conftest's NAS sends to these ports
        reply = await nas.ask("auth", nas.pap(1, alice, "alice-secret"))
        assert reply is not None and reply.code == 2
        assert servers[0].stats.received + servers[1].stats.received == 1
    finally:
        for server in servers:
            await server.stop()
