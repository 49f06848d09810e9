"""Money: parsing, formatting and the one rounding rule (half-even to the minor unit)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform import money
from bureau.platform.money import (
    CURRENCY_EXPONENTS,
    MAX_ABS_MICROS,
    MICROS_PER_UNIT,
    Amount,
    MoneyError,
    format_amount,
    parse_amount,
    parse_decimal_micros,
    round_to_minor,
)

CURRENCIES = sorted(CURRENCY_EXPONENTS)


def step_of(currency: str) -> int:
    return MICROS_PER_UNIT // 10 ** CURRENCY_EXPONENTS[currency]


# Every amount whose rounding still fits a BIGINT (the largest step is 1,000,000).
micros = st.integers(min_value=-(MAX_ABS_MICROS - MICROS_PER_UNIT), max_value=MAX_ABS_MICROS - MICROS_PER_UNIT)
currencies = st.sampled_from(CURRENCIES)


# --- parsing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_micros", "currency"),
    [
        ("10.00 USD", 10_000_000, "USD"),
        ("-0.5 EUR", -500_000, "EUR"),
        ("+3 GBP", 3_000_000, "GBP"),
        ("1500 JPY", 1_500_000_000, "JPY"),
        ("1.234 KWD", 1_234_000, "KWD"),
        ("0.000001 USD", 1, "USD"),
        ("  7.25   usd ", 7_250_000, "USD"),
    ],
)
def test_parse_amount_reads_number_and_currency_exactly(text: str, expected_micros: int, currency: str) -> None:
    assert parse_amount(text) == Amount(expected_micros, currency)


def test_parse_amount_without_a_code_uses_the_given_currency() -> None:
    assert parse_amount("12.5", "EUR") == Amount(12_500_000, "EUR")
    assert Amount.parse("12.5 EUR", "EUR") == Amount(12_500_000, "EUR")


def test_parse_amount_refuses_a_code_that_contradicts_the_given_currency() -> None:
    with pytest.raises(MoneyError, match=r"'1.00 EUR' is in EUR, expected USD"):
        parse_amount("1.00 EUR", "USD")


def test_parse_amount_without_any_currency_is_refused() -> None:
    with pytest.raises(MoneyError, match=r"not an amount such as '10.00 USD'"):
        parse_amount("10.00")


def test_parse_amount_refuses_an_unknown_currency_naming_what_to_use() -> None:
    with pytest.raises(MoneyError, match=r"unknown currency 'XYZ': use an ISO 4217 code"):
        parse_amount("1.00 XYZ")


@pytest.mark.parametrize("value", [10.0, 0.1, float("nan"), True, False, None, b"10.00 USD", 10])
def test_parse_amount_refuses_anything_but_text(value: object) -> None:
    with pytest.raises(MoneyError, match=r"must be written as text like '10.00 USD'"):
        parse_amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "USD",
        "abc USD",
        "1e3 USD",
        "1,000.00 USD",
        "1. USD",
        ".5 USD",
        "--1 USD",
        "1.0.0 USD",
        "10.00 USD extra",
        "0x10 USD",
        "inf USD",
        "NaN USD",
        "1_000 USD",
        # Non-ASCII digits (Arabic-Indic, full-width) are not amounts people type here.
        "\u0661\u0660.00 USD",
        "\uff11\uff10 USD",
    ],
)
def test_parse_amount_refuses_garbage_with_a_clear_error(text: str) -> None:
    with pytest.raises(MoneyError, match=r"not (a decimal amount|an amount)"):
        parse_amount(text)


def test_parse_refuses_more_precision_than_micro_units() -> None:
    with pytest.raises(MoneyError, match=r"more than 6 decimal places"):
        parse_amount("0.0000001 USD")


def test_parse_refuses_amounts_that_do_not_fit_a_bigint() -> None:
    with pytest.raises(MoneyError, match=r"out of range"):
        parse_amount("9223372036855 USD")


@pytest.mark.parametrize("value", [1.5, True, None, 7])
def test_parse_decimal_micros_refuses_non_text(value: object) -> None:
    with pytest.raises(MoneyError, match=r"must be written as a decimal string"):
        parse_decimal_micros(value)  # type: ignore[arg-type]


# --- the Amount value ----------------------------------------------------------------


@pytest.mark.parametrize("value", [1.0, 0.5, True, False, "100", None])
def test_amount_refuses_floats_bools_and_strings_as_micro_units(value: object) -> None:
    with pytest.raises(MoneyError, match=r"amount must be an integer number of micro-units"):
        Amount(value, "USD")  # type: ignore[arg-type]


def test_amount_refuses_an_unknown_currency() -> None:
    with pytest.raises(MoneyError, match=r"unknown currency 'usd'"):
        Amount(1, "usd")


def test_amounts_of_different_currencies_cannot_be_combined() -> None:
    with pytest.raises(MoneyError, match=r"cannot combine USD with EUR"):
        Amount(1, "USD") + Amount(1, "EUR")
    with pytest.raises(MoneyError, match=r"cannot combine USD with EUR"):
        Amount(1, "USD") - Amount(1, "EUR")


def test_amount_arithmetic_is_exact() -> None:
    assert Amount(100_000, "USD") + Amount(200_000, "USD") == Amount(300_000, "USD")
    assert Amount(100_000, "USD") - Amount(300_000, "USD") == Amount(-200_000, "USD")
    assert -Amount(5, "USD") == Amount(-5, "USD")


def test_amount_minor_units_are_rounded_half_even() -> None:
    assert Amount(12_345_000, "USD").minor_units() == 1234  # 12.345 -> 12.34
    assert Amount(12_355_000, "USD").minor_units() == 1236  # 12.355 -> 12.36
    assert Amount(2_500_000, "JPY").minor_units() == 2
    assert Amount(1_234_500, "KWD").minor_units() == 1234


def test_amount_prints_rounded_to_its_currency() -> None:
    assert str(Amount(10_005_000, "USD")) == "10.00 USD"
    assert str(Amount.parse("-0.5 EUR")) == "-0.50 EUR"


# --- formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("micros_value", "currency", "expected"),
    [
        (10_000_000, "USD", "10.00 USD"),
        (-500_000, "EUR", "-0.50 EUR"),
        (0, "USD", "0.00 USD"),
        (1_500_000_000, "JPY", "1500 JPY"),
        (1_500_000, "JPY", "2 JPY"),  # 1.5 -> 2 (half to even)
        (2_500_000, "JPY", "2 JPY"),  # 2.5 -> 2 (half to even)
        (1_234_000, "KWD", "1.234 KWD"),
        (1_234_500, "KWD", "1.234 KWD"),  # 1.2345 -> 1.234
        (1_235_500, "KWD", "1.236 KWD"),  # 1.2355 -> 1.236
        (-1, "USD", "0.00 USD"),  # rounds to zero: no "-0.00"
        (-5_000, "USD", "0.00 USD"),  # -0.005 -> -0.00 -> 0.00
    ],
)
def test_format_amount_rounds_half_even_to_the_minor_unit(micros_value: int, currency: str, expected: str) -> None:
    assert format_amount(micros_value, currency) == expected


@pytest.mark.parametrize(
    ("micros_value", "currency", "expected"),
    [
        (10_000_000, "USD", "10.00 USD"),
        (10_000_001, "USD", "10.000001 USD"),
        (-1, "USD", "-0.000001 USD"),
        (1_500_000, "JPY", "1.5 JPY"),
        (2_000_000, "JPY", "2 JPY"),
        (1_234_560, "KWD", "1.23456 KWD"),
        (1_200_000, "KWD", "1.200 KWD"),
    ],
)
def test_format_amount_precise_keeps_every_micro_unit(micros_value: int, currency: str, expected: str) -> None:
    assert format_amount(micros_value, currency, precise=True) == expected


@pytest.mark.parametrize("precise", [False, True])
@pytest.mark.parametrize("value", [1.5, 1.0, True, "100"])
def test_format_amount_refuses_non_integer_micro_units(value: object, precise: bool) -> None:
    with pytest.raises(MoneyError, match=r"must be an integer number of micro-units"):
        format_amount(value, "USD", precise=precise)  # type: ignore[arg-type]


def test_format_amount_refuses_an_unknown_currency() -> None:
    with pytest.raises(MoneyError, match=r"unknown currency 'ABC'"):
        format_amount(1, "ABC")


# --- rounding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("micros_value", "currency", "expected"),
    [
        # exact halves go to the even neighbour
        (5_000, "USD", 0),  # 0.005 -> 0.00
        (15_000, "USD", 20_000),  # 0.015 -> 0.02
        (25_000, "USD", 20_000),  # 0.025 -> 0.02
        (35_000, "USD", 40_000),  # 0.035 -> 0.04
        (-5_000, "USD", 0),
        (-15_000, "USD", -20_000),
        (-25_000, "USD", -20_000),
        (500_000, "JPY", 0),
        (1_500_000, "JPY", 2_000_000),
        (2_500_000, "JPY", 2_000_000),
        (-2_500_000, "JPY", -2_000_000),
        (-3_500_000, "JPY", -4_000_000),
        (500, "KWD", 0),
        (1_500, "KWD", 2_000),
        (2_500, "KWD", 2_000),
        # not halves: nearest
        (5_001, "USD", 10_000),
        (4_999, "USD", 0),
        (-5_001, "USD", -10_000),
        (-4_999, "USD", 0),
    ],
)
def test_round_to_minor_is_half_even_at_exact_halves(micros_value: int, currency: str, expected: int) -> None:
    assert round_to_minor(micros_value, currency) == expected


@pytest.mark.parametrize("value", [0.5, 1.0, True, "5000"])
def test_round_to_minor_refuses_non_integers(value: object) -> None:
    with pytest.raises(MoneyError, match=r"must be an integer number of micro-units"):
        round_to_minor(value, "USD")  # type: ignore[arg-type]


def test_round_to_minor_refuses_a_result_that_does_not_fit_a_bigint() -> None:
    # MAX_ABS_MICROS rounds up past the BIGINT range: an error, not a silent overflow.
    with pytest.raises(MoneyError, match=r"out of range"):
        round_to_minor(MAX_ABS_MICROS, "USD")


@given(micros, currencies)
def test_rounding_is_idempotent(value: int, currency: str) -> None:
    once = round_to_minor(value, currency)
    assert round_to_minor(once, currency) == once


@given(micros, currencies)
def test_rounding_moves_an_amount_by_at_most_half_a_minor_unit(value: int, currency: str) -> None:
    rounded = round_to_minor(value, currency)
    step = step_of(currency)
    assert rounded % step == 0
    assert 2 * abs(rounded - value) <= step


@given(micros, currencies)
def test_rounding_at_an_exact_half_picks_the_even_neighbour(value: int, currency: str) -> None:
    step = step_of(currency)
    if step == 1:
        return  # no currency has six decimals today; nothing to round
    half = (value // step) * step + step // 2
    rounded = round_to_minor(half, currency)
    assert (rounded // step) % 2 == 0
    assert abs(rounded - half) * 2 == step


@given(st.data(), currencies)
def test_rounding_a_multiple_of_the_step_changes_nothing(data: st.DataObject, currency: str) -> None:
    step = step_of(currency)
    limit = MAX_ABS_MICROS // step
    value = data.draw(st.integers(min_value=-limit, max_value=limit)) * step
    assert round_to_minor(value, currency) == value


@given(micros, currencies)
def test_rounding_is_symmetric_around_zero(value: int, currency: str) -> None:
    assert round_to_minor(-value, currency) == -round_to_minor(value, currency)


@given(micros, currencies)
def test_precise_format_then_parse_gives_the_same_amount(value: int, currency: str) -> None:
    text = format_amount(value, currency, precise=True)
    assert parse_amount(text) == Amount(value, currency)


@given(micros, currencies)
def test_rounded_format_then_parse_gives_the_rounded_amount(value: int, currency: str) -> None:
    text = format_amount(value, currency)
    assert parse_amount(text) == Amount(round_to_minor(value, currency), currency)
    decimals = text.split()[0].partition(".")[2]
    assert len(decimals) == CURRENCY_EXPONENTS[currency]


def test_every_currency_exponent_is_an_iso_4217_minor_unit() -> None:
    assert set(CURRENCY_EXPONENTS.values()) <= {0, 2, 3}
    assert all(code.isascii() and code.isupper() and len(code) == 3 for code in CURRENCY_EXPONENTS)
    assert money.currency_exponent("JPY") == 0
    assert money.currency_exponent("KWD") == 3
    assert money.currency_exponent("USD") == 2
