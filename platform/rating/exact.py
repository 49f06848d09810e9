"""Exact integer arithmetic for rating: one division, one rounding rule.

Rating, proration and discounts compute an exact rational amount `numerator /
denominator` in integers and divide once, at the end, rounding half-even to the
micro-unit (the same rule `bureau.platform.money.round_to_minor` applies to minor
units). Half-even is unbiased, and it is monotonic: a larger numerator never gives a
smaller result, which is what lets charges be computed as differences of cumulative
amounts (see `charge.py`).
"""

from __future__ import annotations

from ..money import divide_half_even

__all__ = ["divide_half_even", "round_up_to_multiple"]


def round_up_to_multiple(value: int, step: int) -> int:
    """The smallest multiple of `step` (> 0) that is >= `value` (>= 0)."""
    return -(-value // step) * step
