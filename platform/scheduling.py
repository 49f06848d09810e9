"""When each tenant's recurring jobs are due, in the tenant's own time zone (pure).

A job is due once per period: every few minutes (reaping stale RADIUS sessions), daily
at a local time (voucher expiry, nightly reconciliation, dunning) or monthly on a day at a local
time (month-end billing). `due_period` names the period a job is due for at an instant,
or None before its first moment; the scheduler records each (job, period) it queued, so
a period is queued once however many schedulers run and however late one runs (a
scheduler down over midnight queues the nightly job when it comes back, once).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_TIME_ZONE_LENGTH = 64


class Every(enum.Enum):
    MINUTES = "minutes"
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Job:
    name: str  # the actor that does it
    every: Every
    at: time = time(0, 0)  # local time of day (DAY, MONTH)
    minutes: int = 0  # period length (MINUTES)
    day: int = 1  # day of the month (MONTH)


JOBS = (
    Job("reap_sessions", Every.MINUTES, minutes=5),
    Job("expire_vouchers", Every.DAY, at=time(0, 15)),
    Job("reconcile_tenant", Every.DAY, at=time(3, 0)),
    Job("bill_month", Every.MONTH, at=time(2, 0), day=1),  # billing.run.BILL_MONTH_ACTOR
    Job("dun_customers", Every.DAY, at=time(9, 0)),  # in office hours: support sees the calls it causes
)


class InvalidTimeZone(ValueError):
    """A time zone name the tz database does not know."""


def time_zone(name: str) -> ZoneInfo:
    """The zone for an IANA name such as "Europe/Berlin"; InvalidTimeZone says what is wrong."""
    if not isinstance(name, str) or not name or len(name) > MAX_TIME_ZONE_LENGTH or ".." in name:
        raise InvalidTimeZone(f"time zone {name!r} is not an IANA time zone name such as Europe/Berlin or UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTimeZone(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC") from None


def due_period(job: Job, now: datetime, zone: ZoneInfo) -> str | None:
    """The period `job` is due for at `now` (aware), in `zone`: "2026-12-02T06:45",
    "2026-12-02" or "2026-12"; None when the current period's moment has not come yet."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    local = now.astimezone(zone)
    if job.every is Every.MINUTES:
        start = local.replace(minute=local.minute - local.minute % job.minutes, second=0, microsecond=0)
        return start.strftime("%Y-%m-%dT%H:%M")
    if job.every is Every.DAY:
        return local.date().isoformat() if local.timetz().replace(tzinfo=None) >= job.at else None
    moment = (local.day, local.time()) >= (job.day, job.at)
    return f"{local.year:04d}-{local.month:02d}" if moment else None
