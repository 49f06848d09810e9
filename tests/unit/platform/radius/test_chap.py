"""CHAP-Password verification (RFC 2865 §5.3)."""

from __future__ import annotations

import hashlib

import pytest

from bureau.platform.radius.chap import verify_chap

CHALLENGE = bytes.fromhex("0f403f9473978057bd83d5cb98f4227a")


def chap_password(ident: int, password: bytes, challenge: bytes) -> bytes:
    # RFC 1994 §4.1: the response is MD5 over ident, secret and challenge, in that order.
    return bytes([ident]) + hashlib.md5(bytes([ident]) + password + challenge).digest()


def test_the_right_password_verifies() -> None:
    assert verify_chap(b"arctangent", chap_password(7, b"arctangent", CHALLENGE), CHALLENGE) is True


def test_a_wrong_password_does_not_verify() -> None:
    assert verify_chap(b"arctangenT", chap_password(7, b"arctangent", CHALLENGE), CHALLENGE) is False


def test_the_ident_octet_is_part_of_the_hash() -> None:
    value = chap_password(7, b"arctangent", CHALLENGE)
    assert verify_chap(b"arctangent", bytes([8]) + value[1:], CHALLENGE) is False


def test_a_response_to_another_challenge_does_not_verify() -> None:
    value = chap_password(7, b"arctangent", CHALLENGE)
    assert verify_chap(b"arctangent", value, b"another challenge") is False


def test_a_chap_challenge_of_any_length_is_used_as_is() -> None:
    challenge = b"a longer CHAP-Challenge value!!!!"
    assert verify_chap(b"pw", chap_password(1, b"pw", challenge), challenge) is True


@pytest.mark.parametrize("length", [0, 1, 16, 18])
def test_a_chap_password_that_is_not_17_octets_is_rejected(length: int) -> None:
    value = chap_password(7, b"pw", CHALLENGE)
    assert verify_chap(b"pw", (value * 2)[:length], CHALLENGE) is False


def test_an_empty_challenge_is_rejected() -> None:
    assert verify_chap(b"pw", chap_password(7, b"pw", b""), b"") is False
