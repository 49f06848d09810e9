"""Proration of recurring charges by day: mid-period starts, changes and cancellations.

A recurring charge of `amount_micros` covers the period [period_start, period_end) of
whole days (end exclusive). A service active for [active_from, active_to) of it pays

    share(active_to) - share(active_from),  share(d) = round(amount * days(start, d) / days(period))

with `round` half-even to the micro-unit: the same telescoping as usage rating. So:

- the full period costs exactly `amount_micros`;
- the pieces of a period split at any day boundaries (a start, plan changes, a
  cancellation) add up to exactly `amount_micros`, however many pieces there are;
- each piece is within one micro-unit of its exact pro-rata value
  (|piece - amount * days / period_days| <= 1; two roundings of at most 1/2 each).

Two pieces of the same length may differ by a micro-unit depending on where in the
period they fall; that is the price of pieces that always add up.
"""

from __future__ import annotations

from datetime import date, datetime

from bureau.platform.money import MAX_ABS_MICROS

from .errors import InvalidUsage, require_int
from .exact import divide_half_even

MAX_PERIOD_DAYS = 3_660  # ten years; a recurring period is a month, a quarter or a year


def _require_date(value: object, what: str) -> date:
    # datetime is a date subclass; a time of day would be silently dropped.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidUsage(f"{what} must be a date (not a datetime), got {value!r}")
    return value


def prorate(amount_micros: int, period_start: date, period_end: date, active_from: date, active_to: date) -> int:
    """The part of `amount_micros` for the days of [active_from, active_to) in the period.

    Both ranges are half-open: `period_end` and `active_to` are the first days not
    included. Activity outside the period is ignored; none inside it prorates to 0.
    Negative amounts (credits) round symmetrically.
    """
    amount = require_int(amount_micros, "amount_micros", minimum=-MAX_ABS_MICROS, maximum=MAX_ABS_MICROS)
    start = _require_date(period_start, "period_start")
    end = _require_date(period_end, "period_end")
    active_start = _require_date(active_from, "active_from")
    active_end = _require_date(active_to, "active_to")
    period_days = (end - start).days
    if not 1 <= period_days <= MAX_PERIOD_DAYS:
        raise InvalidUsage(
            f"a period runs from its first day to the day after its last, 1 to {MAX_PERIOD_DAYS} days; "
            f"got {start.isoformat()} to {end.isoformat()}"
        )
    if active_end < active_start:
        raise InvalidUsage(f"active_to ({active_end.isoformat()}) is before active_from ({active_start.isoformat()})")
    low = min(max(active_start, start), end)
    high = min(max(active_end, start), end)

    def share(day: date) -> int:
        return divide_half_even(amount * (day - start).days, period_days)

    return share(high) - share(low)
