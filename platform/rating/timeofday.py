"""Time-of-day bands: split a session interval into seconds per daily band.

A plan may price session time differently by local time of day ("peak 08:00-20:00,
off-peak otherwise", in the tenant's time zone). Each band is then rated as a meter of
its own (`UsageRate(band=...)`), from the seconds `split_by_band` assigns to it.

Every real (UTC) second of [start, end) belongs to the band in force at the local wall
time when that second begins. So the seconds always add up to the interval's length,
across midnight and across DST changes: a spring-forward night has an hour less of
whichever band covers 02:00-03:00 and a fall-back night an hour more. Boundaries are
whole seconds of wall time; start and end must be aware datetimes on whole seconds (RADIUS
timestamps are). Lengths are always real seconds: beware that Python subtracts two
datetimes of the *same* tzinfo by wall clock, so compute `end - start` in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidTariff, InvalidUsage
from .usage import MAX_BANDS, Usage, require_band_name

SECONDS_PER_DAY = 86_400
MAX_BAND_CHANGES = 48
MAX_INTERVAL_S = 400 * SECONDS_PER_DAY  # longer intervals are split by the caller
# Offsets are assumed to change at most once per step; tzdata never has two changes this close.
MAX_STEP_S = 6 * 3_600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class BandChange:
    """From local wall time `at` (whole seconds, no tzinfo) on, the band is `band`."""

    at: time
    band: str

    def __post_init__(self) -> None:
        if not isinstance(self.at, time):
            raise InvalidTariff(f"a band change is at a time of day such as time(8, 0), got {self.at!r}")
        if self.at.tzinfo is not None or self.at.microsecond:
            raise InvalidTariff(f"a band change is at a whole-second wall time without a time zone, got {self.at!r}")
        require_band_name(self.band, InvalidTariff)

    @property
    def second_of_day(self) -> int:
        return self.at.hour * 3_600 + self.at.minute * 60 + self.at.second


@dataclass(frozen=True, slots=True)
class BandSchedule:
    """Daily bands in time zone `zone` (an IANA name such as "Europe/Berlin").

    `changes` in increasing time order; the last band runs on past midnight until the
    first change, so peak/off-peak is `(BandChange(time(8), "peak"),
    BandChange(time(20), "off-peak"))`.
    """

    zone: str
    changes: tuple[BandChange, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.zone, str):
            raise InvalidTariff(f"zone must be an IANA time zone name such as 'Europe/Berlin', got {self.zone!r}")
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidTariff(f"unknown time zone {self.zone!r}; use an IANA name such as 'Europe/Berlin'") from error
        if isinstance(self.changes, BandChange) or not isinstance(self.changes, Sequence):
            raise InvalidTariff(f"changes must be a sequence of BandChange, got {self.changes!r}")
        changes = tuple(self.changes)
        if not 1 <= len(changes) <= MAX_BAND_CHANGES:
            raise InvalidTariff(f"a band schedule needs 1 to {MAX_BAND_CHANGES} changes, got {len(changes)}")
        for change in changes:
            if not isinstance(change, BandChange):
                raise InvalidTariff(f"changes must be BandChange values, got {change!r}")
        for before, after in pairwise(changes):
            if after.at <= before.at:
                raise InvalidTariff(f"band changes must be in increasing time order: {after.at} follows {before.at}")
        if len({change.band for change in changes}) > MAX_BANDS:
            raise InvalidTariff(f"at most {MAX_BANDS} distinct bands in a schedule")
        object.__setattr__(self, "changes", changes)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def bands(self) -> tuple[str, ...]:
        """The band names, each once, in order of first appearance."""
        return tuple(dict.fromkeys(change.band for change in self.changes))

    def band_at(self, second_of_day: int) -> tuple[str, int]:
        """The band at a wall-clock second of the day, and the wall seconds until it may change."""
        starts = [change.second_of_day for change in self.changes]
        later = [index for index, start in enumerate(starts) if start > second_of_day]
        if later:
            following = later[0]
            return self.changes[following - 1].band, starts[following] - second_of_day
        # After the last change: its band runs past midnight until the first change.
        return self.changes[-1].band, SECONDS_PER_DAY - second_of_day + starts[0]


def _whole_second_instant(value: object, what: str) -> int:
    if not isinstance(value, datetime):
        raise InvalidUsage(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidUsage(f"{what} must be an aware datetime (with a time zone), got {value!r}")
    if value.microsecond:
        raise InvalidUsage(f"{what} must be on a whole second, got {value.isoformat()}")
    return (value - _EPOCH) // _ONE_SECOND


def split_by_band(schedule: BandSchedule, start: datetime, end: datetime) -> dict[str, int]:
    """Seconds of [start, end) in each band of `schedule`; every band is a key.

    The values add up to exactly `(end - start)` in seconds.
    """
    first = _whole_second_instant(start, "start")
    last = _whole_second_instant(end, "end")
    if last < first:
        raise InvalidUsage(f"the interval ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if last - first > MAX_INTERVAL_S:
        raise InvalidUsage(f"an interval may be at most {MAX_INTERVAL_S} s long; split it, got {last - first} s")
    zone = schedule.tz
    seconds = dict.fromkeys(schedule.bands, 0)

    def local(instant: int) -> datetime:
        return (_EPOCH + timedelta(seconds=instant)).astimezone(zone)

    now = first
    while now < last:
        wall = local(now)
        offset = wall.utcoffset()
        band, wall_s = schedule.band_at(wall.hour * 3_600 + wall.minute * 60 + wall.second)
        stop = min(last, now + wall_s, now + MAX_STEP_S)
        if local(stop - 1).utcoffset() != offset:
            # The offset changes inside (now, stop): wall time jumps there, so the band is
            # only known up to the change. Find its first second by bisection.
            same, changed = now, stop - 1
            while changed - same > 1:
                middle = (same + changed) // 2
                if local(middle).utcoffset() == offset:
                    same = middle
                else:
                    changed = middle
            stop = changed
        seconds[band] += stop - now
        now = stop
    return seconds


def band_usage(schedule: BandSchedule, start: datetime, end: datetime) -> Usage:
    """The session seconds of [start, end), in total and per band, as a `Usage`."""
    seconds = split_by_band(schedule, start, end)
    return Usage(seconds=sum(seconds.values()), band_seconds=seconds)
