"""RADIUS datagrams as raw bytes: strict parsing, authenticators and Message-Authenticator.

Every received datagram passes `parse` before pyrad sees it: pyrad 2.6 hangs or crashes on
some malformed input, so the checks of RFC 2865 §3 and §5.26 (lengths of the packet, of
every attribute and of vendor sub-attributes) live here, in one place. Nothing in this
module does I/O or imports pyrad.

The authenticators (see /work/shared/RADIUS.md):

- Accounting, CoA and Disconnect requests: Request Authenticator =
  MD5(Code‖ID‖Length‖16 zero octets‖attributes‖secret) (RFC 2866 §3, RFC 5176 §2.3).
- Replies: Response Authenticator = MD5(Code‖ID‖Length‖Request Authenticator‖attributes‖secret).
- Message-Authenticator = HMAC-MD5(secret; Code‖ID‖Length‖vector‖attributes) with its own
  value zeroed (RFC 3579 §3.2). The vector is the packet's own authenticator for
  Access-Request and Status-Server, the request's authenticator for replies, and 16 zero
  octets for Accounting, CoA and Disconnect requests (RFC 5176 §3.4) and, as FreeRADIUS
  (`rad_sign`) and pyrad compute it, for an Accounting-Response that does not answer a
  Status-Server.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HEADER_OCTETS = 20
MIN_PACKET_OCTETS = 20
MAX_PACKET_OCTETS = 4096  # RFC 2865 §3
MAX_ATTRIBUTE_VALUE_OCTETS = 253
AUTHENTICATOR_OCTETS = 16
ZERO_AUTHENTICATOR = bytes(AUTHENTICATOR_OCTETS)

ACCESS_REQUEST = 1
ACCESS_ACCEPT = 2
ACCESS_REJECT = 3
ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
ACCESS_CHALLENGE = 11
STATUS_SERVER = 12
DISCONNECT_REQUEST = 40
DISCONNECT_ACK = 41
DISCONNECT_NAK = 42
COA_REQUEST = 43
COA_ACK = 44
COA_NAK = 45

KNOWN_CODES = frozenset(
    {
        ACCESS_REQUEST,
        ACCESS_ACCEPT,
        ACCESS_REJECT,
        ACCOUNTING_REQUEST,
        ACCOUNTING_RESPONSE,
        ACCESS_CHALLENGE,
        STATUS_SERVER,
        DISCONNECT_REQUEST,
        DISCONNECT_ACK,
        DISCONNECT_NAK,
        COA_REQUEST,
        COA_ACK,
        COA_NAK,
    }
)
# Requests whose Request Authenticator is a hash over the packet (and whose
# Message-Authenticator is computed with 16 zero octets in its place).
HASHED_REQUEST_CODES = frozenset({ACCOUNTING_REQUEST, DISCONNECT_REQUEST, COA_REQUEST})
# Requests whose Request Authenticator is random, used as is for the Message-Authenticator.
RANDOM_REQUEST_CODES = frozenset({ACCESS_REQUEST, STATUS_SERVER})
ACCESS_REPLY_CODES = frozenset({ACCESS_ACCEPT, ACCESS_REJECT, ACCESS_CHALLENGE})
REPLY_CODES = frozenset(
    {
        ACCESS_ACCEPT,
        ACCESS_REJECT,
        ACCESS_CHALLENGE,
        ACCOUNTING_RESPONSE,
        DISCONNECT_ACK,
        DISCONNECT_NAK,
        COA_ACK,
        COA_NAK,
    }
)

PROXY_STATE = 33
VENDOR_SPECIFIC = 26
MESSAGE_AUTHENTICATOR = 80
MESSAGE_AUTHENTICATOR_OCTETS = 2 + AUTHENTICATOR_OCTETS  # type, length, HMAC-MD5
VENDOR_ID_OCTETS = 4

# Vendors whose sub-attributes do not use the RFC 2865 §5.26 layout (1-octet type,
# 1-octet length), as (type octets, length octets); a length of 0 octets means one
# sub-attribute fills the rest of the VSA. Taken from FreeRADIUS (`dict.c` hard-codes
# Lucent and Starent; dictionary.usr declares `format=4,0`). Every other vendor is held to
# the standard layout: a VSA that does not split cleanly is refused, not passed on.
VENDOR_FORMATS: dict[int, tuple[int, int]] = {
    429: (4, 0),  # USR
    4846: (2, 1),  # Lucent
    8164: (2, 2),  # Starent
}
STANDARD_VENDOR_FORMAT = (1, 1)


class MalformedPacket(ValueError):
    """A datagram that is not a well-formed RADIUS packet; drop it silently (RFC 2865 §3).

    `reason` is a short machine word for counters and logs: too_short, bad_length,
    too_long, unknown_code, bad_attribute_length, bad_vendor_length,
    bad_message_authenticator, duplicate_message_authenticator.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RawPacket:
    """A validated packet. `data` is exactly Length octets (padding removed), so the
    authenticators are computed over `data`, and `attributes` are in wire order with
    Vendor-Specific values kept whole (vendor id first)."""

    code: int
    identifier: int
    authenticator: bytes
    attributes: tuple[tuple[int, bytes], ...]
    data: bytes

    def first(self, type_: int) -> bytes | None:
        """The value of the first attribute of this type, or None."""
        for attribute_type, value in self.attributes:
            if attribute_type == type_:
                return value
        return None

    def all(self, type_: int) -> list[bytes]:
        """The values of every attribute of this type, in wire order."""
        return [value for attribute_type, value in self.attributes if attribute_type == type_]


