"""MS-CHAPv2 (RFC 2759), MPPE keys (RFC 3079) and MS-MPPE key encryption (RFC 2548)."""

from __future__ import annotations

import hashlib

import pytest
from Crypto.Hash import MD4
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.radius.mschap import (
    BadMppeKey,
    MsChap2Success,
    challenge_hash,
    decrypt_mppe_key,
    encrypt_mppe_key,
    generate_authenticator_response,
    generate_nt_response,
    new_mppe_salt,
    nt_password_hash,
    verify_mschap2,
)

# RFC 2759 §9.2 (the same inputs are reused by RFC 3079 §3.5).
USER_NAME = b"User"
PASSWORD = "clientPass"
AUTHENTICATOR_CHALLENGE = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
PEER_CHALLENGE = bytes.fromhex("21402324255E262A28295F2B3A337C7E")
CHALLENGE = bytes.fromhex("D02E4386BCE91226")
PASSWORD_HASH = bytes.fromhex("44EBBA8D5312B8D611474411F56989AE")
NT_RESPONSE = bytes.fromhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
PASSWORD_HASH_HASH = bytes.fromhex("41C00C584BD2D91C4017A2A12FA59F3F")
AUTHENTICATOR_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56"
# RFC 3079 §3.5.3, 128-bit keys. The RFC's "SendStartKey128" is the server's send key:
# it uses the Magic3 string ("... on the server side, it is the send key").
MASTER_KEY = bytes.fromhex("FDECE3717A8C838CB388E527AE3CDD31")
SEND_START_KEY_128 = bytes.fromhex("8B7CDC149B993A1BA118CB153F56DCCB")

REQUEST_AUTHENTICATOR = bytes(range(16))


def mschap2_response(ident: int = 0x2A, nt_response: bytes = NT_RESPONSE) -> bytes:
    return bytes([ident, 0]) + PEER_CHALLENGE + bytes(8) + nt_response


# --- RFC 2759 vectors ---


def test_the_nt_password_hash_matches_rfc_2759() -> None:
    assert nt_password_hash(PASSWORD) == PASSWORD_HASH


def test_the_challenge_hash_matches_rfc_2759() -> None:
    assert challenge_hash(PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, USER_NAME) == CHALLENGE


def test_the_nt_response_matches_rfc_2759() -> None:
    assert generate_nt_response(AUTHENTICATOR_CHALLENGE, PEER_CHALLENGE, USER_NAME, PASSWORD) == NT_RESPONSE


def test_the_authenticator_response_matches_rfc_2759() -> None:
    response = generate_authenticator_response(
        PASSWORD, NT_RESPONSE, PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, USER_NAME
    )
    assert response == AUTHENTICATOR_RESPONSE


def test_the_user_name_is_hashed_verbatim_with_no_domain_stripping() -> None:
    with_domain = challenge_hash(PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, b"ACME\\User")
    assert with_domain == hashlib.sha1(PEER_CHALLENGE + AUTHENTICATOR_CHALLENGE + b"ACME\\User").digest()[:8]
    assert with_domain != CHALLENGE


def test_a_non_ascii_password_is_hashed_as_utf_16le() -> None:
    assert nt_password_hash("pässwörd€") == MD4.new("pässwörd€".encode("utf-16-le")).digest()


# --- verify_mschap2 ---


def test_a_good_response_gives_the_success_value_with_the_ident_and_authenticator_response() -> None:
    result = verify_mschap2(PASSWORD, USER_NAME, AUTHENTICATOR_CHALLENGE, mschap2_response(ident=0x2A))
    assert isinstance(result, MsChap2Success)
    assert result.success == b"\x2a" + AUTHENTICATOR_RESPONSE.encode("ascii")


