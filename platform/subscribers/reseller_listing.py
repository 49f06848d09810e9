"""Reads of resellers for listings: a keyset-paged list, and what a page shows of each
(parent code, realms, plans it may sell), each in one query for the whole page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..catalog.plans import Plan, plan_from_row, plan_query
from ..catalog.tables import plans
from ..ledger.tables import entities
from .resellers import Reseller, reseller_from_row, reseller_query
from .tables import realms, reseller_plans, resellers

MAX_RESELLER_PAGE = 100  # resellers in one page
MAX_LISTED_PER_RESELLER = 100  # realms, or plans, shown of one reseller


@dataclass(frozen=True, slots=True)
class ResellerDetails:
    """What a listing shows of a reseller beyond its own row."""

    parent_code: str | None
    realms: tuple[str, ...]  # by name, at most MAX_LISTED_PER_RESELLER
    plans: tuple[Plan, ...]  # by code, at most MAX_LISTED_PER_RESELLER


async def reseller_page(
    conn: AsyncConnection,
    *,
    after_id: int = 0,
    limit: int = MAX_RESELLER_PAGE,
    within: frozenset[int] | None = None,
) -> list[Reseller]:
    """Resellers by id after `after_id` (keyset paging), at most `limit` (capped at
    MAX_RESELLER_PAGE). `within`: only these reseller ids (a reseller key's subtree)."""
    query = reseller_query().where(resellers.c.id > after_id)
    if within is not None:
        query = query.where(resellers.c.id.in_(sorted(within)))
    rows = await conn.execute(query.order_by(resellers.c.id).limit(min(max(limit, 1), MAX_RESELLER_PAGE)))
    return [reseller_from_row(row) for row in rows]


async def reseller_details(conn: AsyncConnection, sellers: Iterable[Reseller]) -> dict[int, ResellerDetails]:
    """Parent code, realms and allowed plans of each reseller, by reseller id (three queries)."""
    chosen = list(sellers)
    ids = sorted({r.id for r in chosen})
    if not ids:
        return {}
    parent_ids = sorted({r.parent_id for r in chosen if r.parent_id is not None})
    parents: dict[int, str] = {}
    if parent_ids:
        rows = await conn.execute(
            select(resellers.c.id, entities.c.code)
            .join(entities, entities.c.id == resellers.c.entity_id)
            .where(resellers.c.id.in_(parent_ids))
        )
        parents = {row.id: row.code for row in rows}

    numbered_realms = (
        select(
            realms.c.reseller_id,
            realms.c.realm,
            func.row_number().over(partition_by=realms.c.reseller_id, order_by=realms.c.realm).label("n"),
        )
        .where(realms.c.reseller_id.in_(ids))
        .subquery()
    )
    realm_rows = await conn.execute(
        select(numbered_realms.c.reseller_id, numbered_realms.c.realm)
        .where(numbered_realms.c.n <= MAX_LISTED_PER_RESELLER)
        .order_by(numbered_realms.c.reseller_id, numbered_realms.c.realm)
    )
    realms_of: dict[int, list[str]] = {i: [] for i in ids}
    for realm_row in realm_rows:
        realms_of[realm_row.reseller_id].append(realm_row.realm)

    numbered_plans = (
        plan_query()
        .add_columns(
            reseller_plans.c.reseller_id,
            func.row_number().over(partition_by=reseller_plans.c.reseller_id, order_by=plans.c.code).label("n"),
        )
        .join(reseller_plans, reseller_plans.c.plan_id == plans.c.id)
        .where(reseller_plans.c.reseller_id.in_(ids))
        .subquery()
    )
    plan_rows = await conn.execute(
        select(numbered_plans)
        .where(numbered_plans.c.n <= MAX_LISTED_PER_RESELLER)
        .order_by(numbered_plans.c.reseller_id, numbered_plans.c.code)
    )
    plans_of: dict[int, list[Plan]] = {i: [] for i in ids}
    for plan_row in plan_rows:
        plans_of[plan_row.reseller_id].append(plan_from_row(plan_row))

    return {
        r.id: ResellerDetails(
            parent_code=parents.get(r.parent_id) if r.parent_id is not None else None,
            realms=tuple(realms_of[r.id]),
            plans=tuple(plans_of[r.id]),
        )
        for r in chosen
    }
