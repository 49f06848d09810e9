"""Proration by day: exact for a full period, pieces that always add up, bounded error."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.money import MAX_ABS_MICROS
from bureau.platform.rating.errors import InvalidTariff, InvalidUsage
from bureau.platform.rating.proration import MAX_PERIOD_DAYS, prorate

JAN = (date(2026, 1, 1), date(2026, 2, 1))
MONTHLY = 29_990_000  # dsl-10: 29.99 a month

amounts = st.integers(-MAX_ABS_MICROS, MAX_ABS_MICROS) | st.integers(0, 100_000_000)


@st.composite
def periods(draw: st.DrawFn) -> tuple[date, date]:
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
    days = draw(st.sampled_from([28, 29, 30, 31, 91, 365, 366]) | st.integers(1, MAX_PERIOD_DAYS))
    return start, start + timedelta(days=days)


def test_a_full_period_costs_exactly_the_amount() -> None:
    assert prorate(MONTHLY, *JAN, *JAN) == MONTHLY


def test_a_start_on_the_sixteenth_of_january_pays_16_of_31_days() -> None:
    # 29_990_000 - round(29_990_000 * 15 / 31) = 29_990_000 - 14_511_290; exact 15_478_709.67
    assert prorate(MONTHLY, *JAN, date(2026, 1, 16), date(2026, 3, 1)) == 15_478_710
    assert prorate(MONTHLY, *JAN, date(2025, 12, 1), date(2026, 1, 16)) == 14_511_290


def test_a_cancellation_pays_up_to_the_day_before_active_to() -> None:
    assert prorate(31_000_000, *JAN, date(2025, 12, 1), date(2026, 1, 11)) == 10_000_000


def test_activity_outside_the_period_prorates_to_zero() -> None:
    assert prorate(MONTHLY, *JAN, date(2026, 2, 1), date(2026, 3, 1)) == 0
    assert prorate(MONTHLY, *JAN, date(2025, 11, 1), date(2026, 1, 1)) == 0
    assert prorate(MONTHLY, *JAN, date(2026, 1, 9), date(2026, 1, 9)) == 0


def test_a_piece_can_be_a_whole_micro_unit_from_its_exact_share_and_no_more() -> None:
    # 3 micro-units over 6 days: shares at day 1, 3 are 0.5 -> 0 and 1.5 -> 2.
    start, end = date(2026, 1, 1), date(2026, 1, 7)
    assert prorate(3, start, end, date(2026, 1, 2), date(2026, 1, 4)) == 2  # exactly 1
    assert prorate(3, start, end, start, date(2026, 1, 2)) == 0  # exactly 0.5


@given(amounts, periods())
def test_prorating_a_whole_period_gives_exactly_the_amount(amount: int, period: tuple[date, date]) -> None:
    assert prorate(amount, *period, *period) == amount
    assert prorate(amount, *period, period[0] - timedelta(days=40), period[1] + timedelta(days=3)) == amount


@given(amounts, periods(), st.data())
def test_pieces_split_at_any_days_sum_to_exactly_the_amount_each_within_one_micro_unit(
    amount: int, period: tuple[date, date], data: st.DataObject
) -> None:
    start, end = period
    days = (end - start).days
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, days - 1)), max_size=8)) - {days})
    bounds = [start, *(start + timedelta(days=cut) for cut in cuts), end]
    pieces = [prorate(amount, start, end, low, high) for low, high in itertools.pairwise(bounds)]
    assert sum(pieces) == amount
    for piece, low, high in zip(pieces, bounds, bounds[1:], strict=False):
        exact = Fraction(amount * (high - low).days, days)
        assert abs(piece - exact) <= 1


@given(amounts, periods(), st.data())
def test_a_longer_stay_never_costs_less_and_credits_mirror_charges(
    amount: int, period: tuple[date, date], data: st.DataObject
) -> None:
    start, end = period
    days = (end - start).days
    low, middle, high = sorted(data.draw(st.lists(st.integers(0, days), min_size=3, max_size=3)))
    at = [start + timedelta(days=d) for d in (low, middle, high)]
    shorter = prorate(abs(amount), start, end, at[0], at[1])
    longer = prorate(abs(amount), start, end, at[0], at[2])
    assert 0 <= shorter <= longer
    assert prorate(-amount, start, end, at[0], at[2]) == -prorate(amount, start, end, at[0], at[2])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: prorate(29.99, *JAN, *JAN), InvalidTariff, r"amount_micros must be a whole number"),
        (lambda: prorate(True, *JAN, *JAN), InvalidTariff, r"amount_micros must be a whole number"),
        (lambda: prorate(MAX_ABS_MICROS + 1, *JAN, *JAN), InvalidTariff, r"amount_micros must be at most"),
        (
            lambda: prorate(1, datetime(2026, 1, 1), JAN[1], *JAN),
            InvalidUsage,
            r"period_start must be a date \(not a datetime\)",
        ),
        (lambda: prorate(1, *JAN, "2026-01-05", JAN[1]), InvalidUsage, r"active_from must be a date"),
        (lambda: prorate(1, JAN[1], JAN[0], *JAN), InvalidUsage, r"1 to 3660 days; got 2026-02-01 to 2026-01-01"),
        (lambda: prorate(1, JAN[0], JAN[0], *JAN), InvalidUsage, r"1 to 3660 days"),
        (
            lambda: prorate(1, *JAN, date(2026, 1, 20), date(2026, 1, 10)),
            InvalidUsage,
            r"active_to \(2026-01-10\) is before active_from \(2026-01-20\)",
        ),
    ],
)
def test_bad_amounts_and_dates_are_refused_with_the_reason(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