def parse(data: bytes) -> RawPacket:
    """Validate and split a received datagram; raise MalformedPacket if it is not well formed.

    Octets beyond the Length field are padding and ignored (RFC 2865 §3). The walk is a
    single pass over at most MAX_PACKET_OCTETS octets, so hostile input cannot make it slow.
    """
    data = bytes(data)
    if len(data) < MIN_PACKET_OCTETS:
        raise MalformedPacket("too_short", f"datagram of {len(data)} octets is shorter than a RADIUS header (20)")
    code, identifier, length = struct.unpack_from("!BBH", data)
    if length < MIN_PACKET_OCTETS:
        raise MalformedPacket("bad_length", f"Length field {length} is below the minimum of {MIN_PACKET_OCTETS}")
    if length > MAX_PACKET_OCTETS:
        raise MalformedPacket("too_long", f"Length field {length} exceeds the maximum of {MAX_PACKET_OCTETS}")
    if length > len(data):
        raise MalformedPacket("bad_length", f"Length field {length} exceeds the {len(data)} octets received")
    if code not in KNOWN_CODES:
        raise MalformedPacket("unknown_code", f"packet code {code} is not a RADIUS code this server handles")
    data = data[:length]
    attributes = tuple(_split_attributes(data))
    return RawPacket(
        code=code,
        identifier=identifier,
        authenticator=data[4:HEADER_OCTETS],
        attributes=attributes,
        data=data,
    )


def _split_attributes(data: bytes) -> list[tuple[int, bytes]]:
    attributes: list[tuple[int, bytes]] = []
    seen_message_authenticator = False
    position, end = HEADER_OCTETS, len(data)
    while position < end:
        if end - position < 2:
            raise MalformedPacket("bad_attribute_length", f"attribute header at offset {position} is cut off")
        attribute_type, attribute_length = data[position], data[position + 1]
        if attribute_length < 2 or position + attribute_length > end:
            raise MalformedPacket(
                "bad_attribute_length",
                f"attribute {attribute_type} at offset {position} has length {attribute_length}, "
                f"which is below 2 or runs past the packet's end ({end})",
            )
        value = data[position + 2 : position + attribute_length]
        if attribute_type == VENDOR_SPECIFIC:
            _check_vendor_specific(value, position)
        elif attribute_type == MESSAGE_AUTHENTICATOR:
            if attribute_length != MESSAGE_AUTHENTICATOR_OCTETS:
                raise MalformedPacket(
                    "bad_message_authenticator",
                    f"Message-Authenticator at offset {position} is {attribute_length} octets, "
                    f"not {MESSAGE_AUTHENTICATOR_OCTETS}",
                )
            if seen_message_authenticator:
                raise MalformedPacket(
                    "duplicate_message_authenticator", "packet has more than one Message-Authenticator"
                )
            seen_message_authenticator = True
        attributes.append((attribute_type, value))
        position += attribute_length
    return attributes


