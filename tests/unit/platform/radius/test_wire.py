"""wire: strict parsing of RADIUS datagrams, authenticators and Message-Authenticator.

Expected authenticators are computed here with hashlib/hmac straight from the RFC
formulas (or taken from RFC 2865 §7.1), never through the module under test; the pyrad
tests show that both sides of the wire agree with a widely used implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import struct
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrad.dictionary import Dictionary
from pyrad.packet import AcctPacket, AuthPacket, CoAPacket, Packet

from bureau.platform.radius import wire
from bureau.platform.radius.wire import MalformedPacket, RawPacket

SECRET = b"s3cret-shared"
ZERO16 = bytes(16)

DICTIONARY_TEXT = """
ATTRIBUTE   User-Name               1   string
ATTRIBUTE   NAS-IP-Address          4   ipaddr
ATTRIBUTE   Class                   25  octets
ATTRIBUTE   Vendor-Specific         26  octets
ATTRIBUTE   Proxy-State             33  octets
ATTRIBUTE   Acct-Status-Type        40  integer
ATTRIBUTE   Acct-Delay-Time         41  integer
ATTRIBUTE   Acct-Input-Octets       42  integer
ATTRIBUTE   Acct-Session-Id         44  string
ATTRIBUTE   Event-Timestamp         55  date
ATTRIBUTE   Message-Authenticator   80  octets
ATTRIBUTE   Reply-Message           18  string
ATTRIBUTE   Session-Timeout         27  integer

