"""Usage rates of a plan version: meter, priced unit, increment, allowance and tiers.

Units. A rate counts a meter in its base unit (seconds, or octets) and prices a
*priced unit* of `unit_size` base units: per second/minute/hour are 1/60/3600 s; per
kB/MB/GB are 10**3/10**6/10**9 octets. Volume units are SI (decimal), as ISPs sell
them and as RADIUS counts octets; they are not 2**20 / 2**30. Prices are integer
micro-units per priced unit, so "1.20 per hour" is `price_micros=1_200_000,
unit_size=HOUR`, rated to the second without a fractional price ever existing.

Quantities. Everything is positioned on the period's *cumulative* quantity of the meter
(the usage since the billing period began):

- `increment`: the cumulative quantity is rounded up to a multiple of it before
  pricing ("charged in 60 s blocks": the 61st second of the period starts a second
  block, and the next session first uses up what is left of that block).
- `allowance`: the first `allowance` base units of the period are included (free).
- `tiers`: graduated prices. `Tier(start, price_micros)` prices each unit from
  position `start` until the next tier's start. The first tier starts at 0; the
  allowance is applied on top, whatever tier it covers. "First 10 GB included, then
  10.00 per GB" is `allowance=10 * GIGABYTE, tiers=(Tier(0, 10_000_000),)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from bureau.platform.money import MAX_ABS_MICROS

from .errors import InvalidTariff, require_int
from .usage import Meter, require_band_name

SECOND = 1
MINUTE = 60
HOUR = 3_600
KILOBYTE = 10**3  # SI: octets
MEGABYTE = 10**6
GIGABYTE = 10**9
TERABYTE = 10**12

MAX_TIERS = 16
MAX_PRICE_MICROS = MAX_ABS_MICROS


@dataclass(frozen=True, slots=True)
class Tier:
    """From cumulative quantity `start` (base units) on, `price_micros` per priced unit."""

    start: int
    price_micros: int

    def __post_init__(self) -> None:
        require_int(self.start, "a tier's start")
        require_int(self.price_micros, "a tier's price_micros", maximum=MAX_PRICE_MICROS)


@dataclass(frozen=True, slots=True)
class UsageRate:
    """How one meter of a plan version is charged; see the module docstring.

    `band` names a time-of-day band and is only allowed on the seconds meter: the rate
    then counts the seconds spent in that band, as a meter of its own.
    """

    meter: Meter
    unit_size: int
    tiers: tuple[Tier, ...]
    allowance: int = 0
    increment: int = 1
    band: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.meter, Meter):
            raise InvalidTariff(
                f"meter must be one of {', '.join(repr(m.value) for m in Meter)} (a Meter), got {self.meter!r}"
            )
        require_int(self.unit_size, "unit_size (base units per priced unit)", minimum=1)
        require_int(self.allowance, "allowance")
        require_int(self.increment, "increment", minimum=1)
        if self.band is not None:
            require_band_name(self.band, InvalidTariff)
            if self.meter is not Meter.SECONDS:
                raise InvalidTariff(f"a time-of-day band applies to the seconds meter only, not {self.meter.value}")
        if isinstance(self.tiers, Tier) or not isinstance(self.tiers, Sequence):
            raise InvalidTariff(f"tiers must be a sequence of Tier, got {self.tiers!r}")
        tiers = tuple(self.tiers)
        if not 1 <= len(tiers) <= MAX_TIERS:
            raise InvalidTariff(f"a rate needs 1 to {MAX_TIERS} tiers, got {len(tiers)}")
        for tier in tiers:
            if not isinstance(tier, Tier):
                raise InvalidTariff(f"tiers must be Tier values, got {tier!r}")
        if tiers[0].start != 0:
            raise InvalidTariff(
                f"the first tier must start at 0, got {tiers[0].start}; use `allowance` for included usage"
            )
        for before, after in pairwise(tiers):
            if after.start <= before.start:
                raise InvalidTariff(
                    f"tier starts must increase: {after.start} follows {before.start}; list tiers in order, once each"
                )
        object.__setattr__(self, "tiers", tiers)

    @classmethod
    def flat(
        cls,
        meter: Meter,
        unit_size: int,
        price_micros: int,
        *,
        allowance: int = 0,
        increment: int = 1,
        band: str | None = None,
    ) -> UsageRate:
        """One price for every unit beyond the allowance."""
        return cls(meter, unit_size, (Tier(0, price_micros),), allowance, increment, band)

    @property
    def key(self) -> tuple[Meter, str | None]:
        """What the rate counts; a plan version has at most one rate per key."""
        return (self.meter, self.band)
