"""Authenticated encryption of small secrets (AES-256-GCM) under a key the caller passes.

A sealed message is `key id (1 byte) || nonce (12 bytes) || ciphertext and tag`. The nonce
is random per message; the key id (also bound as associated data) lets keys rotate: a
box holds the current key and may hold retired ones to open older messages. This module
never reads a key from the environment: settings own that, and hand the key in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + NONCE_BYTES
MAX_PLAINTEXT_BYTES = 64 * 1024  # secrets are small; a large input is a bug


class SecretBoxError(ValueError):
    """A key or message that cannot be used: wrong size, unknown key id, tampered."""


def _check_key(key: object, what: str) -> bytes:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise SecretBoxError(f"{what} must be {KEY_BYTES} bytes (AES-256)")
    return key


def _check_key_id(key_id: object) -> int:
    if isinstance(key_id, bool) or not isinstance(key_id, int) or not 0 <= key_id <= 255:
        raise SecretBoxError(f"a key id must be an integer from 0 to 255, got {key_id!r}")
    return key_id


class SecretBox:
    """Seals with `key` (id `key_id`); opens messages sealed with it or a `retired` key."""

    def __init__(self, key: bytes, *, key_id: int = 0, retired: Mapping[int, bytes] | None = None) -> None:
        self._key_id = _check_key_id(key_id)
        keys = {_check_key_id(k): _check_key(v, f"retired key {k}") for k, v in (retired or {}).items()}
        if self._key_id in keys:
            raise SecretBoxError(f"key id {key_id} is both the current key and a retired one")
        keys[self._key_id] = _check_key(key, "the key")
        self._ciphers = {k: AESGCM(v) for k, v in keys.items()}
        self._derivable = keys[self._key_id]

    @property
    def key_id(self) -> int:
        return self._key_id

    def derive_key(self, purpose: bytes) -> bytes:
        """A 32-byte key for one purpose (say, signing links), derived from the current key
        with HKDF-SHA256: it reveals nothing of the key, and each purpose gets its own."""
        if not purpose:
            raise SecretBoxError("a derived key needs a purpose")
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(self._derivable)

    @staticmethod
    def generate_key() -> bytes:
        return AESGCM.generate_key(bit_length=KEY_BYTES * 8)

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        """Seal `plaintext`; `associated_data` (not stored) must be given again to open it."""
        if not isinstance(plaintext, bytes) or len(plaintext) > MAX_PLAINTEXT_BYTES:
            raise SecretBoxError(f"plaintext must be bytes of at most {MAX_PLAINTEXT_BYTES}")
        header = bytes([self._key_id])
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._key_id].encrypt(nonce, plaintext, header + associated_data)
        return header + nonce + sealed

    def decrypt(self, message: bytes, associated_data: bytes = b"") -> bytes:
        """Open a sealed message; raises SecretBoxError if it was altered or the key is wrong."""
        if not isinstance(message, bytes) or len(message) < HEADER_BYTES + TAG_BYTES:
            raise SecretBoxError("message is too short to be a sealed secret")
        key_id = message[0]
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            held = ", ".join(str(k) for k in sorted(self._ciphers))
            raise SecretBoxError(f"message was sealed with key id {key_id}; this box holds key ids {held}")
        nonce = message[1:HEADER_BYTES]
        try:
            return cipher.decrypt(nonce, message[HEADER_BYTES:], message[:1] + associated_data)
        except InvalidTag:
            raise SecretBoxError(
                f"message does not authenticate under key id {key_id}: it was altered, "
                "or sealed with another key or associated data"
            ) from None
