"""SHA-512 crypt against OpenSSL's implementation (`openssl passwd -6`), as a subprocess."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from bureau.platform.crypto.unix_crypt import CRYPT_ALPHABET, sha512_crypt

PASSWORD_CHARACTERS = CRYPT_ALPHABET + " !#%&()*+,-;<=>?@[]^_{|}~'\"\\é€"


def openssl_sha512_crypt(password: str, salt: str) -> str:
    openssl = shutil.which("openssl")
    if openssl is None:  # a missing tool must fail the run, not skip it (STYLE.md)
        pytest.fail("openssl is not installed; install it to run this test")
    # The password goes on stdin so that no character needs shell or argv care.
    done = subprocess.run(
        [openssl, "passwd", "-6", "-salt", salt, "-stdin"],
        input=password.encode("utf-8") + b"\n",
        capture_output=True,
        check=True,
    )
    return done.stdout.decode("ascii").strip()


@pytest.mark.parametrize("seed", range(12))
def test_random_passwords_and_salts_hash_exactly_as_openssl_does(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    password = "".join(rng.choice(PASSWORD_CHARACTERS) for _ in range(rng.randint(1, 40)))
    salt = "".join(rng.choice(CRYPT_ALPHABET) for _ in range(rng.randint(1, 16)))
    assert sha512_crypt(password, salt) == openssl_sha512_crypt(password, salt)


def test_a_long_salt_is_truncated_the_way_openssl_truncates_it() -> None:
    salt = "abcdefghijklmnopqrstuvwxyz"
    assert sha512_crypt("secret", salt) == openssl_sha512_crypt("secret", salt)
