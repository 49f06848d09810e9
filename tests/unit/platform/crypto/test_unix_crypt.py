"""SHA-512 crypt(3): the specification's test vectors and the deterministic salt."""

from __future__ import annotations

import pytest

from bureau.platform.crypto.unix_crypt import (
    CRYPT_ALPHABET,
    InvalidSalt,
    deterministic_salt,
    random_salt,
    sha512_crypt,
)

# Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512", the SHA-512 test vectors
# (also in libxcrypt's test/alg-sha512.c and PHP's ext/standard/tests/strings/crypt_sha512.phpt).
SPEC_VECTORS = [
    (
        "Hello world!",
        "saltstring",
        None,
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    ),
    (
        "Hello world!",
        "saltstringsaltstring",
        10000,
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    ),
    (
        "This is just a test",
        "toolongsaltstring",
        5000,
        "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
    ),
    (
        "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "anotherlongsaltstring",
        1400,
        "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1",
    ),
    (
        "we have a short salt string but not a short password",
        "short",
        77777,
        "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0",
    ),
    (
        "a short string",
        "asaltof16chars..",
        123456,
        "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1",
    ),
    (
        "the minimum number is still observed",
        "roundstoolow",
        10,
        "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
    ),
]


@pytest.mark.parametrize(("password", "salt", "rounds", "expected"), SPEC_VECTORS)
def test_the_hash_matches_the_specifications_test_vectors(
    password: str, salt: str, rounds: int | None, expected: str
) -> None:
    assert sha512_crypt(password, salt, rounds) == expected


def test_an_explicit_rounds_5000_is_written_out_as_glibc_does() -> None:
    # libxcrypt: "explicit specification of rounds=5000 should be allowed and preserved".
    expected = (
        "$6$rounds=5000$saltstring$"
        "svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
    )
    assert sha512_crypt("Hello world!", "saltstring", 5000) == expected


def test_an_empty_salt_hashes_like_glibc() -> None:
    # PHP's crypt_sha512.phpt vector 8: crypt("foo", "$6$$bar$").
    expected = "$6$$QMXjqd7rHQZPQ1yHsXkQqC1FBzDiVfTHXL.LaeDAeVV.IzMaV9VU4MQ8kPuZa2SOP1A0RPm772EaFYjpEJtdu."
    assert sha512_crypt("foo", "") == expected


def test_rounds_below_the_minimum_are_raised_to_it_in_the_hash_and_the_setting() -> None:
    assert sha512_crypt("secret", "salt", 1) == sha512_crypt("secret", "salt", 1000)
    assert sha512_crypt("secret", "salt", 1).startswith("$6$rounds=1000$salt$")


@pytest.mark.parametrize("salt", ["has$dollar", "has:colon", "new\nline", "spa ce", "naïve"])
def test_a_salt_that_would_be_read_differently_is_refused(salt: str) -> None:
    with pytest.raises(InvalidSalt, match="salt"):
        sha512_crypt("secret", salt)


def test_the_deterministic_salt_is_sixteen_crypt_characters_stable_for_key_and_context() -> None:
    salt = deterministic_salt(b"target key", "unix:service:42")
    assert len(salt) == 16
    assert set(salt) <= set(CRYPT_ALPHABET)
    assert deterministic_salt(b"target key", "unix:service:42") == salt


def test_the_deterministic_salt_changes_with_the_context_and_with_the_key() -> None:
    salt = deterministic_salt(b"target key", "unix:service:42")
    assert deterministic_salt(b"target key", "unix:service:43") != salt
    assert deterministic_salt(b"other key", "unix:service:42") != salt


def test_the_deterministic_salt_refuses_an_empty_key() -> None:
    with pytest.raises(ValueError, match="non-empty key"):
        deterministic_salt(b"", "context")


def test_random_salts_are_sixteen_crypt_characters_and_differ() -> None:
    salts = {random_salt() for _ in range(20)}
    assert len(salts) == 20
    assert all(len(salt) == 16 and set(salt) <= set(CRYPT_ALPHABET) for salt in salts)
