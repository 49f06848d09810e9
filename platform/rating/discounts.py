"""Volume discounts and quantity price ranges, applied once at the end of a period.

Both look at a period's *total* quantity and then change the price of *every* unit of
it ("over 100 GB in a month: 20% off usage"; "under 10 GB: 12.00 per GB, from 10 GB:
9.00 per GB for all of it"). Such all-units pricing is not monotonic: the 100th GB
makes the period cheaper than the 99th did. So it cannot be charged incrementally as
`charge(total) - charge(already)`: a piece of usage would get a negative charge, and a
prepaid balance would be charged at a price that later turns out wrong. Real-time
rating therefore charges the undiscounted, graduated rates (`charge.py`), which never
undercharge, and the bill run credits the discount computed here from the final totals.

Percentages are basis points (1/100 of a percent; 2_000 = 20 %): integers, no floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

from bureau.platform.money import MAX_ABS_MICROS

from .charge import cumulative_charge
from .errors import InvalidTariff, InvalidUsage, require_int
from .exact import divide_half_even
from .tariff import MAX_PRICE_MICROS, Tier, UsageRate
from .usage import Meter, Usage, require_band_name

BASIS_POINTS = 10_000  # 100 %
MAX_RANGES = 16

_Range = TypeVar("_Range")


def _require_meter(meter: object, band: object) -> None:
    if not isinstance(meter, Meter):
        raise InvalidTariff(f"meter must be one of {', '.join(repr(m.value) for m in Meter)} (a Meter), got {meter!r}")
    if band is not None:
        require_band_name(band, InvalidTariff)
        if meter is not Meter.SECONDS:
            raise InvalidTariff(f"a time-of-day band applies to the seconds meter only, not {meter.value}")


def _require_ranges(ranges: object, kind: type[_Range], what: str) -> tuple[_Range, ...]:
    if isinstance(ranges, kind) or not isinstance(ranges, Sequence):
        raise InvalidTariff(f"{what} must be a sequence of {kind.__name__}, got {ranges!r}")
    checked = tuple(ranges)
    if not 1 <= len(checked) <= MAX_RANGES:
        raise InvalidTariff(f"{what} needs 1 to {MAX_RANGES} ranges, got {len(checked)}")
    for item in checked:
        if not isinstance(item, kind):
            raise InvalidTariff(f"{what} must be {kind.__name__} values, got {item!r}")
    return checked


@dataclass(frozen=True, slots=True)
class DiscountRange:
    """From a period total of `start` base units on, `basis_points` off."""

    start: int
    basis_points: int

    def __post_init__(self) -> None:
        require_int(self.start, "a discount range's start")
        require_int(self.basis_points, "a discount's basis_points (2_000 = 20 %)", maximum=BASIS_POINTS)


@dataclass(frozen=True, slots=True)
class VolumeDiscount:
    """A percentage off a period's usage charge, by the period's total on `meter`.

    The range with the highest `start` not above the total applies; below the first
    range's start there is no discount. "Over 100 GB: 20 % off" is
    `VolumeDiscount(Meter.OCTETS_TOTAL, (DiscountRange(100 * GIGABYTE + 1, 2_000),))`.
    """

    meter: Meter
    ranges: tuple[DiscountRange, ...]
    band: str | None = None

    def __post_init__(self) -> None:
        _require_meter(self.meter, self.band)
        ranges = _require_ranges(self.ranges, DiscountRange, "a volume discount")
        for before, after in pairwise(ranges):
            if after.start <= before.start:
                raise InvalidTariff(f"discount range starts must increase: {after.start} follows {before.start}")
        object.__setattr__(self, "ranges", ranges)

    def basis_points_for(self, quantity: int) -> int:
        """The discount in basis points for a period total of `quantity` base units."""
        require_int(quantity, "quantity", error=InvalidUsage)
        reached = [item.basis_points for item in self.ranges if item.start <= quantity]
        return reached[-1] if reached else 0


def volume_discount(discount: VolumeDiscount, period_usage: Usage, charge_micros: int) -> int:
    """The discount in micro-units (>= 0) on `charge_micros`, a period's usage charge.

    `period_usage` is the period's total usage. Rounded half-even to the micro-unit, so
    the discount never exceeds the charge.
    """
    require_int(charge_micros, "charge_micros", maximum=MAX_ABS_MICROS, error=InvalidUsage)
    basis_points = discount.basis_points_for(period_usage.quantity(discount.meter, discount.band))
    return divide_half_even(charge_micros * basis_points, BASIS_POINTS)


@dataclass(frozen=True, slots=True)
class PriceRange:
    """From a period total of `start` base units on, every unit costs `price_micros`."""

    start: int
    price_micros: int

    def __post_init__(self) -> None:
        require_int(self.start, "a price range's start")
        require_int(self.price_micros, "a price range's price_micros", maximum=MAX_PRICE_MICROS)


@dataclass(frozen=True, slots=True)
class RangePricing:
    """All-units quantity price ranges on `meter`, per `unit_size` base units.

    The first range starts at 0 and prices fall (or stay) from range to range. During
    the period, `realtime_rate()` charges the first range's price; at period end,
    `range_discount` credits the difference to the price of the range the total reached.
    """

    meter: Meter
    unit_size: int
    ranges: tuple[PriceRange, ...]
    band: str | None = None

    def __post_init__(self) -> None:
        _require_meter(self.meter, self.band)
        require_int(self.unit_size, "unit_size (base units per priced unit)", minimum=1)
        ranges = _require_ranges(self.ranges, PriceRange, "range pricing")
        if ranges[0].start != 0:
            raise InvalidTariff(f"the first price range must start at 0, got {ranges[0].start}")
        for before, after in pairwise(ranges):
            if after.start <= before.start:
                raise InvalidTariff(f"price range starts must increase: {after.start} follows {before.start}")
            if after.price_micros > before.price_micros:
                raise InvalidTariff(
                    f"price ranges are volume discounts: the price from {after.start} ({after.price_micros}) "
                    f"must not exceed the one before it ({before.price_micros})"
                )
        object.__setattr__(self, "ranges", ranges)

    def realtime_rate(self) -> UsageRate:
        """The rate charged while the period runs: the first (highest) range's price."""
        return UsageRate(self.meter, self.unit_size, (Tier(0, self.ranges[0].price_micros),), band=self.band)

    def all_units_charge(self, quantity: int) -> int:
        """What a period total of `quantity` costs at its range's price, every unit."""
        require_int(quantity, "quantity", error=InvalidUsage)
        price = [item.price_micros for item in self.ranges if item.start <= quantity][-1]
        return divide_half_even(quantity * price, self.unit_size)


def range_discount(pricing: RangePricing, period_usage: Usage) -> int:
    """The credit in micro-units (>= 0) at period end for all-units range pricing.

    What real-time rating charged for the period's total (`realtime_rate`) minus what
    the total costs at the price of the range it reached.
    """
    quantity = period_usage.quantity(pricing.meter, pricing.band)
    return cumulative_charge(pricing.realtime_rate(), quantity) - pricing.all_units_charge(quantity)
