"""The attribute numbers the packet path reads and writes, and small typed readers.

The hot path works on validated raw packets (`bureau.platform.radius.wire`) and needs a
handful of attributes; reading them by number keeps it lean. The full dictionary
(`codec.py`, pyrad) names every attribute for storage and display.
"""

from __future__ import annotations

from bureau.platform.radius.wire import RawPacket

USER_NAME = 1
USER_PASSWORD = 2
CHAP_PASSWORD = 3
NAS_IP_ADDRESS = 4
REPLY_MESSAGE = 18
CLASS = 25
VENDOR_SPECIFIC = 26
SESSION_TIMEOUT = 27
IDLE_TIMEOUT = 28
NAS_IDENTIFIER = 32
PROXY_STATE = 33
ACCT_STATUS_TYPE = 40
ACCT_DELAY_TIME = 41
ACCT_INPUT_OCTETS = 42
ACCT_OUTPUT_OCTETS = 43
ACCT_SESSION_ID = 44
ACCT_SESSION_TIME = 46
ACCT_TERMINATE_CAUSE = 49
ACCT_INPUT_GIGAWORDS = 52
ACCT_OUTPUT_GIGAWORDS = 53
EVENT_TIMESTAMP = 55
CHAP_CHALLENGE = 60
MESSAGE_AUTHENTICATOR = 80
ACCT_INTERIM_INTERVAL = 85
NAS_IPV6_ADDRESS = 95
ERROR_CAUSE = 101

MICROSOFT = 311
MS_CHAP_ERROR = 2
MS_MPPE_ENCRYPTION_POLICY = 7
MS_MPPE_ENCRYPTION_TYPES = 8
MS_CHAP_CHALLENGE = 11
MS_MPPE_SEND_KEY = 16
MS_MPPE_RECV_KEY = 17
MS_CHAP2_RESPONSE = 25
MS_CHAP2_SUCCESS = 26

TERMINATE_CAUSES = {
    1: "User-Request", 2: "Lost-Carrier", 3: "Lost-Service", 4: "Idle-Timeout", 5: "Session-Timeout",
    6: "Admin-Reset", 7: "Admin-Reboot", 8: "Port-Error", 9: "NAS-Error", 10: "NAS-Request", 11: "NAS-Reboot",
    12: "Port-Unneeded", 13: "Port-Preempted", 14: "Port-Suspended", 15: "Service-Unavailable", 16: "Callback",
    17: "User-Error", 18: "Host-Request", 19: "Supplicant-Restart", 20: "Reauthentication-Failure",
    21: "Port-Reinit", 22: "Port-Disabled",
}  # fmt: skip


def integer(packet: RawPacket, attribute: int) -> int | None:
    """A 4-octet integer attribute, or None when absent or not 4 octets long."""
    value = packet.first(attribute)
    if value is None or len(value) != 4:
        return None
    return int.from_bytes(value, "big")


def text(packet: RawPacket, attribute: int) -> str | None:
    value = packet.first(attribute)
    if value is None:
        return None
    return value.decode("utf-8", errors="replace")


def vendor(packet: RawPacket, vendor_id: int, attribute: int) -> bytes | None:
    """The first sub-attribute `attribute` of vendor `vendor_id` (RFC 2865 §5.26 format)."""
    for value in packet.all(VENDOR_SPECIFIC):
        if int.from_bytes(value[:4], "big") != vendor_id:
            continue
        position = 4
        while position + 2 <= len(value):
            kind, length = value[position], value[position + 1]
            if length < 2:
                break
            if kind == attribute:
                return value[position + 2 : position + length]
            position += length
    return None


def vendor_attribute(vendor_id: int, attribute: int, value: bytes) -> tuple[int, bytes]:
    return VENDOR_SPECIFIC, vendor_id.to_bytes(4, "big") + bytes((attribute, len(value) + 2)) + value


def uint32(attribute: int, value: int) -> tuple[int, bytes]:
    return attribute, value.to_bytes(4, "big")
