"""RADIUS attributes by name: Bureau's dictionary, decoding and encoding. The only pyrad import.

pyrad 2.6 is used for what it does well, reading FreeRADIUS-format dictionaries and
converting single values to and from octets; its `Packet` class is not used, so none of
its packet-level quirks (automatic salt decryption, VALUE names in place of numbers,
`int()` on anything) reach Bureau. Nothing pyrad returns leaves this module: callers get
`Dictionary` and `AttributeSpec` (plain, immutable), ints, strs and bytes.

Values by dictionary type, both ways:

| type | decoded as | accepted for encoding |
|---|---|---|
| integer, signed, short, byte, integer64, date | int | int, or a VALUE name (str) |
| string | str, or bytes if not UTF-8 | str or bytes |
| octets, tlv | bytes | bytes |
| abinary | bytes | bytes, or an Ascend filter text |
| ipaddr, ipv6addr | str | str or `ipaddress` address |
| ipv6prefix | str `"2001:db8::/48"` | str or `ipaddress.IPv6Network` |
| ifid, ether | str | str or bytes |

Hidden attributes (`encrypt=1`, User-Password; `encrypt=2`, MS-MPPE-Send/Recv-Key) are
bytes both ways and are never revealed or hidden here: `decode` leaves the hidden octets,
and `bureau.platform.radius.passwords.reveal_password` / `hide_password` and
`bureau.platform.radius.mschap.decrypt_mppe_key` / `encrypt_mppe_key` convert them, with
the secret and authenticator the caller knows to be right.

Attributes not in the dictionary, and values that do not fit their type (an integer that
is not 4 octets, say), decode as raw bytes under a numeric name, as FreeRADIUS prints
them (RFC 6929 §2.8 "invalid attributes"): `Attr-<type>`, `Attr-26.<vendor>.<type>`, or
`Attr-26.<vendor>` for a Vendor-Specific that does not split into sub-attributes. The same
names encode back to the same octets, so a proxy can pass on what it does not understand.
Tagged attributes (RFC 2868, `has_tag`) carry their tag in the name, `Name:<tag>` (tag 1-31).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pyrad import dictfile as _pyrad_dictfile
from pyrad import dictionary as _pyrad_dictionary
from pyrad import tools as _pyrad_tools

SHIPPED_DICTIONARY = Path(__file__).resolve().parent / "dictionary" / "dictionary"
"""Bureau's top-level dictionary file; it `$INCLUDE`s the others beside it."""

Value = int | str | bytes
Attributes = dict[str, list[Value]]

HEADER_OCTETS = 20
VENDOR_SPECIFIC = 26
MAX_VALUE_OCTETS = 253  # RFC 2865 §5: the Length octet covers type and length too
VENDOR_HEADER_OCTETS = 4 + 2  # vendor id, then sub-attribute type and length (RFC 2865 §5.26)
MAX_VENDOR_VALUE_OCTETS = MAX_VALUE_OCTETS - VENDOR_HEADER_OCTETS
MAX_WIRE_CODE = 255  # codes above are internal to a server and never sent
MAX_TAG = 0x1F  # RFC 2868 §3.1
SUGGESTIONS = 3

# The FreeRADIUS dictionary keywords pyrad 2.6 implements ($INCLUDE and $INCLUDE- are
# handled while reading). It skips every other line without a word, so an ISP's file
# using, say, BEGIN-TLV would silently lose definitions: those are refused instead.
SUPPORTED_KEYWORDS = frozenset({"ATTRIBUTE", "VALUE", "VENDOR", "BEGIN-VENDOR", "END-VENDOR"})
INTEGER_TYPES = frozenset({"integer", "signed", "short", "byte", "integer64", "date"})
BINARY_TYPES = frozenset({"octets", "tlv"})
_NUMERIC_NAME = re.compile(r"Attr-(\d{1,3})(?:\.(\d{1,10})(?:\.(\d{1,3}))?)?")