VENDOR      Mikrotik                14988
BEGIN-VENDOR Mikrotik
ATTRIBUTE   Mikrotik-Recv-Limit     1   integer
ATTRIBUTE   Mikrotik-Rate-Limit     8   string
END-VENDOR  Mikrotik
"""


@cache
def dictionary() -> Dictionary:
    return Dictionary(io.StringIO(DICTIONARY_TEXT))


def attr(attribute_type: int, value: bytes) -> bytes:
    return bytes((attribute_type, len(value) + 2)) + value


def packet_bytes(code: int, identifier: int, authenticator: bytes, attributes: bytes) -> bytes:
    return struct.pack("!BBH", code, identifier, 20 + len(attributes)) + authenticator + attributes


def mikrotik_vsa(sub_type: int, value: bytes) -> bytes:
    return attr(26, (14988).to_bytes(4, "big") + attr(sub_type, value))


# RFC 2865 §7.1: an Access-Request for "nemo" and its Access-Accept, secret "xyzzy5461".
RFC_REQUEST = bytes.fromhex(
    "010000380f403f947397805 7bd83d5cb98f4227a01066e656d6f02120dbe708d93d413ce3196e43f782a0aee"
    "0406c0a80110050600000003".replace(" ", "")
)
RFC_ACCEPT = bytes.fromhex("0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103")
RFC_SECRET = b"xyzzy5461"


# --- parsing ------------------------------------------------------------------------------


def test_the_rfc_2865_access_request_parses_into_its_attributes() -> None:
    packet = wire.parse(RFC_REQUEST)
    assert (packet.code, packet.identifier) == (1, 0)
    assert packet.authenticator == RFC_REQUEST[4:20]
    assert packet.first(1) == b"nemo"
    assert packet.first(4) == bytes((192, 168, 1, 16))
    assert [t for t, _ in packet.attributes] == [1, 2, 4, 5]
    assert packet.first(80) is None
    assert packet.data == RFC_REQUEST


def test_octets_beyond_the_length_field_are_padding_and_ignored() -> None:
    packet = wire.parse(RFC_REQUEST + b"\xff" * 30)
    assert packet.data == RFC_REQUEST
    assert len(packet.attributes) == 4


def test_all_returns_repeated_attributes_in_wire_order_and_proxy_states_follows_it() -> None:
    body = attr(33, b"one") + attr(1, b"bob") + attr(33, b"two") + attr(33, b"three")
    packet = wire.parse(packet_bytes(1, 9, bytes(range(16)), body))
    assert packet.all(33) == [b"one", b"two", b"three"]
    assert wire.proxy_states(packet) == [b"one", b"two", b"three"]
    assert packet.all(25) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too_short"),
        (b"\x01\x00\x00\x14" + bytes(15), "too_short"),
        (b"\x01\x00\x00\x13" + bytes(16), "bad_length"),  # Length 19 < 20
        (b"\x01\x00\x00\x30" + bytes(16), "bad_length"),  # Length 48 > 20 octets received
        (b"\x01\x00\x10\x01" + bytes(4097), "too_long"),  # Length 4097
        (b"\x07\x00\x00\x14" + bytes(16), "unknown_code"),
        (packet_bytes(1, 0, ZERO16, b"\x01"), "bad_attribute_length"),  # header cut off
        (packet_bytes(1, 0, ZERO16, b"\x01\x01"), "bad_attribute_length"),  # length 1
        (packet_bytes(1, 0, ZERO16, b"\x01\x00"), "bad_attribute_length"),  # length 0
        (packet_bytes(1, 0, ZERO16, b"\x01\x08abc"), "bad_attribute_length"),  # runs past the end
        (packet_bytes(1, 0, ZERO16, attr(26, b"\x00\x00\x3a")), "bad_vendor_length"),  # no vendor id
        (packet_bytes(1, 0, ZERO16, attr(26, b"\x00\x00\x3a\x8c\x01\x00")), "bad_vendor_length"),  # sub length 0
        (packet_bytes(1, 0, ZERO16, attr(26, b"\x00\x00\x3a\x8c\x01\x01")), "bad_vendor_length"),  # sub length 1
        (packet_bytes(1, 0, ZERO16, attr(26, b"\x00\x00\x3a\x8c\x01\x05ab")), "bad_vendor_length"),  # too long
        (packet_bytes(1, 0, ZERO16, attr(26, b"\x00\x00\x3a\x8c\x01\x03ab")), "bad_vendor_length"),  # not filled
        (packet_bytes(1, 0, ZERO16, attr(26, b"\x00\x00\x3a\x8c\x01")), "bad_vendor_length"),  # header cut
        (packet_bytes(1, 0, ZERO16, attr(80, bytes(15))), "bad_message_authenticator"),
        (packet_bytes(1, 0, ZERO16, attr(80, ZERO16) + attr(80, ZERO16)), "duplicate_message_authenticator"),
    ],
)
def test_malformed_datagrams_are_refused_with_a_machine_reason(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket) as raised:
        wire.parse(data)
    assert raised.value.reason == reason
    assert str(raised.value)  # a message a person can read


def test_a_packet_of_exactly_4096_octets_is_accepted() -> None:
    body = b"".join(attr(18, b"x" * 253) for _ in range(15)) + attr(18, b"y" * 249)
    data = packet_bytes(2, 1, ZERO16, body)
    assert len(data) == 4096
    assert wire.parse(data).data == data


def test_vendor_specific_with_well_formed_sub_attributes_is_accepted_whole() -> None:
    vsa = (14988).to_bytes(4, "big") + attr(8, b"10M/10M") + attr(1, b"\x00\x00\x10\x00")
    packet = wire.parse(packet_bytes(2, 3, ZERO16, attr(26, vsa)))
    assert packet.first(26) == vsa


def test_a_vendor_specific_with_only_a_vendor_id_is_accepted() -> None:
    assert wire.parse(packet_bytes(2, 3, ZERO16, attr(26, b"\x00\x00\x3a\x8c"))).first(26) == b"\x00\x00\x3a\x8c"


def test_vendors_with_other_sub_attribute_formats_are_checked_in_their_own_format() -> None:
    starent = (8164).to_bytes(4, "big") + b"\x00\x05\x00\x06ab"  # 2-octet type, 2-octet length
    assert wire.parse(packet_bytes(2, 3, ZERO16, attr(26, starent))).first(26) == starent
    usr = (429).to_bytes(4, "big") + b"\x00\x00\x90\x1a" + b"value"  # 4-octet type, no length
    assert wire.parse(packet_bytes(2, 3, ZERO16, attr(26, usr))).first(26) == usr
    with pytest.raises(MalformedPacket):
        wire.parse(packet_bytes(2, 3, ZERO16, attr(26, (8164).to_bytes(4, "big") + b"\x00\x05\x00\x09ab")))


# --- authenticators ---------------------------------------------------------------------


def test_the_rfc_2865_access_accept_verifies_against_the_request_authenticator() -> None:
    request, accept = wire.parse(RFC_REQUEST), wire.parse(RFC_ACCEPT)
    assert wire.response_ok(accept, request.authenticator, RFC_SECRET)
    assert not wire.response_ok(accept, request.authenticator, b"wrong")
    assert not wire.response_ok(accept, ZERO16, RFC_SECRET)
    assert wire.response_authenticator(2, 0, request.authenticator, RFC_ACCEPT[20:], RFC_SECRET) == RFC_ACCEPT[4:20]


def hand_built_accounting_request() -> tuple[bytes, bytes]:
    """An Accounting-Request signed by hand: (datagram, its attributes)."""
    attributes = attr(40, (1).to_bytes(4, "big")) + attr(44, b"sess-0001") + attr(1, b"alice@example.net")
    header = struct.pack("!BBH", 4, 0x2A, 20 + len(attributes))
    authenticator = hashlib.md5(header + ZERO16 + attributes + SECRET).digest()
    return header + authenticator + attributes, attributes


def test_a_hand_built_accounting_request_verifies() -> None:
    data, attributes = hand_built_accounting_request()
    packet = wire.parse(data)
    assert wire.accounting_request_ok(packet, SECRET)
    assert wire.request_authenticator_for(4, 0x2A, attributes, SECRET) == data[4:20]
    assert not wire.accounting_request_ok(packet, b"other-secret")


def test_an_accounting_request_with_a_changed_octet_fails_verification() -> None:
    data, _ = hand_built_accounting_request()
    tampered = data[:-1] + bytes((data[-1] ^ 1,))
    assert not wire.accounting_request_ok(wire.parse(tampered), SECRET)


def test_a_hand_built_access_request_message_authenticator_verifies() -> None:
    authenticator = bytes(range(100, 116))
    attributes = attr(80, ZERO16) + attr(1, b"alice") + attr(4, bytes((10, 0, 0, 1)))
    header = struct.pack("!BBH", 1, 7, 20 + len(attributes))
    mac = hmac.new(SECRET, header + authenticator + attributes, hashlib.md5).digest()
    signed = attr(80, mac) + attributes[18:]
    data = header + authenticator + signed
    assert wire.message_authenticator(header + authenticator + attributes, SECRET) == mac
    packet = wire.parse(data)
    assert wire.verify_message_authenticator(packet, SECRET) is True
    assert wire.verify_message_authenticator(packet, b"wrong") is False
    forged = data[:-1] + b"\x02"
    assert wire.verify_message_authenticator(wire.parse(forged), SECRET) is False


def test_verify_message_authenticator_is_none_when_the_packet_has_none() -> None:
    assert wire.verify_message_authenticator(wire.parse(RFC_REQUEST), RFC_SECRET) is None


def test_a_reply_needs_the_request_authenticator_to_verify_its_message_authenticator() -> None:
    reply = wire.parse(wire.sign_reply(2, 1, [], bytes(range(16)), SECRET))
    with pytest.raises(ValueError, match="request's authenticator"):
        wire.verify_message_authenticator(reply, SECRET)
    assert wire.verify_message_authenticator(reply, SECRET, bytes(range(16))) is True
    assert wire.verify_message_authenticator(reply, SECRET, ZERO16) is False


def test_sign_reply_puts_the_message_authenticator_first_and_signs_it_by_hand_formula() -> None:
    request_authenticator = bytes(range(16))
    data = wire.sign_reply(2, 5, [(27, (3600).to_bytes(4, "big")), (80, b"")], request_authenticator, SECRET)
    packet = wire.parse(data)
    assert [t for t, _ in packet.attributes] == [80, 27]
    zeroed = data[:4] + request_authenticator + attr(80, ZERO16) + data[38:]
    assert packet.first(80) == hmac.new(SECRET, zeroed, hashlib.md5).digest()
    assert packet.authenticator == hashlib.md5(data[:4] + request_authenticator + data[20:] + SECRET).digest()


def test_sign_reply_adds_a_missing_message_authenticator_to_access_replies_only() -> None:
    assert wire.parse(wire.sign_reply(3, 5, [], ZERO16, SECRET)).first(80) is not None
    assert wire.parse(wire.sign_reply(5, 5, [], ZERO16, SECRET)).first(80) is None


def test_sign_request_computes_the_message_authenticator_over_zeros_then_the_request_authenticator() -> None:
    data = wire.sign_request(43, 9, [(1, b"alice"), (80, ZERO16), (44, b"s-1")], SECRET)
    packet = wire.parse(data)
    zeroed = data[:4] + ZERO16 + data[20:27] + attr(80, ZERO16) + data[45:]
    assert packet.first(80) == hmac.new(SECRET, zeroed, hashlib.md5).digest()
    assert packet.authenticator == hashlib.md5(data[:4] + ZERO16 + data[20:] + SECRET).digest()
    assert wire.accounting_request_ok(packet, SECRET)
    assert wire.verify_message_authenticator(packet, SECRET) is True


def test_sign_request_refuses_access_requests_and_sign_reply_refuses_requests() -> None:
    with pytest.raises(ValueError):
        wire.sign_request(1, 0, [], SECRET)
    with pytest.raises(ValueError):
        wire.sign_reply(4, 0, [], ZERO16, SECRET)
    with pytest.raises(ValueError, match="at most one"):
        wire.sign_request(4, 0, [(80, b""), (80, b"")], SECRET)


def test_encode_attributes_and_build_refuse_values_that_do_not_fit() -> None:
    assert wire.encode_attributes([(1, b""), (18, b"x" * 253)]) == b"\x01\x02" + b"\x12\xff" + b"x" * 253
    with pytest.raises(ValueError):
        wire.encode_attributes([(18, b"x" * 254)])
    with pytest.raises(ValueError):
        wire.build(2, 0, ZERO16, b"\x12\xff" + b"x" * 253 + bytes(4096 - 20 - 255 + 1))
    with pytest.raises(ValueError):
        wire.build(2, 256, ZERO16, b"")
    with pytest.raises(ValueError):
        wire.build(2, 0, bytes(15), b"")


# --- interoperability with pyrad -----------------------------------------------------------


def test_a_pyrad_access_request_parses_and_its_message_authenticator_verifies() -> None:
    request = AuthPacket(id=17, secret=SECRET, dict=dictionary(), User_Name="bob@example.net")
    request["NAS-IP-Address"] = "192.0.2.1"
    request["Proxy-State"] = b"ps-1"
    request.add_message_authenticator()
    packet = wire.parse(request.RequestPacket())
    assert (packet.code, packet.identifier) == (1, 17)
    assert packet.first(1) == b"bob@example.net"
    assert wire.proxy_states(packet) == [b"ps-1"]
    assert wire.verify_message_authenticator(packet, SECRET) is True
    assert wire.verify_message_authenticator(packet, b"wrong") is False


def test_a_pyrad_access_accept_verifies_and_so_does_ours_in_pyrad() -> None:
    request = AuthPacket(id=18, secret=SECRET, dict=dictionary(), User_Name="bob")
    request.add_message_authenticator()
    raw_request = request.RequestPacket()
    ours = wire.parse(raw_request)

    pyrad_reply = request.CreateReply(Session_Timeout=3600)  # pyrad adds a Message-Authenticator
    reply = wire.parse(pyrad_reply.ReplyPacket())
    assert wire.response_ok(reply, ours.authenticator, SECRET)
    assert wire.verify_message_authenticator(reply, SECRET, ours.authenticator) is True

    signed = wire.sign_reply(2, 18, [(27, (3600).to_bytes(4, "big"))], ours.authenticator, SECRET)
    decoded = request.CreateReply(packet=signed)
    assert request.VerifyReply(decoded, signed, enforce_ma=True)


def test_a_pyrad_accounting_request_verifies_with_and_without_message_authenticator() -> None:
    for with_ma in (False, True):
        request = AcctPacket(id=40, secret=SECRET, dict=dictionary(), User_Name="carol")
        request["Acct-Status-Type"] = 1
        request["Acct-Session-Id"] = "abc-1"
        request["Vendor-Specific"] = (14988).to_bytes(4, "big") + attr(1, (4096).to_bytes(4, "big"))
        if with_ma:
            request.add_message_authenticator()
        packet = wire.parse(request.RequestPacket())
        assert wire.accounting_request_ok(packet, SECRET)
        assert wire.verify_message_authenticator(packet, SECRET) is (True if with_ma else None)


def test_our_accounting_request_and_response_interoperate_with_pyrad() -> None:
    data = wire.sign_request(4, 41, [(80, b""), (40, (3).to_bytes(4, "big")), (44, b"abc-2")], SECRET)
    decoded = AcctPacket(secret=SECRET, dict=dictionary(), packet=data)
    assert decoded.VerifyAcctRequest()
    assert decoded.verify_message_authenticator()

    request = wire.parse(data)
    pyrad_reply = decoded.CreateReply(message_authenticator=True)
    reply = wire.parse(pyrad_reply.ReplyPacket())
    assert wire.response_ok(reply, request.authenticator, SECRET)
    vector = wire.reply_vector(reply.code, request.authenticator, request.code)
    assert wire.verify_message_authenticator(reply, SECRET, vector) is True

    ours = wire.sign_reply(5, 41, [(80, b"")], request.authenticator, SECRET, request_code=4)
    sent = AcctPacket(id=41, secret=SECRET, dict=dictionary(), authenticator=request.authenticator)
    sent.code = 4
    assert sent.VerifyReply(AcctPacket(secret=SECRET, dict=dictionary(), packet=ours), ours)


def test_a_pyrad_disconnect_request_verifies() -> None:
    request = CoAPacket(code=40, id=3, secret=SECRET, dict=dictionary(), User_Name="dave")
    request.add_message_authenticator()
    packet = wire.parse(request.RequestPacket())
    assert wire.accounting_request_ok(packet, SECRET)
    assert wire.verify_message_authenticator(packet, SECRET) is True


# --- fuzzing -------------------------------------------------------------------------------

FUZZ = settings(deadline=250, max_examples=400, suppress_health_check=[HealthCheck.too_slow])


def parses_or_refuses(data: bytes) -> RawPacket | None:
    """parse's whole contract: a RawPacket consistent with the bytes, or MalformedPacket."""
    try:
        packet = wire.parse(data)
    except MalformedPacket as refused:
        assert refused.reason
        return None
    length = int.from_bytes(data[2:4], "big")
    assert packet.data == data[:length]
    assert 20 <= len(packet.data) <= 4096
    assert wire.encode_attributes(packet.attributes) == packet.data[20:]
    # What we accept, pyrad decodes without error (the reason this module exists).
    Packet(secret=SECRET, dict=dictionary(), packet=packet.data)
    wire.verify_message_authenticator(packet, SECRET, ZERO16)
    return packet


