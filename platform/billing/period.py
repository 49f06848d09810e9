"""Billing periods: calendar months in UTC, half-open like everything in rating.

A period is named "YYYY-MM" and runs from the first day of that month to the first day
of the next (`end` is the first day not covered). A bill run covers a period only once
it is over: usage can still arrive for a month that has not ended, and an invoice that
missed it could never be reissued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from .errors import InvalidPeriod

_NAME = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # first day
    end: date  # first day not covered

    @property
    def name(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.end, time(), UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        return month_of(date.fromordinal(self.start.toordinal() - 1))


def month_of(day: date) -> Period:
    """The calendar month containing `day`."""
    start = date(day.year, day.month, 1)
    end = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
    return Period(start, end)


def parse_period(text: object) -> Period:
    """ "2026-11" → November 2026; anything else is refused with the expected form."""
    match = _NAME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidPeriod(f"a billing period is written YYYY-MM, such as 2026-11; got {text!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 2000:
        raise InvalidPeriod(f"{text!r} is not a month from 2000-01 on (YYYY-MM)")
    return month_of(date(year, month, 1))


def last_closed(now: datetime) -> Period:
    """The latest period that is over at `now`."""
    return month_of(now.astimezone(UTC).date()).previous()


def require_closed(period: Period, now: datetime) -> None:
    if period.ends_at > now:
        raise InvalidPeriod(
            f"period {period.name} ends at {period.ends_at.isoformat()}, which is still ahead; a bill run covers "
            f"whole periods only, and the latest one that is over is {last_closed(now).name}"
        )
