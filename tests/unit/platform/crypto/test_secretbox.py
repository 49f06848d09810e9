"""SecretBox: AES-256-GCM sealing of small secrets, with key ids for rotation."""

from __future__ import annotations

import pytest

from bureau.platform.crypto.secretbox import HEADER_BYTES, SecretBox, SecretBoxError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_a_sealed_secret_opens_to_the_same_bytes() -> None:
    box = SecretBox(KEY)
    sealed = box.encrypt(b"alice's password")
    assert box.decrypt(sealed) == b"alice's password"
    assert b"alice's password" not in sealed


def test_each_message_gets_a_fresh_nonce_so_equal_secrets_seal_differently() -> None:
    box = SecretBox(KEY)
    first, second = box.encrypt(b"same"), box.encrypt(b"same")
    assert first != second
    assert first[1:HEADER_BYTES] != second[1:HEADER_BYTES]


def test_the_message_starts_with_the_key_id() -> None:
    assert SecretBox(KEY, key_id=7).encrypt(b"x")[0] == 7


@pytest.mark.parametrize("position", [0, 1, HEADER_BYTES, -1])
def test_a_message_altered_anywhere_is_refused(position: int) -> None:
    box = SecretBox(KEY, retired={1: OTHER_KEY})
    sealed = bytearray(box.encrypt(b"secret"))
    sealed[position] ^= 0x01
    with pytest.raises(SecretBoxError):
        box.decrypt(bytes(sealed))


def test_a_message_does_not_open_under_another_key() -> None:
    sealed = SecretBox(KEY).encrypt(b"secret")
    with pytest.raises(SecretBoxError, match="does not authenticate under key id 0"):
        SecretBox(OTHER_KEY).decrypt(sealed)


def test_a_message_does_not_open_with_other_associated_data() -> None:
    box = SecretBox(KEY)
    sealed = box.encrypt(b"secret", b"service:radius_login:alice@demo.example")
    assert box.decrypt(sealed, b"service:radius_login:alice@demo.example") == b"secret"
    with pytest.raises(SecretBoxError):
        box.decrypt(sealed, b"service:radius_login:bob@demo.example")


def test_a_rotated_box_opens_messages_of_its_retired_key_and_seals_with_the_new_one() -> None:
    old = SecretBox(KEY, key_id=1).encrypt(b"old secret")
    rotated = SecretBox(OTHER_KEY, key_id=2, retired={1: KEY})
    assert rotated.decrypt(old) == b"old secret"
    assert rotated.encrypt(b"new")[0] == 2


def test_a_message_of_an_unknown_key_id_names_the_ids_the_box_holds() -> None:
    sealed = SecretBox(KEY, key_id=3).encrypt(b"x")
    with pytest.raises(SecretBoxError, match="sealed with key id 3; this box holds key ids 0"):
        SecretBox(KEY).decrypt(sealed)


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(33), "k" * 32])
def test_a_key_that_is_not_32_bytes_is_refused(key: object) -> None:
    with pytest.raises(SecretBoxError, match="32 bytes"):
        SecretBox(key)  # type: ignore[arg-type]


def test_a_truncated_message_is_refused() -> None:
    with pytest.raises(SecretBoxError, match="too short"):
        SecretBox(KEY).decrypt(SecretBox(KEY).encrypt(b"")[:-1])


def test_generated_keys_are_random_and_usable() -> None:
    key = SecretBox.generate_key()
    assert len(key) == 32 and key != SecretBox.generate_key()
    assert SecretBox(key).decrypt(SecretBox(key).encrypt(b"ok")) == b"ok"
