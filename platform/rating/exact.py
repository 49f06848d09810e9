"""Exact integer arithmetic for rating: one division, one rounding rule.

Rating, proration and discounts compute an exact rational amount `numerator /
denominator` in integers and divide once, at the end, rounding half-even to the
micro-unit (the same rule `bureau.platform.money.round_to_minor` applies to minor
units). Half-even is unbiased, and it is monotonic: a larger numerator never gives a
smaller result, which is what lets charges be computed as differences of cumulative
amounts (see `charge.py`).
"""

from __future__ import annotations


def divide_half_even(numerator: int, denominator: int) -> int:
    """`numerator / denominator` rounded half-even to an integer; `denominator` > 0.

    Exact for any size of int, negative numerators included (-2.5 rounds to -2, like 2.5
    to 2). The result differs from the exact quotient by at most one half.
    """
    if denominator <= 0:
        raise ZeroDivisionError(f"denominator must be positive, got {denominator}")
    quotient, remainder = divmod(numerator, denominator)  # floor division: remainder >= 0
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def round_up_to_multiple(value: int, step: int) -> int:
    """The smallest multiple of `step` (> 0) that is >= `value` (>= 0)."""
    return -(-value // step) * step
