"""Rating: exact, monotonic, telescoping charges with allowances, tiers and increments."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bureau.platform.money import MAX_ABS_MICROS
from bureau.platform.rating.charge import (
    MAX_RATES,
    Rated,
    affordable_quantity,
    cumulative_allowance_used,
    cumulative_charge,
    rate_usage,
)
from bureau.platform.rating.errors import MAX_QUANTITY, InvalidTariff, InvalidUsage
from bureau.platform.rating.tariff import GIGABYTE, HOUR, MINUTE, SECOND, Tier, UsageRate
from bureau.platform.rating.usage import Meter, Usage

# DESIGN.md section 6: the demo plans.
PREPAID_HOURLY = UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000)  # 1.20 per hour, rated per second
PREPAID_DATA = UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000)  # 10.00 per GB
DSL_10 = UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000, allowance=10 * GIGABYTE)

BANDS = ("peak", "off-peak")


def reference_charge(rate: UsageRate, quantity: int) -> int:
    """Independent of the implementation: exact Fractions per tier, rounded half-even."""
    billable = -(-quantity // rate.increment) * rate.increment
    total = Fraction(0)
    for index, tier in enumerate(rate.tiers):
        end = rate.tiers[index + 1].start if index + 1 < len(rate.tiers) else billable
        units = max(0, min(end, billable) - max(tier.start, rate.allowance))
        total += Fraction(tier.price_micros, rate.unit_size) * units
    return round(total)


@st.composite
def usage_rates(draw: st.DrawFn, meter: Meter | None = None, band: str | None = None, scale: int = 1) -> UsageRate:
    """Rates whose thresholds fall among quantities up to ~3e6 * scale."""
    chosen = meter if meter is not None else draw(st.sampled_from(list(Meter)))
    count = draw(st.integers(min_value=1, max_value=4))
    starts = sorted(draw(st.sets(st.integers(1, 2_000_000), min_size=count - 1, max_size=count - 1)))
    prices = draw(st.lists(st.integers(0, 100_000_000), min_size=count, max_size=count))
    unit_size = draw(st.sampled_from([SECOND, MINUTE, HOUR, 10**3, 10**6, GIGABYTE]) | st.integers(1, 10_000))
    allowance = draw(st.integers(0, 2_000_000) | st.just(0))
    increment = draw(st.just(1) | st.sampled_from([60, 1_000]) | st.integers(1, 5_000))
    tiers = tuple(Tier(start * scale, price) for start, price in zip([0, *starts], prices, strict=True))
    return UsageRate(chosen, unit_size, tiers, allowance * scale, increment, band if chosen is Meter.SECONDS else None)


quantities = st.integers(0, 4_000_000)


@st.composite
def plans(draw: st.DrawFn) -> tuple[UsageRate, ...]:
    """One rate per meter for a subset of meters, time-of-day bands included."""
    keys: list[tuple[Meter, str | None]] = [(meter, None) for meter in Meter] + [(Meter.SECONDS, b) for b in BANDS]
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
    return tuple(draw(usage_rates(meter, band)) for meter, band in chosen)


@st.composite
def usages(draw: st.DrawFn, limit: int = 1_000_000) -> Usage:
    amount = st.integers(0, limit)
    return Usage(
        seconds=draw(amount),
        octets_in=draw(amount),
        octets_out=draw(amount),
        band_seconds={band: draw(amount) for band in BANDS},
    )


# --- the worked examples of DESIGN.md section 6 ---------------------------------------


def test_prepaid_hourly_charges_one_hour_at_exactly_1_20() -> None:
    assert cumulative_charge(PREPAID_HOURLY, 3_600) == 1_200_000


def test_prepaid_hourly_charges_one_second_333_micros_by_half_even_rounding() -> None:
    # 1_200_000 / 3600 = 333.33...; two seconds are 666.66... -> 667.
    assert cumulative_charge(PREPAID_HOURLY, 1) == 333
    assert cumulative_charge(PREPAID_HOURLY, 2) == 667
    assert rate_usage([PREPAID_HOURLY], Usage(seconds=1), Usage(seconds=1)).charge_micros == 334


def test_prepaid_hourly_rated_second_by_second_sums_to_exactly_1_20_an_hour() -> None:
    already = Usage()
    charges = []
    for _ in range(3_600):
        rated = rate_usage([PREPAID_HOURLY], already, Usage(seconds=1))
        charges.append(rated.charge_micros)
        already = already + Usage(seconds=1)
    assert sum(charges) == 1_200_000
    assert set(charges) == {333, 334}


def test_prepaid_data_charges_10_00_per_gb_both_directions() -> None:
    rated = rate_usage([PREPAID_DATA], Usage(), Usage(octets_in=GIGABYTE // 4, octets_out=3 * GIGABYTE // 4))
    assert rated.charge_micros == 10_000_000
    assert cumulative_charge(PREPAID_DATA, 2_500_000_000) == 25_000_000
    assert cumulative_charge(PREPAID_DATA, 1) == 0  # 0.01 micro-units rounds to 0


def test_dsl_10_includes_10_gb_and_charges_15_gb_50_00() -> None:
    rated = rate_usage([DSL_10], Usage(), Usage(octets_out=15 * GIGABYTE))
    assert rated.charge_micros == 50_000_000
    assert rated.allowance_consumed(Meter.OCTETS_TOTAL) == 10 * GIGABYTE
    assert rated.lines[0].quantity == 15 * GIGABYTE


def test_dsl_10_is_exact_one_octet_around_the_allowance() -> None:
    allowance = 10 * GIGABYTE
    assert [cumulative_allowance_used(DSL_10, q) for q in (allowance - 1, allowance, allowance + 1)] == [
        allowance - 1,
        allowance,
        allowance,
    ]
    assert cumulative_charge(DSL_10, allowance) == 0
    # 100 octets over the allowance cost exactly 1 micro-unit (10.00 per 10**9 octets).
    assert cumulative_charge(DSL_10, allowance + 100) == 1
    assert cumulative_charge(DSL_10, allowance + GIGABYTE) == 10_000_000
    assert cumulative_charge(DSL_10, allowance + GIGABYTE - 1) == 10_000_000  # 9_999_999.99 rounds up


def test_dsl_10_charges_nothing_while_usage_stays_in_the_allowance_then_the_overage() -> None:
    first = rate_usage([DSL_10], Usage(), Usage(octets_in=9 * GIGABYTE))
    second = rate_usage([DSL_10], Usage(octets_in=9 * GIGABYTE), Usage(octets_in=6 * GIGABYTE))
    assert (first.charge_micros, first.allowance_consumed(Meter.OCTETS_TOTAL)) == (0, 9 * GIGABYTE)
    assert (second.charge_micros, second.allowance_consumed(Meter.OCTETS_TOTAL)) == (50_000_000, GIGABYTE)


# --- exactness and boundaries -------------------------------------------------------


@given(usage_rates(), quantities)
def test_the_cumulative_charge_is_the_exact_amount_rounded_half_even(rate: UsageRate, quantity: int) -> None:
    assert cumulative_charge(rate, quantity) == reference_charge(rate, quantity)


@given(st.data())
def test_tiers_and_allowance_are_exact_one_unit_below_at_and_above_each_boundary(data: st.DataObject) -> None:
    # With one base unit per priced unit there is no rounding: each unit's marginal
    # charge is exactly the price of the tier it falls in, or 0 inside the allowance.
    base = data.draw(usage_rates())
    rate = UsageRate(base.meter, 1, base.tiers, base.allowance, 1, base.band)

    def price_of_unit(position: int) -> int:
        if position < rate.allowance:
            return 0
        return [tier.price_micros for tier in rate.tiers if tier.start <= position][-1]

    for boundary in [rate.allowance] + [tier.start for tier in rate.tiers]:
        for position in (boundary - 1, boundary, boundary + 1):
            if position < 0:
                continue
            marginal = cumulative_charge(rate, position + 1) - cumulative_charge(rate, position)
            assert marginal == price_of_unit(position)
            used = cumulative_allowance_used(rate, position)
            assert used == min(position, rate.allowance)


def test_graduated_tiers_price_each_unit_by_its_own_tier() -> None:
    # 2.00 per minute for the first hour, 1.00 per minute for the next, then 0.50.
    rate = UsageRate(Meter.SECONDS, MINUTE, (Tier(0, 2_000_000), Tier(3_600, 1_000_000), Tier(7_200, 500_000)))
    assert cumulative_charge(rate, 3_599) == 119_966_667  # 3599 / 60 * 2.00
    assert cumulative_charge(rate, 3_600) == 120_000_000
    assert cumulative_charge(rate, 3_660) == 121_000_000
    assert cumulative_charge(rate, 7_200) == 180_000_000
    assert cumulative_charge(rate, 7_260) == 180_500_000


def test_an_increment_charges_whole_blocks_of_the_periods_cumulative_time() -> None:
    rate = UsageRate.flat(Meter.SECONDS, MINUTE, 600_000, increment=60)  # 0.60 a minute, 60 s blocks
    assert [cumulative_charge(rate, s) for s in (0, 1, 59, 60, 61, 120, 121)] == [
        0,
        600_000,
        600_000,
        600_000,
        1_200_000,
        1_200_000,
        1_800_000,
    ]
    # A second session of 30 s after one of 31 s first uses the rest of the paid block.
    assert rate_usage([rate], Usage(seconds=31), Usage(seconds=29)).charge_micros == 0
    assert rate_usage([rate], Usage(seconds=31), Usage(seconds=30)).charge_micros == 600_000


def test_an_increment_applies_before_the_allowance() -> None:
    rate = UsageRate.flat(Meter.SECONDS, MINUTE, 600_000, allowance=100, increment=60)
    assert cumulative_charge(rate, 61) == 20 * 10_000  # 120 s billable, 20 s over the allowance
    assert cumulative_allowance_used(rate, 61) == 100
    assert cumulative_allowance_used(rate, 59) == 60


# --- monotonic and telescoping --------------------------------------------------------


@given(usage_rates(), quantities, quantities)
def test_rating_is_monotonic_in_the_quantity(rate: UsageRate, first: int, second: int) -> None:
    low, high = sorted((first, second))
    assert cumulative_charge(rate, low) <= cumulative_charge(rate, high)
    assert cumulative_allowance_used(rate, low) <= cumulative_allowance_used(rate, high)


@given(plans(), usages(), usages(), usages())
def test_rating_new_usage_never_charges_a_negative_amount(
    rates: tuple[UsageRate, ...], already: Usage, first: Usage, second: Usage
) -> None:
    smaller = rate_usage(rates, already, first)
    larger = rate_usage(rates, already, first + second)
    assert 0 <= smaller.charge_micros <= larger.charge_micros
    for line in smaller.lines:
        assert line.charge_micros >= 0
        assert line.allowance_consumed >= 0


@settings(max_examples=150)
@given(plans(), usages(), st.lists(usages(limit=400_000), min_size=1, max_size=12))
def test_rating_usage_in_pieces_charges_and_consumes_exactly_what_rating_it_at_once_does(
    rates: tuple[UsageRate, ...], start: Usage, pieces: list[Usage]
) -> None:
    whole = Usage()
    for piece in pieces:
        whole = whole + piece
    at_once = rate_usage(rates, start, whole)

    already = start
    charged = 0
    consumed = dict.fromkeys([rate.key for rate in rates], 0)
    for piece in pieces:
        rated = rate_usage(rates, already, piece)
        charged += rated.charge_micros
        for line in rated.lines:
            consumed[line.rate.key] += line.allowance_consumed
        already = already + piece

    assert charged == at_once.charge_micros
    assert consumed == {line.rate.key: line.allowance_consumed for line in at_once.lines}
    assert at_once.charge_micros == sum(line.charge_micros for line in at_once.lines)


@given(usage_rates(scale=10**4), st.lists(st.integers(0, 10**10), min_size=1, max_size=10))
def test_splitting_gigabyte_scale_volumes_is_exact_to_the_micro_unit(rate: UsageRate, pieces: list[int]) -> None:
    already = 0
    charged = 0
    for piece in pieces:
        charged += cumulative_charge(rate, already + piece) - cumulative_charge(rate, already)
        already += piece
    assert charged == cumulative_charge(rate, sum(pieces)) == reference_charge(rate, sum(pieces))


@given(plans(), usages())
def test_a_retransmitted_update_with_unchanged_counters_charges_nothing(
    rates: tuple[UsageRate, ...], already: Usage
) -> None:
    rated = rate_usage(rates, already, Usage())
    assert rated.charge_micros == 0
    assert all(line.quantity == 0 and line.allowance_consumed == 0 for line in rated.lines)


def test_each_rate_reads_its_own_meter() -> None:
    rates = [
        UsageRate.flat(Meter.SECONDS, SECOND, 1),
        UsageRate.flat(Meter.OCTETS_IN, SECOND, 10),
        UsageRate.flat(Meter.OCTETS_OUT, SECOND, 100),
        UsageRate.flat(Meter.OCTETS_TOTAL, SECOND, 1_000),
        UsageRate.flat(Meter.SECONDS, SECOND, 10_000, band="peak"),
    ]
    rated = rate_usage(rates, Usage(), Usage(seconds=5, octets_in=3, octets_out=2, band_seconds={"peak": 4}))
    assert [line.charge_micros for line in rated.lines] == [5, 30, 200, 5_000, 40_000]
    assert rated.charge_micros == 45_235
    assert isinstance(rated, Rated)
    assert rated.allowance_consumed(Meter.OCTETS_IN) == 0
    assert rated.allowance_consumed(Meter.SECONDS, "off-peak") == 0


# --- affordability (prepaid Session-Timeout) ------------------------------------------


@given(usage_rates(), quantities, st.integers(0, 10**9))
def test_the_affordable_quantity_is_the_most_the_budget_pays_for(rate: UsageRate, already: int, budget: int) -> None:
    amount = affordable_quantity(rate, already, budget)
    base = cumulative_charge(rate, already)

    def cost(extra: int) -> int:
        return reference_charge(rate, already + extra) - base

    assert cost(amount) <= budget
    if amount < MAX_QUANTITY - already:
        assert cost(amount + 1) > budget


def test_ten_dollars_buy_alice_eight_hours_and_twenty_minutes() -> None:
    assert affordable_quantity(PREPAID_HOURLY, 0, 10_000_000) == 30_000
    assert affordable_quantity(UsageRate.flat(Meter.SECONDS, HOUR, 0), 5, 1) == MAX_QUANTITY - 5


# --- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: cumulative_charge(PREPAID_HOURLY, 1.0), InvalidUsage, r"quantity must be a whole number"),
        (lambda: cumulative_charge(PREPAID_HOURLY, True), InvalidUsage, r"quantity must be a whole number"),
        (lambda: cumulative_charge(PREPAID_HOURLY, -1), InvalidUsage, r"quantity must be at least 0, got -1"),
        (lambda: Usage(seconds=1.5), InvalidUsage, r"seconds must be a whole number \(int\), got 1.5"),
        (lambda: Usage(octets_in=-1), InvalidUsage, r"octets_in must be at least 0"),
        (lambda: Usage(octets_out=2.0), InvalidUsage, r"octets_out must be a whole number"),
        (lambda: Usage(band_seconds={"peak": 1.0}), InvalidUsage, r"seconds of band 'peak' must be a whole number"),
        (lambda: Usage(band_seconds={"": 1}), InvalidUsage, r"band name must be text"),
        (lambda: Usage(band_seconds=[("peak", 1)]), InvalidUsage, r"band_seconds must map band names to seconds"),
        (
            lambda: Usage(octets_in=MAX_QUANTITY, octets_out=1),
            InvalidUsage,
            r"octets_in \+ octets_out must be at most",
        ),
        (lambda: affordable_quantity(PREPAID_HOURLY, 0, 1.0), InvalidUsage, r"budget_micros must be a whole number"),
        (lambda: rate_usage(PREPAID_HOURLY, Usage(), Usage()), InvalidTariff, r"rates must be a sequence"),
        (lambda: rate_usage(["x"], Usage(), Usage()), InvalidTariff, r"rates must be UsageRate values"),
        (lambda: rate_usage([], Usage(), {"seconds": 1}), InvalidUsage, r"usage must be given as Usage values"),
        (
            lambda: rate_usage([PREPAID_DATA, DSL_10], Usage(), Usage()),
            InvalidTariff,
            r"two usage rates count octets_total; a plan version has one per meter",
        ),
        (
            lambda: rate_usage([PREPAID_HOURLY] * (MAX_RATES + 1), Usage(), Usage()),
            InvalidTariff,
            r"at most 32 usage rates",
        ),
        (
            lambda: cumulative_charge(UsageRate.flat(Meter.SECONDS, SECOND, MAX_ABS_MICROS), 2),
            InvalidUsage,
            r"out of range",
        ),
        (lambda: Usage(seconds=1).quantity(Meter.OCTETS_IN, "peak"), InvalidUsage, r"only the seconds meter"),
    ],
)
def test_floats_and_other_bad_input_are_refused_with_the_reason(
    call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_usage_adds_up_per_meter_and_band_and_drops_empty_bands() -> None:
    total = Usage(1, 2, 3, {"peak": 4}) + Usage(10, 20, 30, {"peak": 1, "off-peak": 5})
    assert total == Usage(11, 22, 33, {"off-peak": 5, "peak": 5})
    assert Usage(band_seconds={"peak": 0}) == Usage()
    assert total.quantity(Meter.OCTETS_TOTAL) == 55
