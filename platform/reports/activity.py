"""Active sessions now: live RADIUS sessions counted by NAS and by plan, in one query.

A session is active while it is live (`authorized`: accepted, Accounting-Start not yet
seen, or `open`), the states `platform.sessions.control.LIVE` names. The plan is the one
the session was authorized on (`radius_sessions.plan_id`). A NAS is known here by its id
only: the NAS registry is shared by all tenants and is not read from a tenant's report.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from ..catalog.tables import plans
from ..sessions.control import LIVE
from ..sessions.tables import radius_sessions
from ..subscribers.tables import customers, services


@dataclass(frozen=True, slots=True)
class SessionCount:
    key: str
    label: str
    sessions: int


@dataclass(frozen=True, slots=True)
class ActiveSessions:
    total: int
    by_nas: tuple[SessionCount, ...]
    by_plan: tuple[SessionCount, ...]


async def active_sessions(conn: AsyncConnection, *, within: frozenset[int] | None = None) -> ActiveSessions:
    """Live sessions by NAS, by plan and in total; `within`: only customers of these resellers."""
    nas, code, name = radius_sessions.c.nas_id, plans.c.code, plans.c.name
    query = (
        select(
            nas,
            code,
            name,
            func.grouping(nas).label("no_nas"),
            func.grouping(code).label("no_plan"),
            func.count().label("sessions"),
        )
        .select_from(
            radius_sessions.join(plans, plans.c.id == radius_sessions.c.plan_id)
            .join(services, services.c.id == radius_sessions.c.service_id)
            .join(customers, customers.c.id == services.c.customer_id)
        )
        .where(radius_sessions.c.state.in_(LIVE))
        .group_by(func.grouping_sets(tuple_(nas), tuple_(code, name), tuple_()))
        .order_by(nas, code)
    )
    if within is not None:
        query = query.where(customers.c.reseller_id.in_(sorted(within)))
    total, by_nas, by_plan = 0, [], []
    for row in await conn.execute(query):
        if row.no_nas and row.no_plan:
            total = row.sessions
        elif row.no_plan:
            by_nas.append(SessionCount(str(row.nas_id), f"NAS {row.nas_id}", row.sessions))
        else:
            by_plan.append(SessionCount(row.code, row.name, row.sessions))
    return ActiveSessions(total=total, by_nas=tuple(by_nas), by_plan=tuple(by_plan))
