import math
import re

import pytest

from bureau.platform.vouchers import codes


def test_a_new_code_is_four_groups_of_four_unambiguous_letters() -> None:
    code = codes.new_code()
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}", code)


def test_codes_carry_at_least_eighty_bits_of_entropy() -> None:
    bits = codes.CODE_LENGTH * math.log2(len(set(codes.ALPHABET)))
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 32
    assert bits >= 80 == codes.ENTROPY_BITS


def test_the_alphabet_has_no_look_alikes() -> None:
    assert not set("01OI") & set(codes.ALPHABET)


def test_new_codes_do_not_repeat() -> None:
    assert len({codes.new_code() for _ in range(10_000)}) == 10_000


def test_typed_codes_are_normalised_whatever_the_case_dashes_and_spaces() -> None:
    assert codes.normalise(" abcd-efgh jklm-NPQR ") == "ABCDEFGHJKLMNPQR"
    assert codes.normalise("ABCDEFGHJKLMNPQR") == "ABCDEFGHJKLMNPQR"


def test_a_code_typed_differently_has_the_same_digest() -> None:
    code = codes.new_code()
    assert codes.code_hash(code) == codes.code_hash(code.lower().replace("-", " "))
    assert len(codes.code_hash(code)) == 32


def test_different_codes_have_different_digests() -> None:
    assert codes.code_hash("AAAA-AAAA-AAAA-AAAA") != codes.code_hash("AAAA-AAAA-AAAA-AAAB")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ABCD-EFGH-JKLM",
        "ABCD-EFGH-JKLM-NPQRS",
        "ABCD-EFGH-JKLM-NPQ0",
        "ABCD-EFGH-JKLM-NPQ1",
        "ÄBCD-EFGH-JKLM-NPQR",
        "A" * 1000,
    ],
)
def test_text_that_cannot_be_a_code_is_refused_with_the_expected_shape(text: str) -> None:
    with pytest.raises(codes.InvalidCode, match="like ABCD-EFGH-JKLM-NPQR"):
        codes.normalise(text)