@st.composite
def valid_packets(draw: st.DrawFn) -> bytes:
    code = draw(st.sampled_from(sorted(wire.KNOWN_CODES)))
    values = st.binary(min_size=0, max_size=40)
    simple = st.tuples(st.sampled_from([1, 18, 25, 33, 44, 55]), values).map(lambda t: attr(*t))
    vsa = st.tuples(st.integers(0, 255), st.binary(max_size=20)).map(lambda t: mikrotik_vsa(*t))
    body = b"".join(draw(st.lists(st.one_of(simple, vsa), max_size=12)))
    if draw(st.booleans()):
        body = attr(80, draw(st.binary(min_size=16, max_size=16))) + body
    return packet_bytes(code, draw(st.integers(0, 255)), draw(st.binary(min_size=16, max_size=16)), body)


@FUZZ
@given(st.binary(max_size=5000))
def test_arbitrary_bytes_parse_or_are_refused(data: bytes) -> None:
    parses_or_refuses(data)


@FUZZ
@given(st.binary(max_size=300).map(lambda body: b"\x04\x01" + (20 + len(body)).to_bytes(2, "big") + bytes(16) + body))
def test_arbitrary_attribute_bytes_behind_a_valid_header_parse_or_are_refused(data: bytes) -> None:
    parses_or_refuses(data)


