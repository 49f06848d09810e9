"""User-Password hiding (RFC 2865 §5.2): MD5 keystream over the shared secret and authenticator.

The password is padded with NULs to a multiple of 16 octets and XORed block by block with
b1 = MD5(secret || Request Authenticator), b(i) = MD5(secret || c(i-1)). The hidden value
is 16 to 128 octets, so a password is at most 128 octets.
"""

from __future__ import annotations

import hashlib

BLOCK_OCTETS = 16
AUTHENTICATOR_OCTETS = 16
MAX_HIDDEN_OCTETS = 128  # RFC 2865 §5.2: the attribute value is 16 to 128 octets


class BadPassword(ValueError):
    """A User-Password value that cannot be hidden or revealed (wrong length)."""


def _check_authenticator(authenticator: bytes) -> None:
    if len(authenticator) != AUTHENTICATOR_OCTETS:
        raise ValueError(f"the Request Authenticator must be {AUTHENTICATOR_OCTETS} octets, got {len(authenticator)}")


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """Hide `password` for the User-Password attribute of a request with `authenticator`.

    Raises BadPassword if the password is longer than 128 octets.
    """
    _check_authenticator(authenticator)
    if len(password) > MAX_HIDDEN_OCTETS:
        raise BadPassword(f"a User-Password is at most {MAX_HIDDEN_OCTETS} octets (RFC 2865 §5.2), got {len(password)}")
    blocks = max(1, -(-len(password) // BLOCK_OCTETS))
    padded = password.ljust(blocks * BLOCK_OCTETS, b"\x00")
    hidden = bytearray()
    previous = authenticator
    for start in range(0, len(padded), BLOCK_OCTETS):
        cipher_block = _xor(padded[start : start + BLOCK_OCTETS], hashlib.md5(secret + previous).digest())
        hidden += cipher_block
        previous = cipher_block
    return bytes(hidden)


def reveal_password(hidden: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """Recover the password from a User-Password value; the NUL padding is stripped.

    Raises BadPassword unless `hidden` is a multiple of 16 octets between 16 and 128.
    A wrong secret does not raise: it yields a wrong password, which then fails to match.
    """
    _check_authenticator(authenticator)
    if not BLOCK_OCTETS <= len(hidden) <= MAX_HIDDEN_OCTETS or len(hidden) % BLOCK_OCTETS:
        raise BadPassword(
            f"a User-Password value must be a multiple of {BLOCK_OCTETS} octets between {BLOCK_OCTETS} "
            f"and {MAX_HIDDEN_OCTETS} (RFC 2865 §5.2), got {len(hidden)}; the client is sending a malformed packet"
        )
    plain = bytearray()
    previous = authenticator
    for start in range(0, len(hidden), BLOCK_OCTETS):
        cipher_block = hidden[start : start + BLOCK_OCTETS]
        plain += _xor(cipher_block, hashlib.md5(secret + previous).digest())
        previous = cipher_block
    return bytes(plain).rstrip(b"\x00")
