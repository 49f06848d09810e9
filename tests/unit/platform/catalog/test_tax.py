"""Tax on a line: exact net + tax == gross, one half-even rounding, shares that add up."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.catalog.tax import MAX_RATE_BP, MAX_RATES_PER_LINE, RatePart, TaxError, tax_line

VAT_20 = RatePart("VAT", 2000, inclusive=True)
SALES_8_875 = RatePart("Sales tax", 888, inclusive=False)  # 8.88 %

amounts = st.integers(-(10**15), 10**15) | st.integers(0, 100_000_000)
rate_parts = st.builds(
    RatePart, st.sampled_from(["VAT", "GST", "PST", "City", "State"]), st.integers(0, MAX_RATE_BP), st.booleans()
)
rate_lists = st.lists(rate_parts, max_size=6)


def exact(amount: int, rates: list[RatePart]) -> tuple[Fraction, Fraction]:
    """Exact net and gross (rationals)."""
    inclusive = sum(r.rate_bp for r in rates if r.inclusive)
    exclusive = sum(r.rate_bp for r in rates if not r.inclusive)
    net = Fraction(amount * 10_000, 10_000 + inclusive)
    return net, amount + net * exclusive / 10_000


@given(amounts, rate_lists)
def test_net_plus_tax_is_gross_exactly_and_shares_sum_to_the_tax(amount: int, rates: list[RatePart]) -> None:
    line = tax_line(amount, rates)
    assert line.net_micros + line.tax_micros == line.gross_micros
    assert sum(share.tax_micros for share in line.shares) == line.tax_micros
    assert [share.rate for share in line.shares] == rates


@given(amounts, rate_lists)
def test_net_and_gross_are_within_half_a_micro_unit_of_exact(amount: int, rates: list[RatePart]) -> None:
    line = tax_line(amount, rates)
    net, gross = exact(amount, rates)
    assert abs(line.net_micros - net) <= Fraction(1, 2)
    # gross is the amount plus one rounded exclusive tax on the rounded net
    exclusive = sum(r.rate_bp for r in rates if not r.inclusive)
    assert abs(line.gross_micros - gross) <= Fraction(1, 2) + Fraction(exclusive, 2 * 10_000)


@given(amounts, rate_lists)
def test_an_inclusive_only_line_keeps_its_amount_as_gross(amount: int, rates: list[RatePart]) -> None:
    inclusive = [RatePart(r.name, r.rate_bp, True) for r in rates]
    line = tax_line(amount, inclusive)
    assert line.gross_micros == amount


@given(amounts, rate_lists)
def test_an_exclusive_only_line_keeps_its_amount_as_net(amount: int, rates: list[RatePart]) -> None:
    exclusive = [RatePart(r.name, r.rate_bp, False) for r in rates]
    line = tax_line(amount, exclusive)
    assert line.net_micros == amount


@given(amounts, rate_lists)
def test_a_credit_is_taxed_as_the_mirror_of_its_charge(amount: int, rates: list[RatePart]) -> None:
    charge, credit = tax_line(amount, rates), tax_line(-amount, rates)
    assert (credit.net_micros, credit.tax_micros, credit.gross_micros) == (
        -charge.net_micros,
        -charge.tax_micros,
        -charge.gross_micros,
    )


@given(amounts, rate_lists)
def test_each_share_is_within_one_micro_unit_of_its_exact_value(amount: int, rates: list[RatePart]) -> None:
    line = tax_line(amount, rates)
    inclusive_bp = sum(r.rate_bp for r in rates if r.inclusive)
    exclusive_bp = sum(r.rate_bp for r in rates if not r.inclusive)
    inclusive_tax = amount - line.net_micros
    exclusive_tax = line.tax_micros - inclusive_tax
    for share in line.shares:
        if share.rate.inclusive:
            exact_share = Fraction(inclusive_tax * share.rate.rate_bp, inclusive_bp) if inclusive_bp else Fraction(0)
        else:
            exact_share = Fraction(exclusive_tax * share.rate.rate_bp, exclusive_bp) if exclusive_bp else Fraction(0)
        assert abs(share.tax_micros - exact_share) <= 1


@given(st.integers(0, 10**12), st.integers(0, 10**12), rate_lists)
def test_a_larger_amount_never_carries_less_tax(a: int, b: int, rates: list[RatePart]) -> None:
    low, high = sorted((a, b))
    assert tax_line(low, rates).tax_micros <= tax_line(high, rates).tax_micros


def test_twenty_percent_vat_is_extracted_from_an_inclusive_price() -> None:
    line = tax_line(12_000_000, [VAT_20])  # 12.00 including 20 % VAT
    assert (line.net_micros, line.tax_micros, line.gross_micros) == (10_000_000, 2_000_000, 12_000_000)


def test_exclusive_sales_tax_is_added_on_top_and_rounded_half_even_to_the_micro_unit() -> None:
    # 29.99 * 8.88 % = 2.663112 exactly; 0.000001 * 8.88 % = 0.0000000888 rounds to 0
    assert tax_line(29_990_000, [SALES_8_875]).tax_micros == 2_663_112
    assert tax_line(1, [SALES_8_875]).tax_micros == 0
    # 5 micros at 10 % is 0.5: half-even gives 0; 15 at 10 % is 1.5: gives 2
    ten = RatePart("Ten", 1000, inclusive=False)
    assert tax_line(5, [ten]).tax_micros == 0
    assert tax_line(15, [ten]).tax_micros == 2


def test_inclusive_and_exclusive_rates_on_one_line_add_exclusive_tax_on_the_extracted_net() -> None:
    line = tax_line(11_000_000, [RatePart("GST", 1000, True), RatePart("Levy", 500, False)])
    assert line.net_micros == 10_000_000
    assert [share.tax_micros for share in line.shares] == [1_000_000, 500_000]
    assert line.gross_micros == 11_500_000


def test_a_line_without_rates_is_untaxed() -> None:
    line = tax_line(29_990_000, [])
    assert (line.net_micros, line.tax_micros, line.gross_micros, line.shares) == (29_990_000, 0, 29_990_000, ())


@pytest.mark.parametrize(
    ("amount", "rates", "message"),
    [
        (1.5, [], "whole number"),
        (True, [], "whole number"),
        (2**63, [], "between"),
        (100, [VAT_20] * (MAX_RATES_PER_LINE + 1), "at most"),
        (100, ["VAT"], "RatePart"),
    ],
)
def test_a_float_an_out_of_range_amount_or_a_bad_rate_list_is_refused(amount, rates, message) -> None:
    with pytest.raises(TaxError, match=message):
        tax_line(amount, rates)


@pytest.mark.parametrize(
    ("name", "rate_bp", "inclusive", "message"),
    [
        ("VAT", 20.0, True, "whole number"),
        ("VAT", "2000", True, "whole number"),
        ("VAT", -1, True, "between 0 and 10000"),
        ("VAT", 10_001, True, "between 0 and 10000"),
        ("", 2000, True, "tax name"),
        ("VAT", 2000, 1, "True or False"),
    ],
)
def test_a_rate_that_is_not_whole_basis_points_is_refused(name, rate_bp, inclusive, message) -> None:
    with pytest.raises(TaxError, match=message):
        RatePart(name, rate_bp, inclusive)


def test_a_gross_beyond_the_largest_amount_is_refused() -> None:
    with pytest.raises(TaxError, match="largest amount"):
        tax_line(2**63 - 1, [RatePart("Levy", 100, False)])
