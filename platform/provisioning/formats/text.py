"""Line handling and value checks shared by the formats.

Values that would change a line's meaning (a ':' in a Unix user name, a space in a
mail address) are refused with `FormatError`; only the free-text GECOS field is
sanitized, because a customer's name is never an identity.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from .base import HEADER_TEXT, FormatError

DOMAIN_MAX = 253  # characters in a domain name without its final dot (RFC 1035)
LABEL_MAX = 63  # characters in one label
LOCAL_PART_MAX = 64  # characters before the '@' of a mail address (RFC 5321)
GECOS_MAX = 128  # characters kept of a customer's name

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
# Conservative on purpose: these characters are safe in every map and control file here.
_LOCAL_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._%+=-]*")
# Checked and cleaned values are cached: every target of an export checks the same
# names, hashes and addresses again (nine targets, a hundred thousand accounts).
VALUE_CACHE = 262_144
_DIGITS = re.compile(r"[0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_GECOS_UNSAFE = re.compile(r"[:,\x00-\x1f\x7f\u0085\u2028\u2029]+")


def render_lines(lines: Iterable[str], *, comment: str | None = "#") -> str:
    """A whole file: the header as a comment (when the format has comments), then `lines`."""
    body = list(lines)
    if comment is not None:
        body.insert(0, f"{comment} {HEADER_TEXT}")
    return "".join(line + "\n" for line in body)


def numbered(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) split on "\n" only, a "\r" before it dropped.

    Not str.splitlines(): that also splits on characters like U+0085 that the back
    ends read as part of a value, so a line would be misnumbered or cut in two.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.removesuffix("\r")


def content_lines(text: str, *, comment: str = "#") -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped line) for each line that is not blank or a comment."""
    for number, raw in numbered(text):
        line = raw.strip()
        if line and not line.startswith(comment):
            yield number, line


@lru_cache(maxsize=VALUE_CACHE)
def sanitize_gecos(name: str) -> str:
    """A customer's name made safe for a GECOS field: no ':', ',' or control characters."""
    cleaned = " ".join(_GECOS_UNSAFE.sub(" ", name).split())
    return cleaned[:GECOS_MAX].rstrip()


@lru_cache(maxsize=VALUE_CACHE)
def check_domain(name: str, what: str = "domain") -> str:
    """`name` lower-cased, if it is a valid domain name; otherwise FormatError."""
    labels = name.split(".")
    if len(name) > DOMAIN_MAX or not all(len(label) <= LABEL_MAX and _LABEL.fullmatch(label) for label in labels):
        raise FormatError(
            f"{what} {name!r} is not a valid domain name: labels of 1 to {LABEL_MAX} letters, digits or "
            f"inner hyphens, separated by dots, at most {DOMAIN_MAX} characters, no final dot"
        )
    return name.lower()


@lru_cache(maxsize=VALUE_CACHE)
def check_address(address: str) -> str:
    """A mail address with its domain lower-cased, if it is safe to write; otherwise FormatError."""
    local, at, domain = address.rpartition("@")
    if not at or len(local) > LOCAL_PART_MAX or not _LOCAL_PART.fullmatch(local):
        raise FormatError(
            f"mail address {address!r} cannot be exported: the part before '@' must be 1 to {LOCAL_PART_MAX} "
            "letters, digits or '._%+=-' (no spaces, quotes or '#')"
        )
    return f"{local}@{check_domain(domain, f'the domain of mail address {address!r}')}"


@lru_cache(maxsize=64)
def _refused(forbidden: str) -> re.Pattern[str]:
    """One pattern for everything a token may not hold: whitespace, control characters, `forbidden`."""
    extra = "".join(re.escape(char) for char in forbidden)
    return re.compile(rf"[\s\x00-\x1f\x7f{extra}]")


@lru_cache(maxsize=VALUE_CACHE)
def check_token(value: str, what: str, *, forbidden: str = "") -> str:
    """`value` if it is non-empty without whitespace, control characters or `forbidden` ones."""
    if value and _refused(forbidden).search(value) is None:  # the common case: one scan of the value
        return value
    bad = [char for char in value if char.isspace() or _CONTROL.match(char) or char in forbidden]
    if not value or bad:
        shown = ", ".join(repr(char) for char in dict.fromkeys(bad)) or "nothing"
        raise FormatError(f"{what} {value!r} cannot be written: it must be non-empty and may not contain {shown}")
    return value


def check_ipv4(value: str, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise FormatError(f"{what} {value!r} is not an IPv4 address like 192.0.2.10") from None


def check_ipv6(value: str, what: str) -> str:
    try:
        return str(ipaddress.IPv6Address(value))
    except ValueError:
        raise FormatError(f"{what} {value!r} is not an IPv6 address like 2001:db8::10") from None


def fields(line: str, count: int, file: str, number: int, *, sep: str = ":") -> list[str]:
    """The `count` `sep`-separated fields of a line, or FormatError saying how many there were."""
    parts = line.split(sep)
    if len(parts) != count:
        raise FormatError(f"expected {count} {sep!r}-separated fields, found {len(parts)}", file=file, line=number)
    return parts


def number(value: str, what: str, file: str, line: int) -> str:
    """`value` if it is a non-negative decimal integer (kept as text for comparison)."""
    if not _DIGITS.fullmatch(value):
        raise FormatError(f"{what} must be a non-negative integer, found {value!r}", file=file, line=line)
    return str(int(value))
