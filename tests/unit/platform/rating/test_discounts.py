"""Volume discounts and all-units price ranges, credited at the end of a period."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.rating.charge import cumulative_charge, rate_usage
from bureau.platform.rating.discounts import (
    BASIS_POINTS,
    MAX_RANGES,
    DiscountRange,
    PriceRange,
    RangePricing,
    VolumeDiscount,
    range_discount,
    volume_discount,
)
from bureau.platform.rating.errors import InvalidTariff, InvalidUsage
from bureau.platform.rating.tariff import GIGABYTE, HOUR, Tier, UsageRate
from bureau.platform.rating.usage import Meter, Usage

OVER_100_GB = VolumeDiscount(Meter.OCTETS_TOTAL, (DiscountRange(100 * GIGABYTE + 1, 2_000),))  # 20 % off
RANGES = RangePricing(
    Meter.OCTETS_TOTAL, GIGABYTE, (PriceRange(0, 12_000_000), PriceRange(10 * GIGABYTE, 9_000_000))
)  # all units: 12.00 per GB under 10 GB, 9.00 per GB from 10 GB


def test_twenty_percent_off_usage_applies_only_over_100_gb() -> None:
    charge = 1_000_000_000  # 1000.00 of usage charged during the month
    assert volume_discount(OVER_100_GB, Usage(octets_in=100 * GIGABYTE), charge) == 0
    assert volume_discount(OVER_100_GB, Usage(octets_in=100 * GIGABYTE + 1), charge) == 200_000_000
    assert volume_discount(OVER_100_GB, Usage(octets_in=99 * GIGABYTE, octets_out=2 * GIGABYTE), charge) == 200_000_000


def test_the_highest_range_reached_sets_the_percentage() -> None:
    discount = VolumeDiscount(
        Meter.SECONDS, (DiscountRange(0, 0), DiscountRange(3_600, 500), DiscountRange(7_200, 1_000))
    )
    assert [discount.basis_points_for(s) for s in (0, 3_599, 3_600, 7_199, 7_200, 10**9)] == [
        0,
        0,
        500,
        500,
        1_000,
        1_000,
    ]


def test_a_discount_is_rounded_half_even_to_the_micro_unit() -> None:
    discount = VolumeDiscount(Meter.SECONDS, (DiscountRange(0, 5_000),))  # 50 %
    assert volume_discount(discount, Usage(), 3) == 2  # 1.5 -> 2
    assert volume_discount(discount, Usage(), 5) == 2  # 2.5 -> 2


def test_a_discount_can_follow_a_time_of_day_band() -> None:
    discount = VolumeDiscount(Meter.SECONDS, (DiscountRange(10, 1_000),), band="off-peak")
    assert volume_discount(discount, Usage(seconds=100, band_seconds={"off-peak": 9}), 1_000) == 0
    assert volume_discount(discount, Usage(seconds=100, band_seconds={"off-peak": 10}), 1_000) == 100


@given(
    st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, BASIS_POINTS)), min_size=1, max_size=MAX_RANGES),
    st.integers(0, 2 * 10**12),
    st.integers(0, 10**15),
)
def test_a_volume_discount_is_never_negative_nor_more_than_the_charge(
    raw: list[tuple[int, int]], octets: int, charge: int
) -> None:
    starts = sorted({start for start, _ in raw})
    discount = VolumeDiscount(
        Meter.OCTETS_TOTAL, tuple(DiscountRange(s, bp) for s, (_, bp) in zip(starts, raw, strict=False))
    )
    value = volume_discount(discount, Usage(octets_out=octets), charge)
    assert 0 <= value <= charge


def test_all_units_range_pricing_is_not_monotonic_so_it_waits_for_period_end() -> None:
    # One octet more makes the whole period cheaper: no incremental charge could do that.
    assert RANGES.all_units_charge(10 * GIGABYTE - 1) > RANGES.all_units_charge(10 * GIGABYTE)
    assert RANGES.all_units_charge(10 * GIGABYTE - 1) == 120_000_000
    assert RANGES.all_units_charge(10 * GIGABYTE) == 90_000_000


def test_range_pricing_charges_the_first_price_in_real_time_and_credits_the_rest_at_period_end() -> None:
    period = Usage(octets_in=3 * GIGABYTE, octets_out=12 * GIGABYTE)
    charged = rate_usage([RANGES.realtime_rate()], Usage(), period).charge_micros
    assert charged == 180_000_000  # 15 GB at 12.00
    assert range_discount(RANGES, period) == 45_000_000  # 15 GB at 3.00 less
    assert charged - range_discount(RANGES, period) == 135_000_000  # 15 GB at 9.00
    assert range_discount(RANGES, Usage(octets_in=9 * GIGABYTE)) == 0


@st.composite
def range_pricings(draw: st.DrawFn) -> RangePricing:
    count = draw(st.integers(1, 5))
    starts = sorted(draw(st.sets(st.integers(1, 10**7), min_size=count - 1, max_size=count - 1)))
    prices = sorted(draw(st.lists(st.integers(0, 10**8), min_size=count, max_size=count)), reverse=True)
    unit = draw(st.sampled_from([1, 60, HOUR, 10**6, GIGABYTE]))
    ranges = tuple(PriceRange(start, price) for start, price in zip([0, *starts], prices, strict=True))
    return RangePricing(Meter.OCTETS_TOTAL, unit, ranges)


@given(range_pricings(), st.integers(0, 2 * 10**7))
def test_a_range_discount_is_what_real_time_overcharged_never_negative(pricing: RangePricing, octets: int) -> None:
    credit = range_discount(pricing, Usage(octets_in=octets))
    charged = cumulative_charge(pricing.realtime_rate(), octets)
    assert 0 <= credit <= charged
    assert charged - credit == pricing.all_units_charge(octets)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DiscountRange(0, 20.0), r"basis_points \(2_000 = 20 %\) must be a whole number"),
        (lambda: DiscountRange(0, 10_001), r"basis_points .* must be at most 10000"),
        (lambda: DiscountRange(0, -1), r"basis_points .* must be at least 0"),
        (lambda: DiscountRange(1.5, 10), r"start must be a whole number"),
        (lambda: VolumeDiscount(Meter.SECONDS, ()), r"needs 1 to 16 ranges, got 0"),
        (lambda: VolumeDiscount(Meter.SECONDS, DiscountRange(0, 1)), r"must be a sequence of DiscountRange"),
        (lambda: VolumeDiscount(Meter.SECONDS, (Tier(0, 1),)), r"must be DiscountRange values"),
        (lambda: VolumeDiscount("seconds", (DiscountRange(0, 1),)), r"meter must be one of"),
        (lambda: VolumeDiscount(Meter.OCTETS_IN, (DiscountRange(0, 1),), band="x"), r"seconds meter only"),
        (
            lambda: VolumeDiscount(Meter.SECONDS, (DiscountRange(5, 1), DiscountRange(5, 2))),
            r"discount range starts must increase: 5 follows 5",
        ),
        (lambda: PriceRange(0, 1.25), r"price_micros must be a whole number"),
        (lambda: RangePricing(Meter.SECONDS, HOUR, (PriceRange(1, 5),)), r"first price range must start at 0, got 1"),
        (lambda: RangePricing(Meter.SECONDS, 0, (PriceRange(0, 5),)), r"unit_size .* must be at least 1"),
        (
            lambda: RangePricing(Meter.SECONDS, HOUR, (PriceRange(0, 5), PriceRange(10, 6))),
            r"the price from 10 \(6\) must not exceed the one before it \(5\)",
        ),
        (
            lambda: RangePricing(Meter.SECONDS, HOUR, (PriceRange(0, 5), PriceRange(0, 4))),
            r"price range starts must increase",
        ),
    ],
)
def test_malformed_discounts_are_refused_with_the_reason(build: Any, message: str) -> None:
    with pytest.raises(InvalidTariff, match=message):
        build()


def test_a_float_charge_or_quantity_is_refused() -> None:
    with pytest.raises(InvalidUsage, match=r"charge_micros must be a whole number"):
        volume_discount(OVER_100_GB, Usage(), 10.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match=r"quantity must be a whole number"):
        RANGES.all_units_charge(1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match=r"charge_micros must be at least 0"):
        volume_discount(OVER_100_GB, Usage(), -1)


def test_graduated_tiers_with_the_same_prices_stay_monotonic_across_the_threshold() -> None:
    # The contrast: graduated tiers lower the price of later units only, so real time can charge them.
    tiers = UsageRate(Meter.OCTETS_TOTAL, GIGABYTE, (Tier(0, 12_000_000), Tier(10 * GIGABYTE, 9_000_000)))
    charges = [cumulative_charge(tiers, q) for q in (10 * GIGABYTE - 1, 10 * GIGABYTE, 11 * GIGABYTE)]
    assert charges == [120_000_000, 120_000_000, 129_000_000]
