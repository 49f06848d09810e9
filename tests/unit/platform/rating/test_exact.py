"""The one division of rating: half-even to an integer, exact for any size of int."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.rating.exact import divide_half_even, round_up_to_multiple


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=1, max_value=10**20))
def test_divide_half_even_agrees_with_exact_fraction_rounding(numerator: int, denominator: int) -> None:
    # Fraction.__round__ rounds half to even, independently of divmod.
    assert divide_half_even(numerator, denominator) == round(Fraction(numerator, denominator))


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(1, 2, 0), (3, 2, 2), (5, 2, 2), (-1, 2, 0), (-3, 2, -2), (-5, 2, -2), (2, 3, 1), (-2, 3, -1), (7, 7, 1)],
)
def test_ties_go_to_the_even_neighbour_on_both_sides_of_zero(numerator: int, denominator: int, expected: int) -> None:
    assert divide_half_even(numerator, denominator) == expected


def test_a_zero_or_negative_denominator_is_refused() -> None:
    with pytest.raises(ZeroDivisionError):
        divide_half_even(1, 0)
    with pytest.raises(ZeroDivisionError):
        divide_half_even(1, -3)


@given(st.integers(min_value=0, max_value=10**20), st.integers(min_value=1, max_value=10**6))
def test_rounding_up_to_a_multiple_gives_the_smallest_multiple_not_below(value: int, step: int) -> None:
    rounded = round_up_to_multiple(value, step)
    assert rounded % step == 0
    assert value <= rounded < value + step
