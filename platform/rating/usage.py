"""Usage: what a subscriber consumed, by meter, as whole seconds and octets.

Quantities are cumulative within a billing period when they describe what was already
rated ("already"), and increments when they describe new usage. Directions follow
RADIUS accounting as seen by the NAS: `octets_in` is Acct-Input-Octets, what the
subscriber sent (upload); `octets_out` is Acct-Output-Octets, what the subscriber
received (download). A 64-bit counter with Gigawords is decoded before it gets here.

Time-of-day plans rate each daily band as its own meter: `band_seconds` holds the
session seconds per band name (see `timeofday.py`). They are kept beside `seconds`, not
instead of it, so that a plan without bands and one with bands read the same usage.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import InvalidUsage, RatingError, require_int

MAX_BANDS = 24  # distinct time-of-day bands one usage may carry
MAX_BAND_NAME_LENGTH = 40


class Meter(enum.StrEnum):
    """What a usage rate counts. Base units: seconds for time, octets for volume."""

    SECONDS = "seconds"
    OCTETS_IN = "octets_in"
    OCTETS_OUT = "octets_out"
    OCTETS_TOTAL = "octets_total"  # in + out, for plans that price volume both ways


def require_band_name(name: object, error: type[RatingError]) -> str:
    """A band name is a non-empty string of at most MAX_BAND_NAME_LENGTH characters."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_BAND_NAME_LENGTH:
        raise error(f"a time-of-day band name must be text of 1 to {MAX_BAND_NAME_LENGTH} characters, got {name!r}")
    return name


@dataclass(frozen=True, slots=True)
class Usage:
    """Whole seconds and octets; every quantity an int in [0, MAX_QUANTITY].

    `band_seconds` maps a time-of-day band name to its seconds; bands with zero seconds
    are dropped, so `Usage(band_seconds={"peak": 0}) == Usage()`. Not hashable.
    """

    seconds: int = 0
    octets_in: int = 0
    octets_out: int = 0
    band_seconds: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_int(self.seconds, "seconds", error=InvalidUsage)
        require_int(self.octets_in, "octets_in", error=InvalidUsage)
        require_int(self.octets_out, "octets_out", error=InvalidUsage)
        require_int(self.octets_in + self.octets_out, "octets_in + octets_out", error=InvalidUsage)
        if not isinstance(self.band_seconds, Mapping):
            raise InvalidUsage(f"band_seconds must map band names to seconds, got {self.band_seconds!r}")
        if len(self.band_seconds) > MAX_BANDS:
            raise InvalidUsage(f"at most {MAX_BANDS} time-of-day bands, got {len(self.band_seconds)}")
        bands: dict[str, int] = {}
        for name, seconds in sorted(self.band_seconds.items()):
            require_band_name(name, InvalidUsage)
            if require_int(seconds, f"seconds of band {name!r}", error=InvalidUsage):
                bands[name] = seconds
        object.__setattr__(self, "band_seconds", MappingProxyType(bands))

    def quantity(self, meter: Meter, band: str | None = None) -> int:
        """The quantity a rate on `meter` (and time-of-day `band`, if any) counts."""
        if band is not None:
            if meter is not Meter.SECONDS:
                raise InvalidUsage(f"only the seconds meter has time-of-day bands, not {meter.value}")
            return self.band_seconds.get(band, 0)
        match meter:
            case Meter.SECONDS:
                return self.seconds
            case Meter.OCTETS_IN:
                return self.octets_in
            case Meter.OCTETS_OUT:
                return self.octets_out
            case Meter.OCTETS_TOTAL:
                return self.octets_in + self.octets_out
        raise InvalidUsage(f"unknown meter {meter!r}; use one of {', '.join(m.value for m in Meter)}")

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        bands = dict(self.band_seconds)
        for name, seconds in other.band_seconds.items():
            bands[name] = bands.get(name, 0) + seconds
        return Usage(
            seconds=self.seconds + other.seconds,
            octets_in=self.octets_in + other.octets_in,
            octets_out=self.octets_out + other.octets_out,
            band_seconds=bands,
        )
