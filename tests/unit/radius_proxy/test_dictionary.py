"""Bureau's shipped RADIUS dictionary and the ISP's extra FreeRADIUS-format files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pyrad.dictionary import Dictionary as PyradDictionary

from bureau.radius_proxy.codec import (
    SHIPPED_DICTIONARY,
    SUPPORTED_KEYWORDS,
    DictionaryError,
    UnknownAttribute,
    load_dictionary,
)

# Every attribute in RADIUS.md's attribute table, plus the ones the codec's brief names:
# (name, code, type, vendor id).
EXPECTED = [
    ("User-Name", 1, "string", 0),
    ("User-Password", 2, "string", 0),
    ("CHAP-Password", 3, "octets", 0),
    ("NAS-IP-Address", 4, "ipaddr", 0),
    ("NAS-Port", 5, "integer", 0),
    ("Service-Type", 6, "integer", 0),
    ("Framed-Protocol", 7, "integer", 0),
    ("Framed-IP-Address", 8, "ipaddr", 0),
    ("Class", 25, "octets", 0),
    ("Vendor-Specific", 26, "octets", 0),
    ("Session-Timeout", 27, "integer", 0),
    ("Idle-Timeout", 28, "integer", 0),
    ("Termination-Action", 29, "integer", 0),
    ("NAS-Identifier", 32, "string", 0),
    ("Proxy-State", 33, "octets", 0),
    ("Acct-Status-Type", 40, "integer", 0),
    ("Acct-Delay-Time", 41, "integer", 0),
    ("Acct-Input-Octets", 42, "integer", 0),
    ("Acct-Output-Octets", 43, "integer", 0),
    ("Acct-Session-Id", 44, "string", 0),
    ("Acct-Session-Time", 46, "integer", 0),
    ("Acct-Input-Packets", 47, "integer", 0),
    ("Acct-Output-Packets", 48, "integer", 0),
    ("Acct-Terminate-Cause", 49, "integer", 0),
    ("Acct-Input-Gigawords", 52, "integer", 0),
    ("Acct-Output-Gigawords", 53, "integer", 0),
    ("Event-Timestamp", 55, "date", 0),
    ("CHAP-Challenge", 60, "octets", 0),
    ("NAS-Port-Type", 61, "integer", 0),
    ("Message-Authenticator", 80, "octets", 0),
    ("Acct-Interim-Interval", 85, "integer", 0),
    ("NAS-Port-Id", 87, "string", 0),
    ("NAS-IPv6-Address", 95, "ipv6addr", 0),
    ("Framed-IPv6-Prefix", 97, "ipv6prefix", 0),
    ("Error-Cause", 101, "integer", 0),
    ("Delegated-IPv6-Prefix", 123, "ipv6prefix", 0),
    ("Framed-IPv6-Address", 168, "ipv6addr", 0),
    ("Acct-Unique-Session-Id", 1051, "string", 0),
    ("MS-CHAP-Response", 1, "octets", 311),
    ("MS-CHAP-Error", 2, "string", 311),
    ("MS-MPPE-Encryption-Policy", 7, "integer", 311),
    ("MS-MPPE-Encryption-Types", 8, "integer", 311),
    ("MS-CHAP-Challenge", 11, "octets", 311),
    ("MS-MPPE-Send-Key", 16, "octets", 311),
    ("MS-MPPE-Recv-Key", 17, "octets", 311),
    ("MS-CHAP2-Response", 25, "octets", 311),
    ("MS-CHAP2-Success", 26, "octets", 311),
    ("MS-Primary-DNS-Server", 28, "ipaddr", 311),
    ("MS-Secondary-DNS-Server", 29, "ipaddr", 311),
    ("Cisco-AVPair", 1, "string", 9),
    ("Cisco-NAS-Port", 2, "string", 9),
    ("ERX-Ingress-Policy-Name", 10, "string", 4874),
    ("ERX-Egress-Policy-Name", 11, "string", 4874),
    ("ERX-Qos-Profile-Name", 26, "string", 4874),
    ("ERX-Service-Activate", 65, "string", 4874),
    ("Mikrotik-Recv-Limit", 1, "integer", 14988),
    ("Mikrotik-Xmit-Limit", 2, "integer", 14988),
    ("Mikrotik-Rate-Limit", 8, "string", 14988),
    ("Mikrotik-Recv-Limit-Gigawords", 14, "integer", 14988),
    ("Mikrotik-Xmit-Limit-Gigawords", 15, "integer", 14988),
    ("Mikrotik-Address-List", 19, "string", 14988),
    ("ChilliSpot-Max-Input-Octets", 1, "integer", 14559),
    ("ChilliSpot-Max-Output-Octets", 2, "integer", 14559),
    ("ChilliSpot-Max-Total-Octets", 3, "integer", 14559),
    ("ChilliSpot-Bandwidth-Max-Up", 4, "integer", 14559),
    ("ChilliSpot-Bandwidth-Max-Down", 5, "integer", 14559),
    ("WISPr-Location-ID", 1, "string", 14122),
    ("WISPr-Redirection-URL", 4, "string", 14122),
    ("WISPr-Bandwidth-Max-Up", 7, "integer", 14122),
    ("WISPr-Bandwidth-Max-Down", 8, "integer", 14122),
    ("WISPr-Session-Terminate-Time", 9, "string", 14122),
]

VENDOR_FILE = """\
# An ISP's own vendor, FreeRADIUS style.
VENDOR		Acme		99999