def _check_vendor_specific(value: bytes, offset: int) -> None:
    if len(value) < VENDOR_ID_OCTETS:
        raise MalformedPacket(
            "bad_vendor_length",
            f"Vendor-Specific at offset {offset} is {len(value) + 2} octets, shorter than 6 (no room for a vendor id)",
        )
    vendor = int.from_bytes(value[:VENDOR_ID_OCTETS], "big")
    type_octets, length_octets = VENDOR_FORMATS.get(vendor, STANDARD_VENDOR_FORMAT)
    header_octets = type_octets + length_octets
    position, end = VENDOR_ID_OCTETS, len(value)
    if length_octets == 0:
        # One sub-attribute fills the rest of the VSA: it needs at least its type.
        if end - position < type_octets:
            raise MalformedPacket(
                "bad_vendor_length", f"Vendor-Specific of vendor {vendor} at offset {offset} has no room for a type"
            )
        return
    while position < end:
        if end - position < header_octets:
            raise MalformedPacket(
                "bad_vendor_length",
                f"vendor {vendor} sub-attribute header at offset {offset + 2 + position} is cut off",
            )
        sub_length = int.from_bytes(value[position + type_octets : position + header_octets], "big")
        if sub_length < header_octets or position + sub_length > end:
            raise MalformedPacket(
                "bad_vendor_length",
                f"vendor {vendor} sub-attribute at offset {offset + 2 + position} has length {sub_length}, "
                f"which is below {header_octets} or does not fit the Vendor-Specific attribute",
            )
        position += sub_length


def proxy_states(packet: RawPacket) -> list[bytes]:
    """The Proxy-State values in wire order; a reply must carry them unmodified, in order."""
    return packet.all(PROXY_STATE)


# --- Encoding -------------------------------------------------------------------------


def encode_attributes(attributes: Iterable[tuple[int, bytes]]) -> bytes:
    """Type‖Length‖Value for each attribute, in order. Values are 0..253 octets."""
    parts: list[bytes] = []
    for attribute_type, value in attributes:
        if not 0 <= attribute_type <= 255:
            raise ValueError(f"attribute type {attribute_type} is outside 0..255")
        if len(value) > MAX_ATTRIBUTE_VALUE_OCTETS:
            raise ValueError(
                f"attribute {attribute_type} value is {len(value)} octets; the maximum is {MAX_ATTRIBUTE_VALUE_OCTETS}"
            )
        parts.append(bytes((attribute_type, len(value) + 2)) + bytes(value))
    return b"".join(parts)


def build(code: int, identifier: int, authenticator: bytes, attributes_bytes: bytes) -> bytes:
    """Header plus encoded attributes; ValueError if a field is out of range or the packet
    would exceed MAX_PACKET_OCTETS."""
    _check_header(code, identifier)
    if len(authenticator) != AUTHENTICATOR_OCTETS:
        raise ValueError(f"authenticator is {len(authenticator)} octets, not {AUTHENTICATOR_OCTETS}")
    return _header(code, identifier, attributes_bytes) + bytes(authenticator) + bytes(attributes_bytes)


def _check_header(code: int, identifier: int) -> None:
    if not 0 <= code <= 255:
        raise ValueError(f"packet code {code} is outside 0..255")
    if not 0 <= identifier <= 255:
        raise ValueError(f"identifier {identifier} is outside 0..255")


def _header(code: int, identifier: int, attributes_bytes: bytes) -> bytes:
    length = HEADER_OCTETS + len(attributes_bytes)
    if length > MAX_PACKET_OCTETS:
        raise ValueError(f"packet would be {length} octets; the maximum is {MAX_PACKET_OCTETS}")
    return struct.pack("!BBH", code, identifier, length)


