"""Password hashing: the one owner of it (argon2id, argon2-cffi's recommended parameters).

A hash is a self-describing PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), so
parameters can be raised later: `needs_rehash` says when a stored hash is out of date and
should be replaced after the next successful verification.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

MAX_PASSWORD_LENGTH = 128  # characters; longer input is refused, never truncated

_hasher = PasswordHasher()  # argon2id with RFC 9106 low-memory parameters


class InvalidPassword(ValueError):
    """A password that cannot be accepted (empty, too long, not text)."""


def check_password(password: object) -> str:
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidPassword(f"a password must be text of 1 to {MAX_PASSWORD_LENGTH} characters")
    if "\x00" in password:
        raise InvalidPassword("a password must not contain a NUL character")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of `password`, salted at random (two calls give different hashes)."""
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash`. A malformed hash raises: it is a bug."""
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether `password_hash` was made with other parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)