class DictionaryError(Exception):
    """A dictionary file that cannot be read or parsed. `path` and `line` (1-based, or 0 when
    the file itself is the problem) say where."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        where = f"{path}, line {line}" if line > 0 else path
        super().__init__(f"RADIUS dictionary {where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class EncodeError(ValueError):
    """An attribute value that cannot be put on the wire; the message names the attribute."""


class UnknownAttribute(EncodeError):
    """An attribute name that is in no loaded dictionary."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class DecodeError(ValueError):
    """A datagram whose structure is broken (it should have been refused by
    `bureau.platform.radius.wire.parse` first)."""


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One dictionary definition. `code` is the attribute type, or the sub-attribute type
    inside a Vendor-Specific for a vendor attribute (`vendor_id` non-zero)."""

    name: str
    code: int
    type: str
    vendor: str = ""
    vendor_id: int = 0
    encrypt: int = 0  # 1: User-Password hiding, 2: salt encryption (RFC 2868 §3.5), 3: Ascend
    has_tag: bool = False
    values: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def hidden(self) -> bool:
        """The value is encrypted with the shared secret: bytes both ways, see the module doc."""
        return self.encrypt != 0

    @property
    def on_the_wire(self) -> bool:
        """False for server-internal attributes (codes above 255), which are never encoded."""
        return self.code <= MAX_WIRE_CODE


class Dictionary:
    """The attributes known to Bureau: the shipped dictionary plus an ISP's extra files.

    Immutable; build one with `load_dictionary` and share it.
    """

    def __init__(
        self, attributes: Iterable[AttributeSpec], vendors: Mapping[str, int], skipped: Iterable[str] = ()
    ) -> None:
        self._by_name: dict[str, AttributeSpec] = {}
        self._by_code: dict[tuple[int, int], AttributeSpec] = {}
        for spec in attributes:
            self._by_name[spec.name] = spec
            # A later definition of the same code wins, as it does in FreeRADIUS and pyrad.
            self._by_code[(spec.vendor_id, spec.code)] = spec
        self.vendors: Mapping[str, int] = MappingProxyType(dict(vendors))
        self.skipped: frozenset[str] = frozenset(skipped) - self._by_name.keys()
        """Names defined in a dictionary file with a type or format pyrad cannot handle."""

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return list(self._by_name)

    def find(self, name: str) -> AttributeSpec | None:
        return self._by_name.get(name)

    def attribute(self, name: str) -> AttributeSpec:
        """The definition named `name`; UnknownAttribute (with suggestions) if there is none."""
        spec = self._by_name.get(name)
        if spec is not None:
            return spec
        if name in self.skipped:
            raise UnknownAttribute(
                name,
                f"RADIUS attribute {name!r} is defined with a data type or vendor format that Bureau "
                "cannot encode (pyrad 2.6 skips it); define it with a supported type or send it raw by number",
            )
        close = difflib.get_close_matches(name, self._by_name, n=SUGGESTIONS)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownAttribute(
            name,
            f"unknown RADIUS attribute {name!r}: it is in neither Bureau's dictionary nor the ISP's extra "
            f"dictionary files{hint}",
        )

    def by_code(self, code: int, vendor_id: int = 0) -> AttributeSpec | None:
        return self._by_code.get((vendor_id, code))

    def value_name(self, name: str, number: int) -> str | None:
        """The VALUE name of `number` for attribute `name` (e.g. 7 -> "Accounting-On")."""
        for value_name, value in self.attribute(name).values.items():
            if value == number:
                return value_name
        return None


@dataclass(frozen=True, slots=True)
class DecodedPacket:
    code: int
    identifier: int
    authenticator: bytes
    attributes: Attributes
    """Values by attribute name, names in order of first appearance, values in wire order."""

    def first(self, name: str) -> Value | None:
        values = self.attributes.get(name)
        return values[0] if values else None


# --- Loading ----------------------------------------------------------------------------


def load_dictionary(extra: Sequence[Path] = ()) -> Dictionary:
    """Bureau's shipped dictionary, then the ISP's FreeRADIUS-format files in `extra`.

    Later definitions replace earlier ones. Supported: ATTRIBUTE (with a vendor name or
    `has_tag`/`encrypt=N` flags in the fifth column), VALUE, VENDOR (`format=1,1` only),
    BEGIN-VENDOR/END-VENDOR, `$INCLUDE` and `$INCLUDE-` (relative to the including file).
    Attributes pyrad cannot encode are skipped and listed in `Dictionary.skipped`, as pyrad
    does: the types vsa, extended, long-extended, evs, ipv4prefix, combo-ip, bool, uint16
    and uint32, the `array` flag, nested TLVs, vendors with a format other than 1,1 and
    `BEGIN-VENDOR ... format=` blocks. A VALUE for an unknown attribute is ignored.

    Raises DictionaryError (naming the file and line) for a file that cannot be read or is
    not UTF-8, a syntax error pyrad reports, and any other keyword (BEGIN-TLV, END-TLV,
    FLAGS, PROTOCOL, BEGIN-PROTOCOL, STRUCT, MEMBER, ENUM, DEFINE, ...), which pyrad would
    otherwise skip silently.
    """
    files = [SHIPPED_DICTIONARY, *(Path(path) for path in extra)]
    known: dict[str, str] = {}  # pyrad reports a file by its base name; map it back to a path
    for path in files:
        known.update(_check_keywords(path))
    try:
        parsed = _pyrad_dictionary.Dictionary(*(str(path) for path in files))
    except _pyrad_dictionary.ParseError as error:
        raise DictionaryError(known.get(error.file, error.file or "?"), max(error.line, 0), str(error.msg)) from error
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DictionaryError(", ".join(str(path) for path in files[1:]), 0, str(error)) from error
    return _from_pyrad(parsed)


def _check_keywords(path: Path) -> dict[str, str]:
    """Walk `path` and its includes; refuse unreadable files and keywords pyrad would skip.
    Returns the files read, by base name."""
    files: dict[str, str] = {}
    try:
        reader = _pyrad_dictfile.DictFile(str(path))
        for line in reader:
            current = _current_path(reader, path)
            files[Path(current).name] = current
            words = line.split("#", 1)[0].split()
            if words and words[0].upper() not in SUPPORTED_KEYWORDS:
                raise DictionaryError(
                    current,
                    int(reader.Line()),
                    f"{words[0]!r} is FreeRADIUS dictionary syntax that Bureau's RADIUS codec (pyrad 2.6) "
                    f"does not support; supported are {', '.join(sorted(SUPPORTED_KEYWORDS))} and $INCLUDE",
                )
    except _pyrad_dictionary.ParseError as error:  # a recursive $INCLUDE
        raise DictionaryError(str(path), max(error.line, 0), str(error.msg)) from error
    except OSError as error:
        raise DictionaryError(str(getattr(error, "filename", None) or path), 0, f"cannot read it: {error}") from error
    except UnicodeDecodeError as error:
        raise DictionaryError(str(path), 0, f"it is not UTF-8 text: {error}") from error
    return files


def _current_path(reader: Any, top: Path) -> str:
    # DictFile keeps the real path of each open file in a private stack; fall back to the
    # base name it reports if a future pyrad changes that.
    stack = getattr(reader, "stack", None)
    if stack:
        real = getattr(stack[-1], "path", None)
        if real:
            return str(real)
    return str(reader.File() or top)


def _from_pyrad(parsed: Any) -> Dictionary:
    vendors = {str(name): int(number) for name, number in parsed.vendors.forward.items() if name}
    specs: list[AttributeSpec] = []
    for name, attribute in parsed.attributes.items():
        if attribute.is_sub_attribute:  # a TLV member: the TLV itself is handled as octets
            continue
        values: dict[str, int] = {}
        if attribute.type in INTEGER_TYPES:
            for value_name, encoded in attribute.values.forward.items():
                values[str(value_name)] = int(_pyrad_tools.DecodeAttr(attribute.type, encoded))
        specs.append(
            AttributeSpec(
                name=str(name),
                code=int(attribute.code),
                type=str(attribute.type),
                vendor=str(attribute.vendor),
                vendor_id=vendors.get(attribute.vendor, 0),
                encrypt=int(attribute.encrypt),
                has_tag=bool(attribute.has_tag),
                values=MappingProxyType(values),
            )
        )
    return Dictionary(specs, vendors, (str(name) for name in parsed.skipped_attributes))


# --- Decoding ---------------------------------------------------------------------------


def decode(data: bytes, dictionary: Dictionary) -> DecodedPacket:
    """Name and type the attributes of a datagram that `wire.parse` has accepted.

    No secret is needed: hidden attributes stay hidden bytes (see the module doc), and the
    authenticators are checked elsewhere. Raises DecodeError if the structure is broken.
    """
    if len(data) < HEADER_OCTETS:
        raise DecodeError(f"datagram of {len(data)} octets is shorter than a RADIUS header")
    code, identifier, length = struct.unpack_from("!BBH", data)
    if not HEADER_OCTETS <= length <= len(data):
        raise DecodeError(f"Length field {length} does not fit the {len(data)} octets received")
    attributes: Attributes = {}
    for attribute_type, value in _split(data[HEADER_OCTETS:length]):
        if attribute_type == VENDOR_SPECIFIC:
            for name, decoded in _decode_vendor_specific(value, dictionary):
                attributes.setdefault(name, []).append(decoded)
        else:
            name, decoded = _decode_one(dictionary.by_code(attribute_type), value, f"Attr-{attribute_type}")
            attributes.setdefault(name, []).append(decoded)
    return DecodedPacket(code, identifier, bytes(data[4:HEADER_OCTETS]), attributes)


def _split(data: bytes) -> list[tuple[int, bytes]]:
    parts: list[tuple[int, bytes]] = []
    position = 0
    while position < len(data):
        if len(data) - position < 2 or data[position + 1] < 2 or position + data[position + 1] > len(data):
            raise DecodeError(f"attribute at offset {HEADER_OCTETS + position} has a broken length")
        parts.append((data[position], bytes(data[position + 2 : position + data[position + 1]])))
        position += data[position + 1]
    return parts


def _decode_vendor_specific(value: bytes, dictionary: Dictionary) -> list[tuple[str, Value]]:
    if len(value) < 4:
        return [(f"Attr-{VENDOR_SPECIFIC}", value)]
    vendor_id = int.from_bytes(value[:4], "big")
    try:
        subs = _split(value[4:])
    except DecodeError:  # not the RFC 2865 §5.26 layout (or a vendor format pyrad lacks)
        return [(f"Attr-{VENDOR_SPECIFIC}.{vendor_id}", value[4:])]
    if not subs:
        return [(f"Attr-{VENDOR_SPECIFIC}.{vendor_id}", b"")]
    return [
        _decode_one(
            dictionary.by_code(sub_type, vendor_id), sub_value, f"Attr-{VENDOR_SPECIFIC}.{vendor_id}.{sub_type}"
        )
        for sub_type, sub_value in subs
    ]


def _decode_one(spec: AttributeSpec | None, value: bytes, raw_name: str) -> tuple[str, Value]:
    if spec is None:
        return raw_name, value
    name = spec.name
    if spec.has_tag:
        tag, value = _split_tag(spec, value)
        if tag:
            name = f"{spec.name}:{tag}"
    if spec.hidden or spec.type in BINARY_TYPES or spec.type == "abinary":
        return name, value
    if spec.type == "ipv6addr" and len(value) != 16:  # pyrad pads short values with zeros
        return raw_name, value
    try:
        decoded = _pyrad_tools.DecodeAttr(spec.type, value)
    except (ValueError, TypeError, struct.error):
        return raw_name, value
    if isinstance(decoded, int | str | bytes):
        return name, decoded
    return raw_name, value


def _split_tag(spec: AttributeSpec, value: bytes) -> tuple[int, bytes]:
    """RFC 2868 §3: the tag replaces the first octet of an integer, and precedes other
    values when the first octet is at most 0x1F."""
    if not value:
        return 0, value
    if spec.type == "integer":
        return value[0], b"\x00" + value[1:]
    if value[0] <= MAX_TAG:
        return value[0], value[1:]
    return 0, value


# --- Encoding ---------------------------------------------------------------------------


def encode_attributes(attributes: Mapping[str, Any], dictionary: Dictionary) -> list[tuple[int, bytes]]:
    """Named attributes as wire (type, value) pairs, in the order given, ready for a signer.

    Each value is one value or a list/tuple of values (see the module doc for the Python
    types accepted per dictionary type). A vendor attribute becomes one Vendor-Specific
    (26) per value, holding the vendor id and one sub-attribute. Raises UnknownAttribute
    for a name in no dictionary and EncodeError for a value that does not fit its type or
    length, a hidden attribute given as anything but its hidden bytes, an internal
    attribute, or a tag on an untagged attribute. Values longer than one attribute (an
    EAP-Message over 253 octets) must be split by the caller.
    """
    pairs: list[tuple[int, bytes]] = []
    for key, given in attributes.items():
        values = list(given) if isinstance(given, list | tuple) else [given]
        raw = _NUMERIC_NAME.fullmatch(key)
        if raw is not None:
            pairs.extend(_encode_raw(key, raw, values))
            continue
        name, _, tag_text = key.partition(":")
        spec = dictionary.attribute(name)
        if not spec.on_the_wire:
            raise EncodeError(f"{name} is internal to the server (code {spec.code}) and is never sent on the wire")
        tag = _parse_tag(spec, tag_text) if tag_text else None
        limit = MAX_VENDOR_VALUE_OCTETS if spec.vendor_id else MAX_VALUE_OCTETS
        for value in values:
            encoded = _with_tag(spec, tag, _encode_value(spec, value))
            if len(encoded) > limit:
                raise EncodeError(
                    f"{key}: the value is {len(encoded)} octets, more than the {limit} an attribute holds"
                )
            pairs.append(_wire_pair(spec.vendor_id, spec.code, encoded))
    return pairs


def _wire_pair(vendor_id: int, code: int, encoded: bytes) -> tuple[int, bytes]:
    if not vendor_id:
        return code, encoded
    return VENDOR_SPECIFIC, struct.pack("!IBB", vendor_id, code, len(encoded) + 2) + encoded


def _encode_raw(key: str, match: re.Match[str], values: list[Any]) -> list[tuple[int, bytes]]:
    code_text, vendor_text, sub_text = match.groups()
    code = int(code_text)
    if code > MAX_WIRE_CODE or (vendor_text is not None and code != VENDOR_SPECIFIC):
        raise EncodeError(f"{key!r} is not an attribute number (Attr-<1..255> or Attr-26.<vendor>.<type>)")
    pairs: list[tuple[int, bytes]] = []
    for value in values:
        if not isinstance(value, bytes | bytearray):
            raise EncodeError(f"{key}: an attribute given by number takes its raw bytes, not {type(value).__name__}")
        value = bytes(value)
        if vendor_text is None:
            pair = (code, value)
        elif sub_text is None:
            pair = (VENDOR_SPECIFIC, int(vendor_text).to_bytes(4, "big") + value)
        elif int(sub_text) > MAX_WIRE_CODE or int(vendor_text) >= 1 << 32:
            raise EncodeError(f"{key!r} names a vendor or sub-attribute number out of range")
        else:
            pair = _wire_pair(int(vendor_text), int(sub_text), value)
        if len(pair[1]) > MAX_VALUE_OCTETS:
            raise EncodeError(f"{key}: the value does not fit in one attribute ({MAX_VALUE_OCTETS} octets)")
        pairs.append(pair)
    return pairs


def _parse_tag(spec: AttributeSpec, tag_text: str) -> int:
    if not spec.has_tag:
        raise EncodeError(f"{spec.name} is not a tagged attribute, so {spec.name}:{tag_text} is not valid")
    if not tag_text.isdecimal() or not 1 <= int(tag_text) <= MAX_TAG:
        raise EncodeError(f"{spec.name}:{tag_text}: a tag is a number from 1 to {MAX_TAG} (RFC 2868 §3.1)")
    return int(tag_text)


def _with_tag(spec: AttributeSpec, tag: int | None, encoded: bytes) -> bytes:
    if not spec.has_tag:
        return encoded
    if spec.type == "integer":
        if encoded[0]:
            raise EncodeError(f"{spec.name}: a tagged integer holds 24 bits; the value is too large")
        return bytes((tag or 0,)) + encoded[1:]
    if tag is not None:
        return bytes((tag,)) + encoded
    # Untagged, but a first octet up to 0x1F would be read as a tag: prefix the tag 0.
    return b"\x00" + encoded if encoded and encoded[0] <= MAX_TAG else encoded


def _encode_value(spec: AttributeSpec, value: Any) -> bytes:
    if spec.hidden or spec.type in BINARY_TYPES:
        if not isinstance(value, bytes | bytearray):
            what = "its already hidden octets (see bureau.platform.radius)" if spec.hidden else "bytes"
            raise EncodeError(f"{spec.name} takes {what}, not {type(value).__name__}")
        return bytes(value)
    if spec.type in INTEGER_TYPES:
        value = _integer(spec, value)
    elif spec.type in {"ipaddr", "ipv6addr", "ipv6prefix"}:
        if not isinstance(value, str | ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv6Network):
            raise EncodeError(f"{spec.name} takes an address as str, not {type(value).__name__}")
        value = str(value)
    elif spec.type in {"string", "abinary", "ifid", "ether"}:
        if not isinstance(value, str | bytes | bytearray):
            raise EncodeError(f"{spec.name} takes str or bytes, not {type(value).__name__}")
        if spec.type == "string" and isinstance(value, bytearray):
            value = bytes(value)
    try:
        encoded = _pyrad_tools.EncodeAttr(spec.type, value)
    except (ValueError, TypeError, struct.error) as error:
        raise EncodeError(f"{spec.name}: {value!r} is not a valid {spec.type} value ({error})") from error
    if not isinstance(encoded, bytes):  # pragma: no cover - pyrad always returns bytes
        raise EncodeError(f"{spec.name}: cannot encode {value!r}")
    return encoded


def _integer(spec: AttributeSpec, value: Any) -> int:
    if isinstance(value, str):
        number = spec.values.get(value)
        if number is None:
            known = ", ".join(sorted(spec.values)) or "none"
            raise EncodeError(f"{spec.name}: {value!r} is not one of its named values ({known}); or give a number")
        return number
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncodeError(f"{spec.name} takes an int or a VALUE name, not {type(value).__name__}")
    return value
