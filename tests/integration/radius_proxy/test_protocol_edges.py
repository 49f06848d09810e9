"""Protocol edge cases of the RADIUS server over UDP on loopback with real PostgreSQL
(issue 4): Gigawords, retransmissions with a new Identifier, reordering, accounting after
Stop or without Start, Accounting-On, a Disconnect NAK 503, concurrent logins of one
account, a fuzz run and packets with the wrong code for their port."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import socket
import struct
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

import pytest

from bureau.platform.ledger.check import check_ledger
from bureau.platform.ledger.entities import find_entity, isp_entity, query_account
from bureau.platform.ledger.posting import post_entry
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.radius import wire
from bureau.platform.rating.tariff import GIGABYTE
from bureau.platform.sessions import control
from bureau.platform.subscribers import customers, services
from bureau.radius_proxy import attributes as a

from .conftest import SECRET, Nas

DATA_PRICE = 10_000_000  # the conftest "data" plan: 10.00 per GB
CODES = ("1000", "1010", "8000", "9000")
SILENCE = 0.3  # seconds to wait for a reply that must not come


def _int(value: int) -> bytes:
    return struct.pack("!I", value)


def _data_charge(octets: int) -> int:
    """What the data plan charges for `octets`, rounded half-even like the rating engine."""
    return round(Fraction(octets * DATA_PRICE, GIGABYTE))


def _accounting(
    nas: Nas,
    identifier: int,
    status: int,
    login: str,
    *,
    seconds: int = 0,
    octets_in: int = 0,
    octets_out: int = 0,
    klass: bytes | None = None,
    sid: bytes = b"sess-1",
    delay: int | None = None,
) -> bytes:
    """A signed Accounting-Request; 64-bit counters are split into Octets and Gigawords."""
    attributes = [
        (1, login.encode()),
        (40, _int(status)),
        (44, sid),
        (46, _int(seconds)),
        (42, _int(octets_in % 2**32)),
        (52, _int(octets_in >> 32)),
        (43, _int(octets_out % 2**32)),
        (53, _int(octets_out >> 32)),
    ]
    if delay is not None:
        attributes.append((41, _int(delay)))
    if klass is not None:
        attributes.append((25, klass))
    return nas.accounting(identifier, attributes)


async def _answered(nas: Nas, datagram: bytes) -> wire.RawPacket:
    """Send an Accounting-Request and return its verified Accounting-Response."""
    reply = await nas.ask("acct", datagram)
    assert reply is not None, "no Accounting-Response"
    assert reply.code == 5 and reply.identifier == datagram[1]
    assert wire.response_ok(reply, datagram[4:20], SECRET)
    return reply


async def _login(nas: Nas, identifier: int, login: str) -> bytes:
    """Log in with PAP (password "<name>-secret"); return the Class of the Access-Accept."""
    reply = await nas.ask("auth", nas.pap(identifier, login, f"{login.partition('@')[0]}-secret"))
    assert reply is not None and reply.code == 2, login
    klass = reply.first(a.CLASS)
    assert klass is not None
    return klass


async def _balances(nas: Nas, login: str) -> dict[str, int]:
    return {code: await nas.balance(login, code) for code in CODES}


async def _live(nas: Nas, login: str | None = None) -> list[control.LiveSession]:
    async with nas.unit() as conn:
        return await control.live_sessions(conn, login=login)


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _customer_with_logins(nas: Nas, name: str, plan: str, balance: int, logins: int) -> tuple[str, list[str]]:
    """A prepaid customer `name` with `logins` active RADIUS logins "<name>N@realm" (password
    "<name>N-secret") that share one main balance of `balance`; returns its code and logins."""
    code = f"{name}@{nas.realm}"
    found = []
    async with nas.unit() as conn:
        await customers.create_customer(conn, code=code, name=name, email=f"{name}@mail.example",
                                        address=customers.Address("US"), prepaid=True)  # fmt: skip
        for number in range(1, logins + 1):
            login = f"{name}{number}@{nas.realm}"
            service = await services.add_service(conn, nas.box, customer=code, kind="radius_login", login=login,
                                                 plan=plan, password=f"{name}{number}-secret")  # fmt: skip
            await services.change_service_state(conn, service.id, "active")
            found.append(login)
        main = await query_account(conn, (await find_entity(conn, code)).id, "1000")
        opening = await query_account(conn, (await isp_entity(conn)).id, "3900")
        await post_entry(conn, NewEntry(f"open:{code}", "Opening", (debit(opening.id, balance, "USD"),
                                                                    credit(main.id, balance, "USD"))))  # fmt: skip
    return code, found


# --- 1. Gigawords ----------------------------------------------------------------------


async def test_wrapped_output_octets_are_charged_on_the_64_bit_total_exactly_once(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    dave = await nas.subscriber("dave", "data", 100_000_000)
    klass = await _login(nas, 1, dave)
    await _answered(nas, _accounting(nas, 1, 1, dave, klass=klass))
    uploaded, downloaded = 1_000, 2**32 + 123_456  # Acct-Output-Gigawords 1, Acct-Output-Octets 123456
    expected = _data_charge(uploaded + downloaded)
    assert expected == 42_950_918  # 4.295 GB at 10.00/GB, not the 1 245 of the 32-bit counters
    await _answered(nas, _accounting(nas, 2, 3, dave, seconds=60, octets_in=uploaded, octets_out=downloaded,
                                     klass=klass))  # fmt: skip
    assert await nas.balance(dave, "9000") == expected
    await _answered(nas, _accounting(nas, 3, 3, dave, seconds=90, octets_in=uploaded, octets_out=downloaded,
                                     klass=klass))  # fmt: skip
    await _answered(nas, _accounting(nas, 4, 2, dave, seconds=120, octets_in=uploaded, octets_out=downloaded,
                                     klass=klass))  # fmt: skip
    assert await _balances(nas, dave) == {"1000": 100_000_000 - expected, "1010": 0, "8000": 0, "9000": expected}
    await assert_ledger_sound(nas.tenant)


# --- 2. Retransmission, reordering, after Stop --------------------------------------------


async def test_interim_resent_with_new_identifier_and_delay_charges_nothing_the_second_time(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    erin = await nas.subscriber("erin", "data", 10_000_000)
    klass = await _login(nas, 1, erin)
    await _answered(nas, _accounting(nas, 1, 1, erin, klass=klass))
    first = _accounting(nas, 2, 3, erin, seconds=300, octets_out=10**8, klass=klass, delay=0)
    resent = _accounting(nas, 3, 3, erin, seconds=300, octets_out=10**8, klass=klass, delay=5)
    assert first[4:20] != resent[4:20]  # a new request for the duplicate cache, not a replay
    await _answered(nas, first)
    after_first = await _balances(nas, erin)
    assert after_first["9000"] == 1_000_000  # 0.1 GB at 10.00/GB
    await _answered(nas, resent)
    assert nas.server.stats.duplicates == 0
    assert await _balances(nas, erin) == after_first
    await assert_ledger_sound(nas.tenant)


async def test_an_older_interim_arriving_after_a_newer_one_charges_nothing(nas: Nas, assert_ledger_sound: Any) -> None:
    fred = await nas.subscriber("fred", "data", 10_000_000)
    klass = await _login(nas, 1, fred)
    await _answered(nas, _accounting(nas, 1, 1, fred, klass=klass))
    newer = _accounting(nas, 3, 3, fred, seconds=600, octets_out=2 * 10**8, klass=klass)
    older = _accounting(nas, 2, 3, fred, seconds=300, octets_out=10**8, klass=klass)
    await _answered(nas, newer)
    after_newer = await _balances(nas, fred)
    assert after_newer["9000"] == 2_000_000
    await _answered(nas, older)
    assert await _balances(nas, fred) == after_newer
    await _answered(nas, _accounting(nas, 4, 2, fred, seconds=610, octets_out=2 * 10**8, klass=klass))
    assert await _balances(nas, fred) == {"1000": 8_000_000, "1010": 0, "8000": 0, "9000": 2_000_000}
    await assert_ledger_sound(nas.tenant)


async def test_an_interim_after_stop_is_answered_and_moves_no_balance(nas: Nas, assert_ledger_sound: Any) -> None:
    gina = await nas.subscriber("gina", "data", 10_000_000)
    klass = await _login(nas, 1, gina)
    await _answered(nas, _accounting(nas, 1, 1, gina, klass=klass))
    await _answered(nas, _accounting(nas, 2, 2, gina, seconds=300, octets_out=10**8, klass=klass))
    stopped = await _balances(nas, gina)
    assert stopped == {"1000": 9_000_000, "1010": 0, "8000": 0, "9000": 1_000_000}
    await _answered(nas, _accounting(nas, 3, 3, gina, seconds=600, octets_out=3 * 10**8, klass=klass))
    await _answered(nas, _accounting(nas, 4, 3, gina, seconds=900, octets_out=5 * 10**8))  # and without Class
    assert await _balances(nas, gina) == stopped
    assert await _live(nas, gina) == []
    await assert_ledger_sound(nas.tenant)


async def test_a_new_session_reusing_a_closed_acct_session_id_is_charged(nas: Nas, assert_ledger_sound: Any) -> None:
    olga = await nas.subscriber("olga", "data", 10_000_000)
    old = await _login(nas, 1, olga)
    await _answered(nas, _accounting(nas, 1, 1, olga, klass=old))
    await _answered(nas, _accounting(nas, 2, 2, olga, seconds=60, octets_out=10**8, klass=old))
    new = await _login(nas, 2, olga)  # after a NAS reboot: the same Acct-Session-Id "sess-1" again
    assert new != old
    await _answered(nas, _accounting(nas, 3, 1, olga, klass=new))
    await _answered(nas, _accounting(nas, 4, 3, olga, seconds=60, octets_out=10**8, klass=new))
    assert [session.state for session in await _live(nas, olga)] == ["open"]
    assert await nas.balance(olga, "9000") == 2_000_000
    await _answered(nas, _accounting(nas, 5, 2, olga, seconds=90, octets_out=10**8, klass=new))
    assert await _balances(nas, olga) == {"1000": 8_000_000, "1010": 0, "8000": 0, "9000": 2_000_000}
    await assert_ledger_sound(nas.tenant)


# --- 3. Stop without Start ---------------------------------------------------------------


async def test_a_stop_without_start_or_class_opens_closes_and_charges_the_session(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    hank = await nas.subscriber("hank", "hourly", 10_000_000)
    await _answered(nas, _accounting(nas, 1, 2, hank, seconds=600, sid=b"lost-start"))
    assert await _balances(nas, hank) == {"1000": 9_800_000, "1010": 0, "8000": 0, "9000": 200_000}  # 600 s at 1.20/h
    assert await _live(nas, hank) == []
    await _answered(nas, _accounting(nas, 2, 2, f"nobody@{nas.realm}", seconds=600, sid=b"x"))  # unknown: answered
    await assert_ledger_sound(nas.tenant)


# --- 4. Accounting-On / Accounting-Off -----------------------------------------------------


@pytest.mark.parametrize("status", [7, 8], ids=["accounting-on", "accounting-off"])
async def test_accounting_on_or_off_closes_the_nas_sessions_and_releases_their_reservations(
    nas: Nas, assert_ledger_sound: Any, status: int
) -> None:
    iris = await nas.subscriber("iris", "hourly", 10_000_000)
    jack = await nas.subscriber("jack", "hourly", 10_000_000)
    klass = await _login(nas, 1, iris)
    await _answered(nas, _accounting(nas, 1, 1, iris, klass=klass))  # open
    await _login(nas, 2, jack)  # authorized, its Start not yet sent
    for login in (iris, jack):
        assert await _balances(nas, login) == {"1000": 8_000_000, "1010": 2_000_000, "8000": 1, "9000": 0}
    reboot = nas.accounting(3, [(40, _int(status)), (4, ipaddress.IPv4Address(nas.address).packed), (44, b"0")])
    await _answered(nas, reboot)
    for login in (iris, jack):
        assert await _balances(nas, login) == {"1000": 10_000_000, "1010": 0, "8000": 0, "9000": 0}, login
    assert await _live(nas) == []
    await assert_ledger_sound(nas.tenant)


# --- 5. Disconnect NAK 503 -------------------------------------------------------------------


async def test_a_disconnect_nak_session_context_not_found_closes_the_session(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    kate = await nas.subscriber("kate", "data", 500_000)
    klass = await _login(nas, 1, kate)
    await _answered(nas, _accounting(nas, 1, 1, kate, klass=klass))
    await _answered(nas, _accounting(nas, 2, 3, kate, seconds=60, octets_out=10**8, klass=klass))  # 1.00 > 0.50
    data, source = await asyncio.wait_for(nas.coa.inbox.get(), 5)
    request = wire.parse(data)
    assert request.code == 40 and request.first(a.ACCT_SESSION_ID) == b"sess-1"
    nak = wire.sign_reply(42, request.identifier, [(a.ERROR_CAUSE, _int(503))], request.authenticator, SECRET,
                          request_code=40)  # fmt: skip
    assert nas.coa.transport is not None
    nas.coa.transport.sendto(nak, source)

    async def closed() -> bool:
        return await _live(nas, kate) == []

    await _eventually(closed, what="the session to close after NAK 503")
    assert await _balances(nas, kate) == {"1000": 0, "1010": 0, "8000": 0, "9000": 500_000}
    assert nas.server.disconnector.answered == {"nak:503": 1}
    await assert_ledger_sound(nas.tenant)


# --- 6. Concurrent logins of one account -----------------------------------------------------


LOGIN_RACE_BALANCE = 3_000_000  # one full reservation (2.00) and a partial one (1.00)


async def _race_logins(nas: Nas, customers_: int, rounds: int, wait: float) -> tuple[list[str], dict[int, Any]]:
    """`customers_` prepaid customers with two logins each send their Access-Requests all
    at once; unanswered ones are retransmitted unchanged, as a NAS does, `rounds - 1` times.
    Returns the customers' codes and the replies by Identifier (None: unanswered)."""
    codes, requests = [], {}
    for number in range(customers_):
        code, logins = await _customer_with_logins(nas, f"team{number}", "hourly", LOGIN_RACE_BALANCE, 2)
        codes.append(code)
        for login in logins:
            identifier = len(requests) + 1
            requests[identifier] = nas.pap(identifier, login, f"{login.partition('@')[0]}-secret")
    replies: dict[int, Any] = dict.fromkeys(requests)
    loop = asyncio.get_running_loop()
    for _ in range(rounds):
        for identifier, datagram in requests.items():  # all at once: nobody waits for an answer
            if replies[identifier] is None:
                nas.send("auth", datagram)
        deadline = loop.time() + wait
        while None in replies.values() and (left := deadline - loop.time()) > 0:
            try:
                data, _ = await asyncio.wait_for(nas.client.inbox.get(), left)
            except TimeoutError:
                break
            reply = wire.parse(data)
            replies[reply.identifier] = reply
        if None not in replies.values():
            break
    return codes, replies


