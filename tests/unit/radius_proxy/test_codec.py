"""Decoding datagrams into named, typed attributes and encoding them back to the wire."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pyrad.dictionary import Dictionary as PyradDictionary
from pyrad.packet import AccessRequest, AcctPacket, AuthPacket, Packet

from bureau.platform.radius.passwords import reveal_password
from bureau.radius_proxy.codec import (
    SHIPPED_DICTIONARY,
    DecodeError,
    Dictionary,
    EncodeError,
    UnknownAttribute,
    decode,
    encode_attributes,
    load_dictionary,
)

SECRET = b"testing123"
MS_CHAP2_RESPONSE = bytes([7, 0]) + bytes(range(16)) + bytes(8) + bytes(range(100, 124))  # 50 octets


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return load_dictionary()


@pytest.fixture(scope="module")
def pyrad_dictionary() -> PyradDictionary:
    return PyradDictionary(str(SHIPPED_DICTIONARY))


def datagram(code: int, pairs: Sequence[tuple[int, bytes]], identifier: int = 1) -> bytes:
    body = b"".join(bytes((attribute_type, len(value) + 2)) + value for attribute_type, value in pairs)
    return struct.pack("!BBH", code, identifier, 20 + len(body)) + bytes(range(16)) + body


def test_a_pyrad_built_access_request_decodes_to_named_typed_values(
    dictionary: Dictionary, pyrad_dictionary: PyradDictionary
) -> None:
    request = AuthPacket(code=AccessRequest, id=42, secret=SECRET, dict=pyrad_dictionary)
    request["User-Name"] = "alice@northnet"
    request["User-Password"] = request.PwCrypt("s3cret")
    request["CHAP-Password"] = b"\x05" + bytes(range(16))
    # Starts with "0x", which pyrad's octets encoder would try to read as hex.
    request["CHAP-Challenge"] = b"0x-not-hex\x00\xff" * 2
    request["MS-CHAP2-Response"] = MS_CHAP2_RESPONSE
    request["NAS-IPv6-Address"] = "2001:db8::17"
    request["Framed-IPv6-Prefix"] = "2001:db8:42::/48"
    request["NAS-Port-Type"] = "Ethernet"
    request["Service-Type"] = "Framed-User"
    request["Event-Timestamp"] = 1_700_000_000
    data = request.RequestPacket()

    decoded = decode(data, dictionary)

    assert (decoded.code, decoded.identifier, decoded.authenticator) == (1, 42, request.authenticator)
    assert decoded.attributes["User-Name"] == ["alice@northnet"]
    assert decoded.attributes["CHAP-Password"] == [b"\x05" + bytes(range(16))]
    assert decoded.attributes["CHAP-Challenge"] == [b"0x-not-hex\x00\xff" * 2]
    assert decoded.attributes["MS-CHAP2-Response"] == [MS_CHAP2_RESPONSE]
    assert decoded.attributes["NAS-IPv6-Address"] == ["2001:db8::17"]
    assert decoded.attributes["Framed-IPv6-Prefix"] == ["2001:db8:42::/48"]
    assert decoded.attributes["NAS-Port-Type"] == [15]  # numbers, not pyrad's VALUE names
    assert decoded.first("Service-Type") == 2
    assert decoded.first("Event-Timestamp") == 1_700_000_000
    # The password stays hidden; revealing it is the caller's explicit step.
    hidden = decoded.first("User-Password")
    assert isinstance(hidden, bytes)
    assert hidden != b"s3cret"
    assert reveal_password(hidden, SECRET, decoded.authenticator) == b"s3cret"


VENDOR_ATTRIBUTES: dict[str, Any] = {
    "User-Name": "bob",
    "Acct-Status-Type": "Interim-Update",
    "Acct-Input-Gigawords": 3,
    "Class": b"bu1:\x00\xff",
    "MS-CHAP2-Success": b"\x07S=0123456789ABCDEF0123456789ABCDEF01234567",
    "MS-Primary-DNS-Server": "192.0.2.53",
    "MS-MPPE-Encryption-Types": 6,
    "Mikrotik-Rate-Limit": "10M/20M",
    "Mikrotik-Recv-Limit": 4_000_000_000,
    "Mikrotik-Address-List": ["suspended", "walled-garden"],
    "Cisco-AVPair": "subscriber:command=account-logon",
    "ERX-Qos-Profile-Name": "gold",
    "ChilliSpot-Bandwidth-Max-Down": 20_000_000,
    "WISPr-Redirection-URL": "https://portal.example/",
    "Delegated-IPv6-Prefix": ipaddress.IPv6Network("2001:db8:1::/56"),
    "Framed-IPv6-Address": ipaddress.IPv6Address("2001:db8::5"),
}


def test_vendor_attributes_round_trip_through_pyrad_and_back(
    dictionary: Dictionary, pyrad_dictionary: PyradDictionary
) -> None:
    pairs = encode_attributes(VENDOR_ATTRIBUTES, dictionary)
    data = datagram(4, pairs)

    seen_by_pyrad = AcctPacket(dict=pyrad_dictionary, secret=SECRET, packet=data)
    assert seen_by_pyrad["MS-CHAP2-Success"] == [VENDOR_ATTRIBUTES["MS-CHAP2-Success"]]
    assert seen_by_pyrad["MS-Primary-DNS-Server"] == ["192.0.2.53"]
    assert seen_by_pyrad["Mikrotik-Rate-Limit"] == ["10M/20M"]
    assert seen_by_pyrad["Mikrotik-Recv-Limit"] == [4_000_000_000]
    assert seen_by_pyrad["Mikrotik-Address-List"] == ["suspended", "walled-garden"]
    assert seen_by_pyrad["Cisco-AVPair"] == ["subscriber:command=account-logon"]
    assert seen_by_pyrad["ERX-Qos-Profile-Name"] == ["gold"]
    assert seen_by_pyrad["ChilliSpot-Bandwidth-Max-Down"] == [20_000_000]
    assert seen_by_pyrad["WISPr-Redirection-URL"] == ["https://portal.example/"]
    assert seen_by_pyrad["Acct-Status-Type"] == ["Interim-Update"]

    assert decode(data, dictionary).attributes == {
        "User-Name": ["bob"],
        "Acct-Status-Type": [3],
        "Acct-Input-Gigawords": [3],
        "Class": [b"bu1:\x00\xff"],
        "MS-CHAP2-Success": [VENDOR_ATTRIBUTES["MS-CHAP2-Success"]],
        "MS-Primary-DNS-Server": ["192.0.2.53"],
        "MS-MPPE-Encryption-Types": [6],
        "Mikrotik-Rate-Limit": ["10M/20M"],
        "Mikrotik-Recv-Limit": [4_000_000_000],
        "Mikrotik-Address-List": ["suspended", "walled-garden"],
        "Cisco-AVPair": ["subscriber:command=account-logon"],
        "ERX-Qos-Profile-Name": ["gold"],
        "ChilliSpot-Bandwidth-Max-Down": [20_000_000],
        "WISPr-Redirection-URL": ["https://portal.example/"],
        "Delegated-IPv6-Prefix": ["2001:db8:1::/56"],
        "Framed-IPv6-Address": ["2001:db8::5"],
    }


def test_each_vendor_value_gets_its_own_vendor_specific_attribute(dictionary: Dictionary) -> None:
    pairs = encode_attributes({"Mikrotik-Address-List": ["a", "bc"]}, dictionary)
    assert pairs == [
        (26, struct.pack("!IBB", 14988, 19, 3) + b"a"),
        (26, struct.pack("!IBB", 14988, 19, 4) + b"bc"),
    ]


def test_pyrad_built_vendor_attributes_decode_like_ours(
    dictionary: Dictionary, pyrad_dictionary: PyradDictionary
) -> None:
    packet = Packet(code=2, id=9, secret=SECRET, authenticator=bytes(16), dict=pyrad_dictionary)
    packet["MS-CHAP2-Success"] = b"\x01S=AB"
    packet["Mikrotik-Xmit-Limit-Gigawords"] = 2
    packet["Error-Cause"] = "Session-Context-Not-Found"
    data = packet.ReplyPacket()
    assert decode(data, dictionary).attributes == {
        "MS-CHAP2-Success": [b"\x01S=AB"],
        "Mikrotik-Xmit-Limit-Gigawords": [2],
        "Error-Cause": [503],
    }


def test_tagged_attributes_carry_the_tag_in_the_name_both_ways(
    dictionary: Dictionary, pyrad_dictionary: PyradDictionary
) -> None:
    attributes = {"ERX-Service-Activate:1": "video(20M)", "ERX-Service-Volume:1": 1000, "ERX-Service-Activate": "x"}
    data = datagram(2, encode_attributes(attributes, dictionary))
    pyrad_view = Packet(dict=pyrad_dictionary, secret=SECRET, packet=data)
    assert pyrad_view["ERX-Service-Activate:1"] == ["video(20M)"]
    assert pyrad_view["ERX-Service-Volume:1"] == [1000]
    assert decode(data, dictionary).attributes == {
        "ERX-Service-Activate:1": ["video(20M)"],
        "ERX-Service-Volume:1": [1000],
        "ERX-Service-Activate": ["x"],
    }


def test_unknown_and_malformed_attributes_decode_raw_and_encode_back_identically(dictionary: Dictionary) -> None:
    pairs = [
        (250, b"\x01\x02"),  # no such standard attribute
        (27, b"\x00\x01"),  # Session-Timeout must be 4 octets
        (26, struct.pack("!IBB", 99999, 7, 4) + b"hi"),  # unknown vendor
        (26, struct.pack("!IBB", 311, 99, 3) + b"z"),  # unknown Microsoft attribute
        (26, struct.pack("!I", 4846) + b"\x00\x01\x05abc"),  # not the RFC 2865 layout
    ]
    decoded = decode(datagram(2, pairs), dictionary)
    assert decoded.attributes == {
        "Attr-250": [b"\x01\x02"],
        "Attr-27": [b"\x00\x01"],
        "Attr-26.99999.7": [b"hi"],
        "Attr-26.311.99": [b"z"],
        "Attr-26.4846": [b"\x00\x01\x05abc"],
    }
    assert encode_attributes(decoded.attributes, dictionary) == pairs


def test_hidden_attributes_are_passed_as_their_hidden_bytes(dictionary: Dictionary) -> None:
    assert encode_attributes({"User-Password": b"\x01" * 16}, dictionary) == [(2, b"\x01" * 16)]
    with pytest.raises(EncodeError, match="User-Password takes its already hidden octets"):
        encode_attributes({"User-Password": "plain"}, dictionary)
    with pytest.raises(EncodeError, match="MS-MPPE-Send-Key"):
        encode_attributes({"MS-MPPE-Send-Key": "plain"}, dictionary)


def test_an_unknown_attribute_name_is_refused_by_name(dictionary: Dictionary) -> None:
    with pytest.raises(UnknownAttribute, match=r"'Sesion-Timeout'.*did you mean 'Session-Timeout'"):
        encode_attributes({"User-Name": "a", "Sesion-Timeout": 60}, dictionary)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"Session-Timeout": "3600"}, "Session-Timeout: '3600' is not one of its named values"),
        ({"Session-Timeout": 36.5}, "Session-Timeout takes an int"),
        ({"Session-Timeout": True}, "Session-Timeout takes an int"),
        ({"Session-Timeout": -1}, "Session-Timeout: -1 is not a valid integer"),
        ({"Session-Timeout": 1 << 32}, "out of range"),
        ({"Acct-Status-Type": "Begin"}, "'Begin' is not one of its named values .*Accounting-On"),
        ({"Class": "text"}, "Class takes bytes, not str"),
        ({"CHAP-Challenge": "0x00"}, "CHAP-Challenge takes bytes"),
        ({"Framed-IP-Address": "2001:db8::1"}, "Framed-IP-Address: '2001:db8::1' is not a valid ipaddr"),
        ({"NAS-IPv6-Address": 5}, "NAS-IPv6-Address takes an address"),
        ({"Reply-Message": "x" * 254}, "Reply-Message: '" + "x" * 20),
        ({"Mikrotik-Address-List": "x" * 248}, "Mikrotik-Address-List: the value is 248 octets, more than the 247"),
        ({"Acct-Unique-Session-Id": "abc"}, "internal to the server"),
        ({"Session-Timeout:1": 5}, "not a tagged attribute"),
        ({"ERX-Service-Volume:32": 5}, "a tag is a number from 1 to 31"),
        ({"ERX-Service-Volume:1": 1 << 24}, "24 bits"),
        ({"Attr-300": b"x"}, "not an attribute number"),
        ({"Attr-250": "x"}, "raw bytes"),
    ],
)
def test_values_that_do_not_fit_their_attribute_are_refused_naming_it(
    dictionary: Dictionary, attributes: dict[str, Any], message: str
) -> None:
    with pytest.raises(EncodeError, match=message):
        encode_attributes(attributes, dictionary)


def test_a_value_that_fits_exactly_is_accepted(dictionary: Dictionary) -> None:
    assert encode_attributes({"Reply-Message": "x" * 253}, dictionary) == [(18, b"x" * 253)]
    assert len(encode_attributes({"Mikrotik-Address-List": "x" * 247}, dictionary)[0][1]) == 253


def test_extra_dictionary_attributes_encode_and_decode(tmp_path: Path) -> None:
    extra = tmp_path / "dictionary.acme"
    extra.write_text("VENDOR Acme 99999\nBEGIN-VENDOR Acme\nATTRIBUTE Acme-Speed 2 integer\nEND-VENDOR Acme\n")
    dictionary = load_dictionary([extra])
    pairs = encode_attributes({"Acme-Speed": 512}, dictionary)
    assert pairs == [(26, struct.pack("!IBBI", 99999, 2, 6, 512))]
    assert decode(datagram(2, pairs), dictionary).attributes == {"Acme-Speed": [512]}


def test_padding_after_the_length_field_is_ignored_and_a_broken_structure_raises(dictionary: Dictionary) -> None:
    data = datagram(4, [(1, b"bob")])
    assert decode(data + b"\x00\x00", dictionary).attributes == {"User-Name": ["bob"]}
    with pytest.raises(DecodeError):
        decode(data[:10], dictionary)
    with pytest.raises(DecodeError):
        decode(data[:20] + b"\x01\x09bob", dictionary)  # the attribute runs past the end
