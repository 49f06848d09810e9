"""Usage rates are validated on construction, with errors that say what was wrong."""

from __future__ import annotations

from typing import Any

import pytest

from bureau.platform.rating.errors import MAX_QUANTITY, InvalidTariff, RatingError
from bureau.platform.rating.tariff import (
    GIGABYTE,
    HOUR,
    KILOBYTE,
    MAX_TIERS,
    MEGABYTE,
    MINUTE,
    SECOND,
    TERABYTE,
    Tier,
    UsageRate,
)
from bureau.platform.rating.usage import Meter


def test_priced_units_are_seconds_and_si_octets() -> None:
    assert (SECOND, MINUTE, HOUR) == (1, 60, 3_600)
    assert (KILOBYTE, MEGABYTE, GIGABYTE, TERABYTE) == (1_000, 1_000_000, 1_000_000_000, 10**12)


def test_a_flat_rate_is_one_tier_from_zero() -> None:
    rate = UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000, allowance=10 * GIGABYTE)
    assert rate.tiers == (Tier(0, 10_000_000),)
    assert rate.allowance == 10 * GIGABYTE
    assert rate.increment == 1
    assert rate.key == (Meter.OCTETS_TOTAL, None)


def test_tiers_given_as_a_list_are_kept_as_a_tuple() -> None:
    rate = UsageRate(Meter.SECONDS, HOUR, [Tier(0, 2_000_000), Tier(3_600, 1_000_000)])  # type: ignore[arg-type]
    assert rate.tiers == (Tier(0, 2_000_000), Tier(3_600, 1_000_000))
    with pytest.raises(AttributeError):
        rate.allowance = 5  # type: ignore[misc]


def test_rating_errors_are_value_errors() -> None:
    assert issubclass(InvalidTariff, RatingError)
    assert issubclass(RatingError, ValueError)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Tier(0, 1.5), r"price_micros must be a whole number \(int\), got 1.5 of type float"),
        (lambda: Tier(0.0, 1), r"start must be a whole number \(int\), got 0.0 of type float"),
        (lambda: Tier(0, True), r"price_micros must be a whole number \(int\), got True of type bool"),
        (lambda: Tier(-1, 1), r"start must be at least 0, got -1"),
        (lambda: Tier(0, -10), r"price_micros must be at least 0, got -10"),
        (lambda: Tier(MAX_QUANTITY + 1, 1), r"start must be at most"),
        (lambda: Tier(0, "10.00"), r"price_micros must be a whole number"),
        (lambda: UsageRate.flat(Meter.SECONDS, 3600.0, 1), r"unit_size .* must be a whole number"),
        (lambda: UsageRate.flat(Meter.SECONDS, 0, 1), r"unit_size .* must be at least 1, got 0"),
        (lambda: UsageRate.flat(Meter.SECONDS, HOUR, 1, allowance=1.0), r"allowance must be a whole number"),
        (lambda: UsageRate.flat(Meter.SECONDS, HOUR, 1, allowance=-1), r"allowance must be at least 0"),
        (lambda: UsageRate.flat(Meter.SECONDS, HOUR, 1, increment=0), r"increment must be at least 1, got 0"),
        (lambda: UsageRate.flat(Meter.SECONDS, HOUR, 1, increment=60.0), r"increment must be a whole number"),
        (lambda: UsageRate.flat(Meter.SECONDS, HOUR, 1, increment=False), r"increment must be a whole number"),
        (lambda: UsageRate.flat("seconds", HOUR, 1), r"meter must be one of 'seconds', 'octets_in'"),
        (lambda: UsageRate.flat(Meter.OCTETS_IN, GIGABYTE, 1, band="peak"), r"seconds meter only, not octets_in"),
        (lambda: UsageRate.flat(Meter.SECONDS, HOUR, 1, band=""), r"band name must be text"),
        (lambda: UsageRate(Meter.SECONDS, HOUR, ()), r"needs 1 to 16 tiers, got 0"),
        (lambda: UsageRate(Meter.SECONDS, HOUR, Tier(0, 1)), r"tiers must be a sequence of Tier"),
        (lambda: UsageRate(Meter.SECONDS, HOUR, ((0, 1),)), r"tiers must be Tier values, got \(0, 1\)"),
        (lambda: UsageRate(Meter.SECONDS, HOUR, (Tier(60, 1),)), r"first tier must start at 0, got 60; use `allow"),
        (
            lambda: UsageRate(Meter.SECONDS, HOUR, (Tier(0, 2), Tier(600, 1), Tier(600, 0))),
            r"tier starts must increase: 600 follows 600",
        ),
        (
            lambda: UsageRate(Meter.SECONDS, HOUR, (Tier(0, 2), Tier(600, 1), Tier(300, 0))),
            r"tier starts must increase: 300 follows 600",
        ),
        (
            lambda: UsageRate(Meter.SECONDS, HOUR, tuple(Tier(i, 1) for i in range(MAX_TIERS + 1))),
            r"needs 1 to 16 tiers, got 17",
        ),
    ],
)
def test_a_malformed_rate_is_refused_with_the_reason(build: Any, message: str) -> None:
    with pytest.raises(InvalidTariff, match=message):
        build()