# --- Request and Response Authenticators ------------------------------------------------


def request_authenticator_for(code: int, identifier: int, attributes_bytes: bytes, secret: bytes) -> bytes:
    """Request Authenticator of an Accounting, CoA or Disconnect request (RFC 2866 §3)."""
    _check_header(code, identifier)
    header = _header(code, identifier, attributes_bytes)
    return hashlib.md5(header + ZERO_AUTHENTICATOR + attributes_bytes + secret).digest()


def accounting_request_ok(packet: RawPacket, secret: bytes) -> bool:
    """Whether the Request Authenticator of an Accounting, CoA or Disconnect request is right.

    A request that fails must be discarded silently (RFC 5080 §2.3.3).
    """
    expected = hashlib.md5(packet.data[:4] + ZERO_AUTHENTICATOR + packet.data[HEADER_OCTETS:] + secret).digest()
    return hmac.compare_digest(expected, packet.authenticator)


def response_authenticator(
    code: int, identifier: int, request_authenticator: bytes, attributes_bytes: bytes, secret: bytes
) -> bytes:
    """MD5(Code‖ID‖Length‖Request Authenticator‖attributes‖secret) (RFC 2865 §3)."""
    _check_header(code, identifier)
    header = _header(code, identifier, attributes_bytes)
    return hashlib.md5(header + request_authenticator + attributes_bytes + secret).digest()


def response_ok(reply: RawPacket, request_authenticator: bytes, secret: bytes) -> bool:
    """Whether a reply's Response Authenticator matches the request it answers."""
    expected = hashlib.md5(reply.data[:4] + request_authenticator + reply.data[HEADER_OCTETS:] + secret).digest()
    return hmac.compare_digest(expected, reply.authenticator)


# --- Message-Authenticator ---------------------------------------------------------------


def message_authenticator(data_with_ma_zeroed: bytes, secret: bytes) -> bytes:
    """HMAC-MD5 over a whole packet whose Authenticator field already holds the right vector
    and whose Message-Authenticator value is 16 zero octets (RFC 3579 §3.2)."""
    return hmac.new(secret, data_with_ma_zeroed, hashlib.md5).digest()


def reply_vector(reply_code: int, request_authenticator: bytes, request_code: int | None = None) -> bytes:
    """The vector in a reply's Message-Authenticator: the request's authenticator, except for
    an Accounting-Response that does not answer a Status-Server, where FreeRADIUS and pyrad
    use 16 zero octets."""
    if reply_code == ACCOUNTING_RESPONSE and request_code != STATUS_SERVER:
        return ZERO_AUTHENTICATOR
    return request_authenticator


def verify_message_authenticator(packet: RawPacket, secret: bytes, authenticator: bytes | None = None) -> bool | None:
    """Check the Message-Authenticator; None when the packet has none.

    `authenticator` is the vector the sender used. When omitted: the packet's own for
    Access-Request and Status-Server, 16 zero octets for Accounting, CoA and Disconnect
    requests. A reply has no default: pass the request's authenticator (see `reply_vector`),
    else ValueError. A packet whose check fails must not touch the duplicate cache
    (RFC 5080 §2.2.2).
    """
    offset = _message_authenticator_offset(packet.data)
    if offset is None:
        return None
    if authenticator is None:
        if packet.code in RANDOM_REQUEST_CODES:
            authenticator = packet.authenticator
        elif packet.code in HASHED_REQUEST_CODES:
            authenticator = ZERO_AUTHENTICATOR
        else:
            raise ValueError(f"code {packet.code} is a reply: pass the request's authenticator")
    if len(authenticator) != AUTHENTICATOR_OCTETS:
        raise ValueError(f"authenticator is {len(authenticator)} octets, not {AUTHENTICATOR_OCTETS}")
    received = packet.data[offset : offset + AUTHENTICATOR_OCTETS]
    zeroed = bytearray(packet.data)
    zeroed[4:HEADER_OCTETS] = authenticator
    zeroed[offset : offset + AUTHENTICATOR_OCTETS] = ZERO_AUTHENTICATOR
    return hmac.compare_digest(message_authenticator(bytes(zeroed), secret), received)


