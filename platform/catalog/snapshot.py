"""Every version of every plan at once, for work that prices many subscribers (the bill run)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import plan_versions, plans
from .versions import PlanVersion, plan_version_at


async def all_plan_versions(conn: AsyncConnection) -> dict[int, tuple[PlanVersion, ...]]:
    """Each plan's versions by plan id, in order of `effective_from`.

    A catalog holds tens of plans, so reading each version through `plan_version_at`
    (the one place that turns rows into prices) costs a few milliseconds per run.
    """
    rows = await conn.execute(
        select(plans.c.id, plans.c.code, plan_versions.c.effective_from)
        .join(plan_versions, plan_versions.c.plan_id == plans.c.id)
        .order_by(plans.c.id, plan_versions.c.effective_from)
    )
    found: dict[int, list[PlanVersion]] = {}
    for plan_id, code, effective_from in rows.all():
        found.setdefault(plan_id, []).append(await plan_version_at(conn, code, effective_from))
    return {plan_id: tuple(versions) for plan_id, versions in found.items()}