def test_the_mppe_master_key_and_send_key_match_rfc_3079() -> None:
    # The module keeps GetMasterKey private; recompute it step by step from RFC 3079 §3.4
    # to check the RFC's MasterKey, then check the send key derived from it.
    assert MD4.new(PASSWORD_HASH).digest() == PASSWORD_HASH_HASH
    master_key = hashlib.sha1(PASSWORD_HASH_HASH + NT_RESPONSE + b"This is the MPPE Master Key").digest()[:16]
    assert master_key == MASTER_KEY
    result = verify_mschap2(PASSWORD, USER_NAME, AUTHENTICATOR_CHALLENGE, mschap2_response())
    assert result is not None
    assert result.send_key == SEND_START_KEY_128


def test_the_recv_key_is_the_magic2_start_key_of_the_rfc_3079_master_key() -> None:
    # RFC 3079 §3.5.3 prints only the send key, so this is an independent step-by-step
    # GetAsymmetricStartKey(MasterKey, 16, IsSend=FALSE, IsServer=TRUE), not a published vector.
    magic2 = b"On the client side, this is the send key; on the server side, it is the receive key."
    expected = hashlib.sha1(MASTER_KEY + b"\x00" * 40 + magic2 + b"\xf2" * 40).digest()[:16]
    result = verify_mschap2(PASSWORD, USER_NAME, AUTHENTICATOR_CHALLENGE, mschap2_response())
    assert result is not None
    assert result.recv_key == expected
    assert result.recv_key != result.send_key


def test_a_wrong_password_gives_none() -> None:
    assert verify_mschap2("clientPasS", USER_NAME, AUTHENTICATOR_CHALLENGE, mschap2_response()) is None


def test_a_different_user_name_gives_none() -> None:
    assert verify_mschap2(PASSWORD, b"user", AUTHENTICATOR_CHALLENGE, mschap2_response()) is None


def test_a_tampered_nt_response_gives_none() -> None:
    tampered = bytes([NT_RESPONSE[0] ^ 1]) + NT_RESPONSE[1:]
    assert verify_mschap2(PASSWORD, USER_NAME, AUTHENTICATOR_CHALLENGE, mschap2_response(nt_response=tampered)) is None


@pytest.mark.parametrize("length", [0, 49, 51])
def test_a_response_that_is_not_50_octets_gives_none(length: int) -> None:
    response = (mschap2_response() + b"\x00")[:length]
    assert verify_mschap2(PASSWORD, USER_NAME, AUTHENTICATOR_CHALLENGE, response) is None


@pytest.mark.parametrize("length", [0, 8, 15, 17])
def test_an_authenticator_challenge_that_is_not_16_octets_gives_none(length: int) -> None:
    challenge = (AUTHENTICATOR_CHALLENGE * 2)[:length]
    assert verify_mschap2(PASSWORD, USER_NAME, challenge, mschap2_response()) is None


@given(
    password=st.text(max_size=32),
    user_name=st.binary(max_size=64),
    authenticator_challenge=st.binary(min_size=16, max_size=16),
    peer_challenge=st.binary(min_size=16, max_size=16),
)
def test_a_response_a_peer_computes_always_verifies(
    password: str, user_name: bytes, authenticator_challenge: bytes, peer_challenge: bytes
) -> None:
    nt_response = generate_nt_response(authenticator_challenge, peer_challenge, user_name, password)
    response = b"\x01\x00" + peer_challenge + bytes(8) + nt_response
    result = verify_mschap2(password, user_name, authenticator_challenge, response)
    assert result is not None
    expected = generate_authenticator_response(
        password, nt_response, peer_challenge, authenticator_challenge, user_name
    )
    assert result.success == b"\x01" + expected.encode("ascii")
    assert len(result.send_key) == len(result.recv_key) == 16


# --- MS-MPPE key encryption (RFC 2548 §2.4.2) ---


def test_a_16_octet_key_encrypts_as_the_step_by_step_rfc_2548_construction() -> None:
    # RFC 2548 publishes no vector: recompute b(1) = MD5(S + R + A), b(2) = MD5(S + c(1)).
    secret, salt = b"sekrit", b"\x80\x05"
    plain = bytes([16]) + SEND_START_KEY_128 + bytes(15)
    b1 = hashlib.md5(secret + REQUEST_AUTHENTICATOR + salt).digest()
    c1 = bytes(p ^ b for p, b in zip(plain[:16], b1, strict=True))
    b2 = hashlib.md5(secret + c1).digest()
    c2 = bytes(p ^ b for p, b in zip(plain[16:], b2, strict=True))
    assert encrypt_mppe_key(SEND_START_KEY_128, secret, REQUEST_AUTHENTICATOR, salt) == salt + c1 + c2