async def _main_and_reserve(nas: Nas, code: str) -> tuple[int, int]:
    async with nas.unit() as conn:
        entity = (await find_entity(conn, code)).id
        return (await query_account(conn, entity, "1000")).balance, (await query_account(conn, entity, "1010")).balance


async def test_concurrent_logins_of_one_account_never_reserve_more_than_its_balance(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    codes, replies = await _race_logins(nas, 2, rounds=3, wait=1.0)
    assert None not in replies.values(), f"unanswered after retransmissions: {replies}"
    for code in codes:
        main, reserved = await _main_and_reserve(nas, code)
        assert 0 <= reserved <= LOGIN_RACE_BALANCE and main >= 0, (code, main, reserved)
        assert main + reserved == LOGIN_RACE_BALANCE, (code, main, reserved)
    assert [reply.code for reply in replies.values()] == [2] * len(replies)  # 2.00 and 1.00: both get a session
    await assert_ledger_sound(nas.tenant)


async def test_concurrent_logins_of_one_account_are_all_answered_at_the_first_transmission(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    codes, replies = await _race_logins(nas, 2, rounds=1, wait=1.0)
    assert nas.server.stats.dropped["error"] == 0, dict(nas.server.stats.dropped)
    assert None not in replies.values(), f"unanswered: {[i for i, r in replies.items() if r is None]}"
    for code in codes:
        assert await _main_and_reserve(nas, code) == (0, LOGIN_RACE_BALANCE)
    await assert_ledger_sound(nas.tenant)


# --- 7. Fuzz -----------------------------------------------------------------------------------


def _zero_length_vendor(rng: random.Random, user: bytes) -> bytes:
    """A correctly signed Access-Request whose Vendor-Specific attribute is cut short:
    no vendor id, or a sub-attribute of length 0 or 1."""
    vsa = rng.choice(
        [
            b"",  # Vendor-Specific of length 2
            b"\x00\x00\x01",  # length 5: no room for the vendor id
            (311).to_bytes(4, "big") + b"\x0b\x00",  # MS-CHAP-Challenge of length 0
            (311).to_bytes(4, "big") + b"\x19\x01",  # MS-CHAP2-Response of length 1
            (9).to_bytes(4, "big") + b"\x01\x00" + b"abc",  # Cisco AV-Pair of length 0
            (14988).to_bytes(4, "big") + b"\x08",  # Mikrotik: a cut-off sub-attribute header
        ]
    )
    raw_vsa = bytes((26, len(vsa) + 2)) + vsa
    body = wire.encode_attributes([(80, bytes(16)), (1, user)]) + raw_vsa
    data = wire.build(1, rng.randrange(256), rng.randbytes(16), body)
    return data[:22] + wire.message_authenticator(data, SECRET) + data[38:]


def _oversized(rng: random.Random, template: bytes) -> bytes:
    size = rng.randrange(4097, 6000)
    data = bytearray(template + rng.randbytes(size - len(template)))
    data[2:4] = (size if rng.random() < 0.5 else 0xFFFF).to_bytes(2, "big")  # the Length field says so too
    return bytes(data)


def _flip(rng: random.Random, template: bytes) -> bytes:
    data = bytearray(template)
    for bit in rng.sample(range(len(data) * 8), rng.randint(1, 3)):  # distinct bits: never the original
        data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


FUZZ_KINDS = ("empty", "random", "truncated", "flipped", "vendor", "oversized")


def _hostile(rng: random.Random, templates: list[bytes], user: bytes) -> list[tuple[str, str, bytes]]:
    """300 (kind, port, datagram): every kind once, then random kinds; never a valid request."""
    found = []
    for number in range(300):
        kind = FUZZ_KINDS[number] if number < len(FUZZ_KINDS) else rng.choice(FUZZ_KINDS[1:])
        template = rng.choice(templates)
        if kind == "empty":
            datagram = b""
        elif kind == "random":
            datagram = rng.randbytes(rng.randrange(1, 300))
        elif kind == "truncated":
            datagram = template[: rng.randrange(0, len(template))]
        elif kind == "flipped":
            datagram = _flip(rng, template)
        elif kind == "vendor":
            datagram = _zero_length_vendor(rng, user)
        else:
            datagram = _oversized(rng, template)
        found.append((kind, rng.choice(["auth", "acct"]), datagram))
    return found


async def test_300_hostile_datagrams_are_dropped_counted_and_move_no_balance(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    lara = await nas.subscriber("lara", "data", 10_000_000)
    mike = await nas.subscriber("mike", "data", 10_000_000)
    klass = await _login(nas, 1, lara)
    await _answered(nas, _accounting(nas, 1, 1, lara, klass=klass))  # an open session fuzzed packets could charge
    before = {login: await _balances(nas, login) for login in (lara, mike)}
    assert before[lara]["1010"] == 2_000_000
    templates = [
        nas.pap(7, mike, "mike-secret"),
        _accounting(nas, 8, 3, lara, seconds=3600, octets_out=5 * 10**8, klass=klass),
        _accounting(nas, 9, 2, lara, seconds=3600, octets_out=2**32 + 5, klass=klass),
        _accounting(nas, 10, 1, mike, sid=b"fuzz"),
        nas.accounting(11, [(40, _int(7)), (44, b"0")]),  # Accounting-On would close lara's session
    ]
    hostile = _hostile(random.Random(20260401), templates, mike.encode())  # noqa: S311 - reproducible, no secret
    assert len(hostile) == 300 and {kind for kind, _, _ in hostile} == set(FUZZ_KINDS)
    stats = nas.server.stats
    received, dropped = stats.received, sum(stats.dropped.values())
    accounted, accepted = stats.accounted, stats.accepted
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.bind((nas.address, 0))  # asyncio's sendto swallows an empty datagram: send those from here
        for number, (_, port, datagram) in enumerate(hostile, start=1):
            if datagram:
                nas.send(port, datagram)
            else:
                raw.sendto(datagram, ("127.0.0.1", nas.server.ports[port]))
            if number % 10 == 0:  # let the listeners drain their socket buffers

                async def caught_up(target: int = received + number) -> bool:
                    return stats.received >= target

                await _eventually(caught_up, what=f"the server to read {number} fuzz datagrams")
    assert stats.received == received + 300
    await asyncio.sleep(SILENCE)  # nothing was started, but give a stray task the time to show itself
    assert sum(stats.dropped.values()) == dropped + 300, dict(stats.dropped)
    assert stats.dropped["error"] == 0 and stats.duplicates == 0
    assert (stats.accounted, stats.accepted) == (accounted, accepted)
    assert nas.client.inbox.empty()  # no datagram was answered
    assert {login: await _balances(nas, login) for login in (lara, mike)} == before
    async with nas.unit() as conn:
        report = await check_ledger(conn)
    assert report.ok, report.problems
    reply = await nas.ask("auth", nas.pap(12, mike, "mike-secret"))  # still serving
    assert reply is not None and reply.code == 2
    await assert_ledger_sound(nas.tenant)


# --- 8. Wrong code for the port ------------------------------------------------------------------


async def test_status_server_and_requests_on_the_wrong_port_are_dropped_as_wrong_code(
    nas: Nas, assert_ledger_sound: Any
) -> None:
    nina = await nas.subscriber("nina", "hourly", 10_000_000)
    status_server = wire.build(12, 1, os.urandom(16), wire.encode_attributes([(80, bytes(16))]))
    status_server = status_server[:22] + wire.message_authenticator(status_server, SECRET) + status_server[38:]
    start = _accounting(nas, 2, 1, nina, sid=b"wrong-port")
    access = nas.pap(3, nina, "nina-secret")
    for port, datagram in (("auth", status_server), ("acct", status_server), ("auth", start), ("acct", access)):
        assert await nas.ask(port, datagram, wait=SILENCE) is None, (port, datagram[0])
    assert nas.server.stats.dropped["wrong_code"] == 4
    assert sum(nas.server.stats.dropped.values()) == 4
    assert await _balances(nas, nina) == {"1000": 10_000_000, "1010": 0, "8000": 0, "9000": 0}
    assert await _live(nas, nina) == []
    # the same datagrams on their own ports are served: the drops left no trace in the duplicate cache
    accept = await nas.ask("auth", access)
    assert accept is not None and accept.code == 2
    await _answered(nas, start)
    await assert_ledger_sound(nas.tenant)
