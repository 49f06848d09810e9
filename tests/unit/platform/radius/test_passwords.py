"""User-Password hiding (RFC 2865 §5.2)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.radius.passwords import BadPassword, hide_password, reveal_password

# RFC 2865 §7.1: user "nemo", password "arctangent", shared secret "xyzzy5461". The
# User-Password attribute in the example packet is 02 12 followed by these 16 octets.
RFC_SECRET = b"xyzzy5461"
RFC_AUTHENTICATOR = bytes.fromhex("0f403f9473978057bd83d5cb98f4227a")
RFC_HIDDEN = bytes.fromhex("0dbe708d93d413ce3196e43f782a0aee")

AUTHENTICATOR = bytes(range(16))


def test_hiding_the_rfc_2865_example_password_gives_the_octets_of_the_example_packet() -> None:
    assert hide_password(b"arctangent", RFC_SECRET, RFC_AUTHENTICATOR) == RFC_HIDDEN


def test_revealing_the_rfc_2865_example_gives_the_password_without_padding() -> None:
    assert reveal_password(RFC_HIDDEN, RFC_SECRET, RFC_AUTHENTICATOR) == b"arctangent"


def test_a_long_password_chains_each_block_on_the_previous_ciphertext() -> None:
    password = b"p" * 20
    secret = b"s3cret"
    hidden = hide_password(password, secret, AUTHENTICATOR)
    b1 = hashlib.md5(secret + AUTHENTICATOR).digest()
    c1 = bytes(p ^ b for p, b in zip(password[:16], b1, strict=True))
    b2 = hashlib.md5(secret + c1).digest()
    c2 = bytes(p ^ b for p, b in zip(password[16:].ljust(16, b"\x00"), b2, strict=True))
    assert hidden == c1 + c2


@pytest.mark.parametrize(("length", "hidden_length"), [(0, 16), (1, 16), (16, 16), (17, 32), (128, 128)])
def test_the_hidden_value_is_padded_to_a_whole_number_of_16_octet_blocks(length: int, hidden_length: int) -> None:
    assert len(hide_password(b"x" * length, b"secret", AUTHENTICATOR)) == hidden_length


def test_a_password_longer_than_128_octets_cannot_be_hidden() -> None:
    with pytest.raises(BadPassword, match="at most 128 octets"):
        hide_password(b"x" * 129, b"secret", AUTHENTICATOR)


@pytest.mark.parametrize("length", [0, 1, 15, 17, 31, 144])
def test_a_hidden_value_of_a_wrong_length_is_rejected(length: int) -> None:
    with pytest.raises(BadPassword, match="multiple of 16 octets between 16 and 128"):
        reveal_password(b"\x01" * length, b"secret", AUTHENTICATOR)


def test_bad_password_is_a_value_error() -> None:
    assert issubclass(BadPassword, ValueError)


@pytest.mark.parametrize("authenticator", [b"", bytes(15), bytes(17)])
def test_an_authenticator_that_is_not_16_octets_is_a_programming_error(authenticator: bytes) -> None:
    with pytest.raises(ValueError, match="16 octets"):
        hide_password(b"pw", b"secret", authenticator)
    with pytest.raises(ValueError, match="16 octets"):
        reveal_password(bytes(16), b"secret", authenticator)


def test_a_wrong_secret_reveals_a_different_password() -> None:
    hidden = hide_password(b"arctangent", RFC_SECRET, RFC_AUTHENTICATOR)
    assert reveal_password(hidden, b"wrong", RFC_AUTHENTICATOR) != b"arctangent"


@given(
    password=st.binary(max_size=128).map(lambda p: p.rstrip(b"\x00")),
    secret=st.binary(min_size=1, max_size=64),
    authenticator=st.binary(min_size=16, max_size=16),
)
def test_revealing_a_hidden_password_gives_it_back(password: bytes, secret: bytes, authenticator: bytes) -> None:
    hidden = hide_password(password, secret, authenticator)
    assert len(hidden) % 16 == 0
    assert 16 <= len(hidden) <= 128
    assert reveal_password(hidden, secret, authenticator) == password