@given(
    key=st.binary(min_size=1, max_size=239),
    secret=st.binary(min_size=1, max_size=64),
    request_authenticator=st.binary(min_size=16, max_size=16),
    salt=st.binary(min_size=2, max_size=2).map(lambda s: bytes([s[0] | 0x80, s[1]])),
)
def test_decrypting_an_encrypted_key_gives_it_back(
    key: bytes, secret: bytes, request_authenticator: bytes, salt: bytes
) -> None:
    value = encrypt_mppe_key(key, secret, request_authenticator, salt)
    assert value[:2] == salt
    assert (len(value) - 2) % 16 == 0
    assert len(value) <= 247  # fits a Vendor-Specific attribute
    assert decrypt_mppe_key(value, secret, request_authenticator) == key


def test_a_new_salt_has_the_high_bit_set() -> None:
    salts = {new_mppe_salt() for _ in range(64)}
    assert all(len(salt) == 2 and salt[0] & 0x80 for salt in salts)
    assert len(salts) > 1


@pytest.mark.parametrize("salt", [b"\x00\x01", b"\x7f\xff", b"\x80", b"\x80\x00\x00"])
def test_a_salt_without_the_high_bit_or_of_the_wrong_length_is_refused(salt: bytes) -> None:
    with pytest.raises(ValueError, match="high bit"):
        encrypt_mppe_key(SEND_START_KEY_128, b"secret", REQUEST_AUTHENTICATOR, salt)


@pytest.mark.parametrize("length", [0, 240])
def test_an_empty_or_oversized_key_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="1 to 239 octets"):
        encrypt_mppe_key(b"k" * length, b"secret", REQUEST_AUTHENTICATOR, b"\x80\x00")


def test_a_request_authenticator_that_is_not_16_octets_is_refused() -> None:
    with pytest.raises(ValueError, match="16 octets"):
        encrypt_mppe_key(SEND_START_KEY_128, b"secret", bytes(15), b"\x80\x00")
    with pytest.raises(ValueError, match="16 octets"):
        decrypt_mppe_key(b"\x80\x00" + bytes(32), b"secret", bytes(17))


@pytest.mark.parametrize("value", [b"", b"\x80", b"\x80\x00", b"\x80\x00" + bytes(15), b"\x80\x00" + bytes(33)])
def test_a_value_of_the_wrong_length_cannot_be_decrypted(value: bytes) -> None:
    with pytest.raises(BadMppeKey):
        decrypt_mppe_key(value, b"secret", REQUEST_AUTHENTICATOR)


def test_a_value_whose_salt_lacks_the_high_bit_cannot_be_decrypted() -> None:
    value = encrypt_mppe_key(SEND_START_KEY_128, b"secret", REQUEST_AUTHENTICATOR, b"\x80\x05")
    with pytest.raises(BadMppeKey, match="high bit"):
        decrypt_mppe_key(b"\x00" + value[1:], b"secret", REQUEST_AUTHENTICATOR)


def test_a_length_octet_larger_than_the_plaintext_is_refused() -> None:
    # Encrypt a plaintext whose length octet claims 200 octets in a 31-octet body.
    secret, salt = b"secret", b"\x80\x05"
    plain = bytes([200]) + bytes(31)
    b1 = hashlib.md5(secret + REQUEST_AUTHENTICATOR + salt).digest()
    c1 = bytes(p ^ b for p, b in zip(plain[:16], b1, strict=True))
    c2 = bytes(p ^ b for p, b in zip(plain[16:], hashlib.md5(secret + c1).digest(), strict=True))
    with pytest.raises(BadMppeKey, match="wrong secret"):
        decrypt_mppe_key(salt + c1 + c2, secret, REQUEST_AUTHENTICATOR)
