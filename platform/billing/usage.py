"""Post-paid usage: what a service consumed, kept per source for the bill run.

A usage record is one source's usage (an accounting session, a line of an import) at an
instant: whole seconds, octets in and out, and seconds per time-of-day band. Recording
is idempotent on (service, source): the same source sent again with the same figures
is a no-op, and with different figures it is refused rather than double-counted or
silently replaced. The bill run sums a period's records per plan stretch of a service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.rating.errors import RatingError
from bureau.platform.rating.usage import Usage

from ..subscribers.tables import services
from .errors import InvalidUsageRecord
from .period import Period
from .tables import usage_records

MAX_SOURCE_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Recorded:
    id: int
    replayed: bool


def _figures(usage: Usage) -> dict[str, object]:
    return {
        "seconds": usage.seconds,
        "octets_in": usage.octets_in,
        "octets_out": usage.octets_out,
        "band_seconds": dict(usage.band_seconds),
    }


def usage_of(seconds: int, octets_in: int, octets_out: int, bands: Mapping[str, int]) -> Usage:
    try:
        return Usage(seconds, octets_in, octets_out, bands)
    except RatingError as exc:
        raise InvalidUsageRecord(str(exc)) from None


async def record_usage(
    conn: AsyncConnection, service_id: int, *, source: str, started_at: datetime, usage: Usage
) -> Recorded:
    """Keep `usage` of `service_id` from `source` at `started_at` (see module docstring)."""
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE_LENGTH:
        raise InvalidUsageRecord(f"a usage source must be 1 to {MAX_SOURCE_LENGTH} characters, got {source!r}")
    if not isinstance(started_at, datetime) or started_at.tzinfo is None:
        raise InvalidUsageRecord(f"started_at must be a datetime with a time zone, got {started_at!r}")
    if not isinstance(usage, Usage):
        raise InvalidUsageRecord(f"usage must be a Usage, got {usage!r}")
    exists = (await conn.execute(select(services.c.id).where(services.c.id == service_id))).first()
    if exists is None:
        raise InvalidUsageRecord(f"no service has id {service_id}")
    figures = _figures(usage)
    row = (
        await conn.execute(
            pg_insert(usage_records)
            .values(service_id=service_id, source=source, started_at=started_at, **figures)
            .on_conflict_do_nothing(constraint="uq_usage_records_source")
            .returning(usage_records.c.id)
        )
    ).first()
    if row is not None:
        return Recorded(row.id, replayed=False)
    old = (
        await conn.execute(
            select(usage_records).where(usage_records.c.service_id == service_id, usage_records.c.source == source)
        )
    ).one()
    before = {name: old._mapping[name] for name in figures} | {"started_at": old.started_at}
    if before != figures | {"started_at": started_at}:
        raise InvalidUsageRecord(
            f"usage from source {source!r} of service {service_id} was recorded with other figures "
            f"({before}); a record is never replaced: correct it with a credit note or an adjustment"
        )
    return Recorded(old.id, replayed=True)


@dataclass(frozen=True, slots=True)
class ServiceUsage:
    """A service's usage records that started in a period, summed."""

    service_id: int
    login: str
    seconds: int
    octets_in: int
    octets_out: int
    records: int


async def usage_in_period(conn: AsyncConnection, customer_id: int, period: Period) -> list[ServiceUsage]:
    """Every service of the customer with its usage records started in `period`, summed
    (a service with none shows zeros); by service id."""
    inside = and_(
        usage_records.c.service_id == services.c.id,
        usage_records.c.started_at >= period.starts_at,
        usage_records.c.started_at < period.ends_at,
    )
    rows = await conn.execute(
        select(
            services.c.id,
            services.c.login,
            func.coalesce(func.sum(usage_records.c.seconds), 0),
            func.coalesce(func.sum(usage_records.c.octets_in), 0),
            func.coalesce(func.sum(usage_records.c.octets_out), 0),
            func.count(usage_records.c.id),
        )
        .select_from(services.outerjoin(usage_records, inside))
        .where(services.c.customer_id == customer_id)
        .group_by(services.c.id)
        .order_by(services.c.id)
    )
    return [ServiceUsage(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]
