"""Signed values for the RADIUS Class attribute (25): tenant id and session reference.

The Access-Accept carries Class; the NAS "SHOULD" echo it unmodified in accounting and
"MUST NOT interpret" it (RFC 2865 §5.25). The value is

    b"bu1:" ‖ tenant id (decimal) ‖ b":" ‖ session reference (UTF-8) ‖ b":" ‖ tag

where tag is the HMAC-SHA256 of everything before it, truncated to 16 octets and written
in unpadded base64url, so the whole value stays printable (FreeRADIUS stores Class in a
text column). The prefix lets other servers' Class values be told apart; a NAS that drops
or alters Class gives `read_class` None, and the caller falls back to other session keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = b"bu1:"
MAX_CLASS_OCTETS = 253  # one attribute value
TAG_OCTETS = 16
TAG_TEXT_OCTETS = 22  # unpadded base64 of 16 octets
MIN_KEY_OCTETS = 16


def _tag(key: bytes, signed: bytes) -> bytes:
    mac = hmac.new(key, signed, hashlib.sha256).digest()[:TAG_OCTETS]
    return base64.urlsafe_b64encode(mac).rstrip(b"=")


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_OCTETS:
        raise ValueError(f"the Class signing key must be at least {MIN_KEY_OCTETS} octets, got {len(key)}")


def sign_class(key: bytes, tenant_id: int, session_ref: str) -> bytes:
    """The Class value for a session; ValueError if it would not fit one attribute."""
    _check_key(key)
    if isinstance(tenant_id, bool) or tenant_id < 0:
        raise ValueError(f"tenant id must be a non-negative integer, got {tenant_id!r}")
    signed = PREFIX + str(tenant_id).encode("ascii") + b":" + session_ref.encode("utf-8")
    value = signed + b":" + _tag(key, signed)
    if len(value) > MAX_CLASS_OCTETS:
        raise ValueError(
            f"Class value would be {len(value)} octets (limit {MAX_CLASS_OCTETS}); "
            f"shorten the session reference ({len(session_ref.encode('utf-8'))} octets)"
        )
    return value


def read_class(key: bytes, value: bytes) -> tuple[int, str] | None:
    """(tenant id, session reference) from a Class value we signed; None for a foreign,
    truncated or forged one."""
    _check_key(key)
    if len(value) > MAX_CLASS_OCTETS or not value.startswith(PREFIX):
        return None
    signed, separator, tag = value.rpartition(b":")
    if not separator or len(tag) != TAG_TEXT_OCTETS:
        return None
    if not hmac.compare_digest(_tag(key, signed), tag):
        return None
    tenant_text, separator, reference = signed[len(PREFIX) :].partition(b":")
    if not separator or not tenant_text.isdigit():
        return None
    try:
        return int(tenant_text), reference.decode("utf-8")
    except UnicodeDecodeError:
        return None
