"""MS-CHAPv2 (RFC 2759), its MPPE keys (RFC 3079) and MS-MPPE key encryption (RFC 2548).

The server side only: check an MS-CHAP2-Response against a known password, build the
MS-CHAP2-Success value, derive the 128-bit MPPE start keys, and salt-encrypt them for the
MS-MPPE-Send-Key and MS-MPPE-Recv-Key attributes.

User names are hashed exactly as given. RFC 2759 §8.2 hashes the name "excluding any
prepended domain name"; a Windows peer may send `DOMAIN\\user`. Deciding whether to strip
such a prefix is the caller's policy (FreeRADIUS leaves it to `with_ntdomain_hack`), so
`challenge_hash` does no domain handling at all.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from Crypto.Cipher import DES
from Crypto.Hash import MD4

CHALLENGE_OCTETS = 16  # Authenticator-Challenge and Peer-Challenge
NT_RESPONSE_OCTETS = 24
MSCHAP2_RESPONSE_OCTETS = 50  # Ident, Flags, Peer-Challenge[16], Reserved[8], NT-Response[24]
MPPE_KEY_OCTETS = 16  # 128-bit keys (RFC 3079 §3)
REQUEST_AUTHENTICATOR_OCTETS = 16
SALT_OCTETS = 2
_BLOCK_OCTETS = 16  # MD5 output, the unit of the RFC 2548 keystream
# A Vendor-Specific value holds at most 253 - 6 octets of vendor header; minus the salt
# that leaves 245, so 240 octets (15 blocks) of ciphertext: a length octet and 239 of key.
MAX_MPPE_KEY_OCTETS = 239

# RFC 2759 §8.7
_SERVER_MAGIC_1 = b"Magic server to client signing constant"
_SERVER_MAGIC_2 = b"Pad to make it do more than one iteration"
# RFC 3079 §3.4
_MASTER_MAGIC = b"This is the MPPE Master Key"
_MAGIC_CLIENT_SEND = b"On the client side, this is the send key; on the server side, it is the receive key."
_MAGIC_CLIENT_RECV = b"On the client side, this is the receive key; on the server side, it is the send key."
_SHS_PAD_1 = b"\x00" * 40
_SHS_PAD_2 = b"\xf2" * 40


class BadMppeKey(ValueError):
    """An MS-MPPE key attribute value that cannot be decrypted (wrong length or salt)."""


@dataclass(frozen=True)
class MsChap2Success:
    """What an Access-Accept carries after a good MS-CHAPv2 response."""

    success: bytes  # the MS-CHAP2-Success attribute value: ident + b"S=" + 40 hex digits
    send_key: bytes  # MS-MPPE-Send-Key: 16-octet master-derived start key, NAS to peer (RFC 3079 §3, 128-bit)
    recv_key: bytes  # MS-MPPE-Recv-Key: 16-octet master-derived start key, peer to NAS


def nt_password_hash(password: str) -> bytes:
    """MD4 of the password in UTF-16LE (RFC 2759 §8.3 NtPasswordHash).

    Lone surrogates are encoded as-is, as Windows does, instead of failing.
    """
    return _md4(password.encode("utf-16-le", errors="surrogatepass"))


def challenge_hash(peer_challenge: bytes, authenticator_challenge: bytes, user_name: bytes) -> bytes:
    """First 8 octets of SHA1(peer challenge || authenticator challenge || user name) (RFC 2759 §8.2).

    `user_name` is hashed verbatim: no `DOMAIN\\` prefix is stripped (see the module docstring).
    """
    return hashlib.sha1(peer_challenge + authenticator_challenge + user_name).digest()[:8]


def generate_nt_response(
    authenticator_challenge: bytes, peer_challenge: bytes, user_name: bytes, password: str
) -> bytes:
    """The 24-octet NT-Response a peer sends for these challenges (RFC 2759 §8.1)."""
    challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name)
    return _challenge_response(challenge, nt_password_hash(password))


def generate_authenticator_response(
    password: str, nt_response: bytes, peer_challenge: bytes, authenticator_challenge: bytes, user_name: bytes
) -> str:
    """The authenticator response `"S="` + 40 upper-case hex digits (RFC 2759 §8.7)."""
    password_hash_hash = _md4(nt_password_hash(password))
    digest = hashlib.sha1(password_hash_hash + nt_response + _SERVER_MAGIC_1).digest()
    challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name)
    digest = hashlib.sha1(digest + challenge + _SERVER_MAGIC_2).digest()
    return "S=" + digest.hex().upper()


def verify_mschap2(
    password: str, user_name: bytes, authenticator_challenge: bytes, response: bytes
) -> MsChap2Success | None:
    """Check an MS-CHAP2-Response value against `password`; None if it does not match.

    `authenticator_challenge` is the MS-CHAP-Challenge value (16 octets) and `response` the
    50-octet MS-CHAP2-Response value. Malformed lengths give None, like a wrong password.
    The Flags and Reserved octets are not checked (RFC 2548 says "must be zero"; peers that
    send otherwise are still answered, as FreeRADIUS does).
    """
    if len(authenticator_challenge) != CHALLENGE_OCTETS or len(response) != MSCHAP2_RESPONSE_OCTETS:
        return None
    ident = response[:1]
    peer_challenge = response[2:18]
    nt_response = response[26:50]
    expected = generate_nt_response(authenticator_challenge, peer_challenge, user_name, password)
    if not hmac.compare_digest(expected, nt_response):
        return None
    authenticator_response = generate_authenticator_response(
        password, nt_response, peer_challenge, authenticator_challenge, user_name
    )
    master_key = _master_key(_md4(nt_password_hash(password)), nt_response)
    return MsChap2Success(
        success=ident + authenticator_response.encode("ascii"),
        # The server sends with the key a client receives with, and vice versa.
        send_key=_asymmetric_start_key(master_key, _MAGIC_CLIENT_RECV),
        recv_key=_asymmetric_start_key(master_key, _MAGIC_CLIENT_SEND),
    )


def encrypt_mppe_key(key: bytes, secret: bytes, request_authenticator: bytes, salt: bytes) -> bytes:
    """The MS-MPPE-Send-Key / MS-MPPE-Recv-Key attribute value for `key` (RFC 2548 §2.4.2).

    Returns salt || ciphertext, ready to send. The plaintext is a length octet, the key and
    zero padding to a multiple of 16; `request_authenticator` is the one of the
    Access-Request being answered. `salt` is 2 octets with the high bit set and must differ
    between the encrypted attributes of one reply: draw each from `new_mppe_salt()` and
    draw again if two collide (1 in 32,768).
    """
    _check_request_authenticator(request_authenticator)
    _check_salt(salt)
    if not 1 <= len(key) <= MAX_MPPE_KEY_OCTETS:
        raise ValueError(f"an MPPE key must be 1 to {MAX_MPPE_KEY_OCTETS} octets, got {len(key)}")
    plain = bytes([len(key)]) + key
    plain = plain.ljust(-(-len(plain) // _BLOCK_OCTETS) * _BLOCK_OCTETS, b"\x00")
    cipher = bytearray()
    previous = request_authenticator + salt  # b(1) = MD5(S + R + A), then b(i) = MD5(S + c(i-1))
    for start in range(0, len(plain), _BLOCK_OCTETS):
        block = _xor(plain[start : start + _BLOCK_OCTETS], hashlib.md5(secret + previous).digest())
        cipher += block
        previous = block
    return salt + bytes(cipher)


def decrypt_mppe_key(value: bytes, secret: bytes, request_authenticator: bytes) -> bytes:
    """The key inside an MS-MPPE key attribute value (salt || ciphertext); inverse of `encrypt_mppe_key`.

    Raises BadMppeKey if the value is malformed or its length octet does not fit, which is
    also what a wrong secret usually gives.
    """
    _check_request_authenticator(request_authenticator)
    salt, cipher = value[:SALT_OCTETS], value[SALT_OCTETS:]
    if len(salt) != SALT_OCTETS or not salt[0] & 0x80:
        raise BadMppeKey("an MS-MPPE key value starts with a 2-octet salt whose high bit is set")
    if not cipher or len(cipher) % _BLOCK_OCTETS:
        raise BadMppeKey(
            f"an MS-MPPE key ciphertext is a non-zero multiple of {_BLOCK_OCTETS} octets, got {len(cipher)}"
        )
    plain = bytearray()
    previous = request_authenticator + salt
    for start in range(0, len(cipher), _BLOCK_OCTETS):
        block = cipher[start : start + _BLOCK_OCTETS]
        plain += _xor(block, hashlib.md5(secret + previous).digest())
        previous = block
    key_octets = plain[0]
    if not 1 <= key_octets <= len(plain) - 1:
        raise BadMppeKey(
            f"an MS-MPPE key value claims a {key_octets}-octet key in {len(plain) - 1} octets: wrong secret?"
        )
    return bytes(plain[1 : 1 + key_octets])


def new_mppe_salt() -> bytes:
    """A random 2-octet salt with the high bit set (RFC 2548 §2.4.2)."""
    salt = bytearray(os.urandom(SALT_OCTETS))
    salt[0] |= 0x80
    return bytes(salt)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _md4(data: bytes) -> bytes:
    return MD4.new(data).digest()


def _challenge_response(challenge: bytes, password_hash: bytes) -> bytes:
    """RFC 2759 §8.5: DES-encrypt the challenge under three 7-octet slices of the zero-padded hash."""
    padded = password_hash.ljust(21, b"\x00")
    return b"".join(
        DES.new(_des_key(padded[start : start + 7]), DES.MODE_ECB).encrypt(challenge) for start in (0, 7, 14)
    )


def _des_key(seven: bytes) -> bytes:
    """Spread 56 key bits over 8 octets, 7 bits each, with odd parity in the low bit (RFC 2759 §8.6)."""
    bits = int.from_bytes(seven, "big")
    octets = bytearray()
    for shift in range(49, -1, -7):
        high7 = (bits >> shift) & 0x7F
        parity = (high7.bit_count() + 1) & 1  # make the octet's bit count odd
        octets.append((high7 << 1) | parity)
    return bytes(octets)


def _master_key(password_hash_hash: bytes, nt_response: bytes) -> bytes:
    """RFC 3079 §3.4 GetMasterKey."""
    return hashlib.sha1(password_hash_hash + nt_response + _MASTER_MAGIC).digest()[:16]


def _asymmetric_start_key(master_key: bytes, magic: bytes) -> bytes:
    """RFC 3079 §3.4 GetAsymmetricStartKey for a 128-bit session key."""
    return hashlib.sha1(master_key + _SHS_PAD_1 + magic + _SHS_PAD_2).digest()[:MPPE_KEY_OCTETS]


def _check_request_authenticator(request_authenticator: bytes) -> None:
    if len(request_authenticator) != REQUEST_AUTHENTICATOR_OCTETS:
        raise ValueError(
            f"the Request Authenticator must be {REQUEST_AUTHENTICATOR_OCTETS} octets, got {len(request_authenticator)}"
        )


def _check_salt(salt: bytes) -> None:
    if len(salt) != SALT_OCTETS or not salt[0] & 0x80:
        raise ValueError(f"an MPPE salt is {SALT_OCTETS} octets with the high bit set (RFC 2548 §2.4.2), got {salt!r}")
