"""When a service was billable, and on which plan: the service's billing history.

A service is billable while it is active or suspended (a suspension for non-payment does
not stop the recurring charge). Each stretch on one plan is a row of `service_periods`:
activation opens one, cancellation closes it, a plan change closes one and opens the
next at the same instant. The bill run prorates recurring charges from these rows.

Changes may be backdated (`at`), as an operator recording yesterday's cancellation
would, but never before the service's latest recorded change nor into the future: the
history only grows forward, so an invoice already issued never disagrees with it about
the days it covered.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..billing.tables import invoices
from .errors import InvalidSubscriberValue
from .tables import service_periods, services


def _instant(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidSubscriberValue(f"a change time must be a datetime with a time zone, got {at!r}")
    if at > now:
        raise InvalidSubscriberValue(f"a change cannot take effect in the future ({at.isoformat()}); record it then")
    return at


async def change_time(conn: AsyncConnection, service_id: int, at: datetime | None) -> datetime:
    """`at` (or now), checked to be no earlier than the service's latest recorded change."""
    now = datetime.now(UTC)
    when = _instant(at, now)
    latest = (
        await conn.execute(
            select(func.max(func.greatest(service_periods.c.started_at, service_periods.c.ended_at))).where(
                service_periods.c.service_id == service_id
            )
        )
    ).scalar_one()
    if latest is not None and when < latest:
        raise InvalidSubscriberValue(
            f"service {service_id} last changed at {latest.isoformat()}; a change cannot be dated before that "
            f"({when.isoformat()})"
        )
    if at is not None:  # backdated: not into a month this customer was already invoiced for
        billed = (
            await conn.execute(
                select(func.max(invoices.c.period_end))
                .join(services, services.c.customer_id == invoices.c.customer_id)
                .where(services.c.id == service_id)
            )
        ).scalar_one()
        if billed is not None and when < datetime.combine(billed, time(), UTC):
            raise InvalidSubscriberValue(
                f"a change cannot be dated {when.isoformat()}: the customer is invoiced up to {billed.isoformat()}"
            )
    return when


async def open_period(conn: AsyncConnection, service_id: int, plan_id: int, at: datetime) -> None:
    await conn.execute(insert(service_periods).values(service_id=service_id, plan_id=plan_id, started_at=at))


async def close_period(conn: AsyncConnection, service_id: int, at: datetime) -> None:
    await conn.execute(
        update(service_periods)
        .where(service_periods.c.service_id == service_id, service_periods.c.ended_at.is_(None))
        .values(ended_at=at)
    )