def _message_authenticator_offset(data: bytes) -> int | None:
    """Offset of the Message-Authenticator *value* in validated packet data, or None."""
    position = HEADER_OCTETS
    while position + 2 <= len(data):
        attribute_type, attribute_length = data[position], data[position + 1]
        if attribute_length < 2:  # never for parsed data; stops a loop on anything else
            return None
        if attribute_type == MESSAGE_AUTHENTICATOR:
            return position + 2
        position += attribute_length
    return None


# --- Signing -------------------------------------------------------------------------------


def sign_reply(
    code: int,
    identifier: int,
    attributes: Sequence[tuple[int, bytes]],
    request_authenticator: bytes,
    secret: bytes,
    *,
    request_code: int | None = None,
) -> bytes:
    """The datagram of a reply: Message-Authenticator filled (if any), then the Response
    Authenticator.

    A (80, anything) entry in `attributes` is the Message-Authenticator placeholder; its
    value is replaced. Access-Accept, -Reject and -Challenge always get one, as the FIRST
    attribute (BlastRADIUS, CVE-2024-3596): a placeholder elsewhere is moved, a missing one
    added. `request_code` matters only for an Accounting-Response (see `reply_vector`).
    """
    if code not in REPLY_CODES:
        raise ValueError(f"code {code} is not a reply code")
    if len(request_authenticator) != AUTHENTICATOR_OCTETS:
        raise ValueError(f"request authenticator is {len(request_authenticator)} octets, not {AUTHENTICATOR_OCTETS}")
    ordered = _with_placeholder(attributes, first=code in ACCESS_REPLY_CODES)
    vector = reply_vector(code, request_authenticator, request_code)
    data = _fill_message_authenticator(code, identifier, vector, encode_attributes(ordered), secret)
    signature = hashlib.md5(data[:4] + request_authenticator + data[HEADER_OCTETS:] + secret).digest()
    return data[:4] + signature + data[HEADER_OCTETS:]


def sign_request(code: int, identifier: int, attributes: Sequence[tuple[int, bytes]], secret: bytes) -> bytes:
    """The datagram of an Accounting, CoA or Disconnect request: Message-Authenticator (if a
    placeholder is present) over 16 zero octets first, then the Request Authenticator
    (RFC 5176 §3.4)."""
    if code not in HASHED_REQUEST_CODES:
        raise ValueError(f"code {code} is not an Accounting, CoA or Disconnect request")
    ordered = _with_placeholder(attributes, first=False)
    data = _fill_message_authenticator(code, identifier, ZERO_AUTHENTICATOR, encode_attributes(ordered), secret)
    signature = hashlib.md5(data + secret).digest()  # data still carries 16 zero octets
    return data[:4] + signature + data[HEADER_OCTETS:]


def _with_placeholder(attributes: Sequence[tuple[int, bytes]], *, first: bool) -> list[tuple[int, bytes]]:
    placeholders = sum(1 for attribute_type, _ in attributes if attribute_type == MESSAGE_AUTHENTICATOR)
    if placeholders > 1:
        raise ValueError("at most one Message-Authenticator placeholder is allowed")
    placeholder = (MESSAGE_AUTHENTICATOR, ZERO_AUTHENTICATOR)
    if first:
        rest = [attribute for attribute in attributes if attribute[0] != MESSAGE_AUTHENTICATOR]
        return [placeholder, *rest]
    return [placeholder if attribute[0] == MESSAGE_AUTHENTICATOR else attribute for attribute in attributes]


def _fill_message_authenticator(
    code: int, identifier: int, vector: bytes, attributes_bytes: bytes, secret: bytes
) -> bytes:
    """The packet with `vector` as authenticator and its Message-Authenticator (if any) filled."""
    data = build(code, identifier, vector, attributes_bytes)
    offset = _message_authenticator_offset(data)
    if offset is None:
        return data
    signature = message_authenticator(data, secret)
    return data[:offset] + signature + data[offset + AUTHENTICATOR_OCTETS :]
