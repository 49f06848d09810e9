"""Signing webhook bodies, and checking a signature as a receiver should (pure).

The scheme is Stripe's. Each request carries

    Bureau-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

where `t` is when it was signed (Unix seconds) and `v1` is the hex HMAC-SHA256, under
the target's secret, of the text `t`, a '.', and the request body exactly as received.
A receiver should:

1. take the raw body bytes before any JSON parsing (re-serialised JSON differs);
2. split the header on ',' into key=value pairs, take `t` and every `v1` (there may be
   more than one while a secret is being changed);
3. compute HMAC-SHA256(secret, f"{t}." + body) and compare it with each `v1` in
   constant time (`hmac.compare_digest`);
4. refuse a `t` more than a few minutes from its own clock (300 s here), so a recorded
   request cannot be replayed later; within that window, de-duplicate by event `id`.

`verify_signature` does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Bureau-Signature"
VERSION = "v1"
TOLERANCE_S = 300  # how far a signature's t may be from the receiver's clock
HEADER_CHARS_MAX = 4_096  # a longer header is refused unread


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The Bureau-Signature header's value: "t=<timestamp>,v1=<signature>"."""
    return f"t={timestamp},{VERSION}={sign(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes | str, *, now: int, tolerance_s: int = TOLERANCE_S) -> bool:
    """True if `header` signs `body` under `secret` and its t is within `tolerance_s` of `now`."""
    if len(header) > HEADER_CHARS_MAX:
        return False
    raw = body.encode() if isinstance(body, str) else body
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, equals, value = item.strip().partition("=")
        if not equals:
            return False
        if key == "t":
            timestamps.append(value)
        elif key == VERSION:
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit() or not signatures:
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, raw)
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in signatures)
