"""The period a report covers, and the refusal of one it cannot cover.

A window is a half-open range of days [start, end): `end` is the first day not counted,
so consecutive windows (Sep 1-Oct 1, Oct 1-Nov 1) never count a day twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

MAX_DAYS = 366  # a year, leap day included: a report is one GROUP BY, and this bounds its scan


class InvalidReport(ValueError):
    """A report's parameters were wrong; `field` names the argument (`from`, `to`, `top`...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        """The first instant counted (midnight UTC of `start`)."""
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant not counted (midnight UTC of `end`)."""
        return datetime.combine(self.end, time(), tzinfo=UTC)


def window(start: date, end: date) -> Window:
    """The window [start, end); InvalidReport unless start < end and it spans at most MAX_DAYS."""
    if end <= start:
        raise InvalidReport("to", f"'to' ({end.isoformat()}) must be after 'from' ({start.isoformat()})")
    days = (end - start).days
    if days > MAX_DAYS:
        raise InvalidReport("to", f"a report covers at most {MAX_DAYS} days; from {start} to {end} is {days} days")
    return Window(start, end)
