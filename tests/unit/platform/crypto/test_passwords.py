"""Password hashing with argon2id."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from bureau.platform.crypto.passwords import (
    MAX_PASSWORD_LENGTH,
    InvalidPassword,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_a_hash_is_argon2id_and_does_not_contain_the_password() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    hashed = hash_password("s3cret!")
    assert verify_password(hashed, "s3cret!") is True
    assert verify_password(hashed, "s3cret") is False
    assert verify_password(hashed, "S3cret!") is False


def test_hashing_the_same_password_twice_gives_different_salted_hashes() -> None:
    assert hash_password("same") != hash_password("same")


def test_a_hash_made_with_current_parameters_needs_no_rehash_but_a_weaker_one_does() -> None:
    assert needs_rehash(hash_password("pw")) is False
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert verify_password(weak, "pw") is True
    assert needs_rehash(weak) is True


@pytest.mark.parametrize("password", ["", "x" * (MAX_PASSWORD_LENGTH + 1), "nul\x00byte", None, b"bytes"])
def test_an_empty_too_long_or_non_text_password_is_refused(password: object) -> None:
    with pytest.raises(InvalidPassword):
        hash_password(password)  # type: ignore[arg-type]
