"""CHAP-Password verification (RFC 2865 §5.3, RFC 1994): MD5(ident || password || challenge)."""

from __future__ import annotations

import hashlib
import hmac

CHAP_PASSWORD_OCTETS = 17  # 1 octet CHAP ident + 16 octets MD5 response


def verify_chap(password: bytes, chap_password: bytes, challenge: bytes) -> bool:
    """True if `chap_password` (the CHAP-Password value) answers `challenge` with `password`.

    `challenge` is the CHAP-Challenge attribute value if the request has one, else the
    Request Authenticator (RFC 2865 §5.3). A value of the wrong length, or an empty
    challenge, is False rather than an error: the request is simply rejected.
    """
    if len(chap_password) != CHAP_PASSWORD_OCTETS or not challenge:
        return False
    ident, response = chap_password[:1], chap_password[1:]
    expected = hashlib.md5(ident + password + challenge).digest()
    return hmac.compare_digest(expected, response)
