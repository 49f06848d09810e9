"""SHA-512 crypt(3), the "$6$" scheme, for the password fields of exported files.

Unix back ends (passwd/shadow, master.passwd, acp_passwd, a RADIUS users file) check
passwords with the system's crypt(3), so an exported hash must be exactly what glibc and
libxcrypt produce. This follows Ulrich Drepper's specification "Unix crypt using SHA-256
and SHA-512" (https://www.akkadia.org/drepper/SHA-crypt.txt) step by step; the step
numbers in the comments are the specification's. Python's `crypt` module is deprecated
(and gone in 3.13), hence a pure implementation over hashlib.

Argon2 (`passwords.py`) stays the hash Bureau itself verifies against; this one only
exists because the back ends cannot read anything else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ROUNDS_DEFAULT = 5000  # used, and left out of the output, when no rounds are given
ROUNDS_MIN = 1000  # the specification clamps requested rounds into this range
ROUNDS_MAX = 999_999_999
SALT_MAX = 16  # characters; a longer salt is truncated, as the specification says
CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Characters that would end the salt or break the line the hash is written into.
_SALT_FORBIDDEN = frozenset("$:\n\r\t ")

# Final step: the 64 digest bytes are emitted in this order, three at a time
# (b64_from_24bit in the specification's sample code), then the last byte alone.
_GROUPS = tuple(
    (k, k + 21, k + 42) if k % 3 == 0 else (k + 21, k + 42, k) if k % 3 == 1 else (k + 42, k, k + 21) for k in range(21)
)


class InvalidSalt(ValueError):
    """A salt that crypt(3) would read differently from what the caller meant."""


def _b64(b2: int, b1: int, b0: int, count: int) -> str:
    w = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _ in range(count):
        out.append(CRYPT_ALPHABET[w & 0x3F])
        w >>= 6
    return "".join(out)


def _repeat(digest: bytes, length: int) -> bytes:
    """The digest repeated, and cut, to `length` bytes (P and S sequences, steps 16 and 20)."""
    whole, rest = divmod(length, len(digest))
    return digest * whole + digest[:rest]


def sha512_crypt(password: str, salt: str, rounds: int | None = None) -> str:
    """The "$6$" crypt(3) hash of `password` (UTF-8) with `salt`, as glibc writes it.

    `salt` is truncated to 16 characters. With `rounds` None the default 5000 rounds are
    used and not written; given rounds are clamped to 1000..999,999,999 and always
    written as "rounds=N$" (glibc keeps an explicit "rounds=5000" too).
    """
    bad = sorted(set(salt) & _SALT_FORBIDDEN)
    if bad:
        raise InvalidSalt(f"a crypt salt must not contain {', '.join(map(repr, bad))}; got {salt!r}")
    if not salt.isascii():
        # glibc truncates the salt to 16 bytes, which could split a multi-byte character.
        raise InvalidSalt(f"a crypt salt must be ASCII; got {salt!r}")
    salt = salt[:SALT_MAX]
    count = ROUNDS_DEFAULT if rounds is None else min(max(rounds, ROUNDS_MIN), ROUNDS_MAX)
    key = password.encode("utf-8")
    salt_bytes = salt.encode("utf-8")

    # Steps 4-8: digest B of password, salt, password.
    b = hashlib.sha512(key + salt_bytes + key).digest()
    # Steps 1-3, 9-12: digest A.
    a_ctx = hashlib.sha512(key + salt_bytes)
    a_ctx.update(_repeat(b, len(key)))
    length = len(key)
    while length:
        a_ctx.update(b if length & 1 else key)
        length >>= 1
    a = a_ctx.digest()
    # Steps 13-16: sequence P from the password repeated once per byte of it.
    p = _repeat(hashlib.sha512(key * len(key)).digest(), len(key))
    # Steps 17-20: sequence S from the salt repeated 16 + A[0] times.
    s = _repeat(hashlib.sha512(salt_bytes * (16 + a[0])).digest(), len(salt_bytes))
    # Step 21: the rounds that make the hash slow.
    c = a
    for i in range(count):
        ctx = hashlib.sha512(p if i & 1 else c)
        if i % 3:
            ctx.update(s)
        if i % 7:
            ctx.update(p)
        ctx.update(c if i & 1 else p)
        c = ctx.digest()

    encoded = "".join(_b64(c[x], c[y], c[z], 4) for x, y, z in _GROUPS) + _b64(0, 0, c[63], 2)
    setting = "$6$" if rounds is None else f"$6$rounds={count}$"
    return f"{setting}{salt}${encoded}"


def deterministic_salt(key: bytes, context: str) -> str:
    """A 16-character crypt salt derived from `context` under `key` (HMAC-SHA256).

    The same password exported for the same context (say, a target and a service id)
    hashes identically each time, so re-rendering a file changes only the lines whose
    passwords changed; without `key` the salt cannot be predicted.
    """
    if not key:
        raise ValueError("deterministic_salt needs a non-empty key; an empty one makes the salt predictable")
    digest = hmac.new(key, context.encode("utf-8"), hashlib.sha256).digest()
    # 256 is a multiple of 64, so taking each byte modulo 64 keeps the letters uniform.
    return "".join(CRYPT_ALPHABET[byte & 0x3F] for byte in digest[:SALT_MAX])


def random_salt() -> str:
    """A fresh random 16-character crypt salt (96 bits), for hashing a newly set password."""
    return "".join(secrets.choice(CRYPT_ALPHABET) for _ in range(SALT_MAX))