BEGIN-VENDOR	Acme
ATTRIBUTE	Acme-Plan		1	string
ATTRIBUTE	Acme-Speed-Kbps		2	integer
ATTRIBUTE	Acme-Gateway		3	ipaddr
END-VENDOR	Acme

VALUE	Acme-Speed-Kbps		Slow		512
ATTRIBUTE	Acme-Legacy		4	string	Acme
"""


@pytest.mark.parametrize(("name", "code", "type_", "vendor_id"), EXPECTED, ids=[row[0] for row in EXPECTED])
def test_every_attribute_we_rely_on_has_its_rfc_number_and_type(
    name: str, code: int, type_: str, vendor_id: int
) -> None:
    spec = load_dictionary().attribute(name)
    assert (spec.code, spec.type, spec.vendor_id) == (code, type_, vendor_id)


def test_hidden_attributes_are_marked_with_their_encryption() -> None:
    dictionary = load_dictionary()
    assert dictionary.attribute("User-Password").encrypt == 1
    assert dictionary.attribute("MS-MPPE-Send-Key").encrypt == 2
    assert dictionary.attribute("MS-MPPE-Recv-Key").encrypt == 2
    assert not dictionary.attribute("CHAP-Password").hidden


def test_the_internal_session_id_is_never_on_the_wire_but_real_attributes_are() -> None:
    dictionary = load_dictionary()
    assert not dictionary.attribute("Acct-Unique-Session-Id").on_the_wire
    assert dictionary.attribute("Framed-IPv6-Address").on_the_wire


def test_accounting_status_and_terminate_cause_values_match_the_rfcs() -> None:
    dictionary = load_dictionary()
    assert dict(dictionary.attribute("Acct-Status-Type").values) == {
        "Start": 1, "Stop": 2, "Interim-Update": 3, "Accounting-On": 7, "Accounting-Off": 8,
        "Tunnel-Start": 9, "Tunnel-Stop": 10, "Tunnel-Reject": 11, "Tunnel-Link-Start": 12,
        "Tunnel-Link-Stop": 13, "Tunnel-Link-Reject": 14, "Failed": 15,
    }  # fmt: skip
    causes = dictionary.attribute("Acct-Terminate-Cause").values
    assert sorted(causes.values()) == list(range(1, 23))
    named = ("User-Request", "Admin-Reset", "NAS-Reboot", "Port-Disabled")
    assert [causes[name] for name in named] == [1, 6, 11, 22]


def test_error_cause_has_every_rfc_5176_value() -> None:
    values = load_dictionary().attribute("Error-Cause").values
    assert sorted(values.values()) == [201, 202, *range(401, 408), *range(501, 509)]
    assert values["Session-Context-Not-Found"] == 503


def test_service_type_framed_protocol_and_nas_port_type_values() -> None:
    dictionary = load_dictionary()
    assert dictionary.attribute("Service-Type").values["Framed-User"] == 2
    assert dictionary.attribute("Service-Type").values["Authorize-Only"] == 17
    assert dictionary.attribute("Framed-Protocol").values["PPP"] == 1
    port_types = dictionary.attribute("NAS-Port-Type").values
    assert (port_types["Virtual"], port_types["Ethernet"], port_types["Wireless-802.11"]) == (5, 15, 19)
    assert dictionary.value_name("Acct-Status-Type", 7) == "Accounting-On"
    assert dictionary.value_name("Acct-Status-Type", 99) is None


def test_the_vendors_have_their_iana_numbers() -> None:
    assert {
        name: number
        for name, number in load_dictionary().vendors.items()
        if name in {"Microsoft", "Cisco", "ERX", "Mikrotik", "ChilliSpot", "WISPr"}
    } == {"Microsoft": 311, "Cisco": 9, "ERX": 4874, "Mikrotik": 14988, "ChilliSpot": 14559, "WISPr": 14122}


def test_pyrad_reads_every_shipped_line_without_skipping_or_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="pyrad"):
        parsed = PyradDictionary(str(SHIPPED_DICTIONARY))
    assert parsed.skipped_attributes == set()
    assert [record.getMessage() for record in caplog.records] == []
    assert len(load_dictionary()) == len(parsed.attributes)


def test_every_shipped_file_is_included_and_uses_only_keywords_pyrad_implements() -> None:
    folder = SHIPPED_DICTIONARY.parent
    top = SHIPPED_DICTIONARY.read_text().splitlines()
    included = {line.split()[1] for line in top if line.startswith("$INCLUDE")}
    assert included == {path.name for path in folder.glob("dictionary.*")}
    for path in folder.iterdir():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            words = line.split("#", 1)[0].split()
            if words:
                assert words[0] in SUPPORTED_KEYWORDS | {"$INCLUDE"}, f"{path.name}:{number}: {line}"


def test_an_isp_file_with_a_vendor_block_adds_its_attributes(tmp_path: Path) -> None:
    extra = tmp_path / "dictionary.acme"
    extra.write_text(VENDOR_FILE)
    dictionary = load_dictionary([extra])
    plan = dictionary.attribute("Acme-Plan")
    assert (plan.code, plan.type, plan.vendor, plan.vendor_id) == (1, "string", "Acme", 99999)
    assert dictionary.attribute("Acme-Speed-Kbps").values == {"Slow": 512}
    assert dictionary.attribute("Acme-Legacy").vendor_id == 99999
    assert dictionary.by_code(3, 99999) == dictionary.attribute("Acme-Gateway")
    assert dictionary.attribute("Mikrotik-Rate-Limit").code == 8  # the shipped ones stay


def test_an_isp_file_may_include_another_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "vendors").mkdir()
    (tmp_path / "vendors" / "dictionary.acme").write_text(VENDOR_FILE)
    top = tmp_path / "dictionary.local"
    top.write_text("$INCLUDE vendors/dictionary.acme\n$INCLUDE- vendors/dictionary.absent\n")
    assert "Acme-Plan" in load_dictionary([top])


def test_a_broken_line_names_the_file_and_the_line(tmp_path: Path) -> None:
    extra = tmp_path / "dictionary.broken"
    extra.write_text("# comment\nATTRIBUTE Good-One 240 string\nATTRIBUTE Bad-One 241 no-such-type\n")
    with pytest.raises(DictionaryError) as caught:
        load_dictionary([extra])
    assert (caught.value.path, caught.value.line) == (str(extra), 3)
    assert str(extra) in str(caught.value)
    assert "line 3" in str(caught.value)
    assert "no-such-type" in str(caught.value)


def test_an_unknown_vendor_in_begin_vendor_is_refused_with_its_line(tmp_path: Path) -> None:
    extra = tmp_path / "dictionary.novendor"
    extra.write_text("BEGIN-VENDOR Nobody\n")
    with pytest.raises(DictionaryError, match="Nobody") as caught:
        load_dictionary([extra])
    assert caught.value.line == 1


def test_an_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    inner = tmp_path / "dictionary.inner"
    inner.write_text("\n\nVALUE Service-Type Odd not-a-number\n")
    top = tmp_path / "dictionary.top"
    top.write_text("$INCLUDE dictionary.inner\n")
    with pytest.raises(DictionaryError) as caught:
        load_dictionary([top])
    assert (caught.value.path, caught.value.line) == (str(inner.resolve()), 3)


@pytest.mark.parametrize("keyword", ["BEGIN-TLV", "FLAGS", "PROTOCOL", "STRUCT", "DEFINE"])
def test_freeradius_syntax_pyrad_would_skip_silently_is_refused(tmp_path: Path, keyword: str) -> None:
    extra = tmp_path / "dictionary.v4"
    extra.write_text(f"ATTRIBUTE Fine 240 string\n{keyword} Something 1\n")
    with pytest.raises(DictionaryError, match=keyword) as caught:
        load_dictionary([extra])
    assert (caught.value.path, caught.value.line) == (str(extra.resolve()), 2)


def test_a_missing_or_non_utf8_extra_file_is_a_dictionary_error(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match="absent"):
        load_dictionary([tmp_path / "absent"])
    binary = tmp_path / "dictionary.binary"
    binary.write_bytes(b"ATTRIBUTE \xff\xfe 1 string\n")
    with pytest.raises(DictionaryError, match="UTF-8"):
        load_dictionary([binary])


def test_attributes_pyrad_cannot_encode_are_listed_as_skipped_and_say_so_when_used(tmp_path: Path) -> None:
    extra = tmp_path / "dictionary.types"
    extra.write_text("ATTRIBUTE Odd-Prefix 241 ipv4prefix\nATTRIBUTE Odd-List 242 ipaddr array\n")
    dictionary = load_dictionary([extra])
    assert {"Odd-Prefix", "Odd-List"} <= dictionary.skipped
    with pytest.raises(UnknownAttribute, match=r"Odd-Prefix.*cannot encode"):
        dictionary.attribute("Odd-Prefix")


def test_an_unknown_name_is_named_with_suggestions() -> None:
    with pytest.raises(UnknownAttribute, match=r"'Mikrotik-Rate-Limt'.*did you mean 'Mikrotik-Rate-Limit'") as caught:
        load_dictionary().attribute("Mikrotik-Rate-Limt")
    assert caught.value.name == "Mikrotik-Rate-Limt"
