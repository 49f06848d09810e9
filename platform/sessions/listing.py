"""Open RADIUS sessions a page at a time, for the API (`control.live_sessions` lists them all)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..subscribers.tables import customers, services
from .control import LIVE, LiveSession, live_session
from .tables import radius_sessions

MAX_PAGE = 100


async def session_page(
    conn: AsyncConnection,
    *,
    after_id: int = 0,
    limit: int = MAX_PAGE,
    nas_id: int | None = None,
    login: str | None = None,
    resellers: frozenset[int] | None = None,
) -> list[LiveSession]:
    """Live sessions by id after `after_id`, at most `limit` (capped); by NAS, login, or
    only those of customers sold by `resellers` (a reseller's view)."""
    query = (
        select(radius_sessions)
        .where(radius_sessions.c.state.in_(LIVE), radius_sessions.c.id > after_id)
        .order_by(radius_sessions.c.id)
        .limit(min(max(limit, 1), MAX_PAGE))
    )
    if nas_id is not None:
        query = query.where(radius_sessions.c.nas_id == nas_id)
    if login is not None:
        query = query.where(radius_sessions.c.login == login)
    if resellers is not None:
        query = query.where(radius_sessions.c.service_id.in_(_sold_by(resellers)))
    return [live_session(row) for row in await conn.execute(query)]


async def session_reseller(conn: AsyncConnection, session_id: int) -> tuple[bool, int | None]:
    """Whether session `session_id` exists, and the reseller id of its customer."""
    row = (
        await conn.execute(
            select(customers.c.reseller_id)
            .select_from(radius_sessions)
            .join(services, services.c.id == radius_sessions.c.service_id)
            .join(customers, customers.c.id == services.c.customer_id)
            .where(radius_sessions.c.id == session_id)
        )
    ).first()
    return (row is not None, row.reseller_id if row is not None else None)


async def sessions_by_id(
    conn: AsyncConnection, ids: Iterable[int], *, resellers: frozenset[int] | None = None
) -> list[LiveSession]:
    """These sessions in whatever state they are now (live, closed or aborted), by id;
    with `resellers`, only those of customers sold by them."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    query = select(radius_sessions).where(radius_sessions.c.id.in_(wanted)).order_by(radius_sessions.c.id)
    if resellers is not None:
        query = query.where(radius_sessions.c.service_id.in_(_sold_by(resellers)))
    return [live_session(row) for row in await conn.execute(query)]


def _sold_by(resellers: frozenset[int]) -> Any:
    return (
        select(services.c.id)
        .join(customers, customers.c.id == services.c.customer_id)
        .where(customers.c.reseller_id.in_(sorted(resellers)))
    )