@FUZZ
@given(valid_packets())
def test_valid_packets_parse(data: bytes) -> None:
    assert parses_or_refuses(data) is not None


@FUZZ
@given(valid_packets(), st.data())
def test_truncated_packets_are_refused_or_parsed(data: bytes, draw: st.DataObject) -> None:
    cut = draw.draw(st.integers(0, len(data)))
    result = parses_or_refuses(data[:cut])
    if cut < len(data):
        assert result is None  # the Length field still claims the whole packet


@FUZZ
@given(valid_packets(), st.integers(0, 0xFFFF))
def test_wrong_length_fields_are_refused_or_parsed(data: bytes, length: int) -> None:
    parses_or_refuses(data[:2] + length.to_bytes(2, "big") + data[4:])


@FUZZ
@given(valid_packets(), st.data())
def test_flipped_octets_are_refused_or_parsed(data: bytes, draw: st.DataObject) -> None:
    position = draw.draw(st.integers(0, len(data) - 1))
    octet = draw.draw(st.integers(0, 255))
    parses_or_refuses(data[:position] + bytes((octet,)) + data[position + 1 :])


@FUZZ
@given(valid_packets(), st.integers(0, 1), st.binary(max_size=6))
def test_zero_and_one_length_vendor_sub_attributes_are_refused(data: bytes, sub_length: int, tail: bytes) -> None:
    bad = attr(26, (14988).to_bytes(4, "big") + bytes((1, sub_length)) + tail)
    body = data[20:] + bad
    assert parses_or_refuses(packet_bytes(data[0], data[1], data[4:20], body)) is None


@FUZZ
@given(valid_packets(), st.integers(1, 5000))
def test_oversized_packets_are_refused(data: bytes, extra: int) -> None:
    body = data[20:] + b"".join(attr(18, b"z" * 253) for _ in range(17)) + b"\x00" * extra
    oversized = data[:2] + min(20 + len(body), 0xFFFF).to_bytes(2, "big") + data[4:20] + body
    with pytest.raises(MalformedPacket) as raised:
        wire.parse(oversized)
    assert raised.value.reason == "too_long"
