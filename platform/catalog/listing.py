"""Pages of the catalog for callers that list it (the API): plans, categories, tax rates,
subscriber classes, each keyset-paged by id, and the versions in effect of a page of plans.

Every list is bounded: a page is at most MAX_PAGE_SIZE rows, whatever is asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from .classes import SubscriberClass
from .components import PriceComponent
from .errors import InvalidCatalogValue
from .plans import Category, Plan, PlanStatus, plan_from_row, plan_query
from .tables import plan_categories, plan_versions, plans, price_components, subscriber_classes, tax_rates
from .taxes import TaxRate, _tax_rate
from .validate import check_instant, check_tax_class
from .versions import PlanVersion, _component_from_row

MAX_PAGE_SIZE = 1_000  # rows of one page, of any list here


def tax_rate(row: Row[Any]) -> TaxRate:
    """A TaxRate from a row of the tax_rates table."""
    return _tax_rate(row)


def _limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidCatalogValue(f"a page is 1 to {MAX_PAGE_SIZE} rows, got {limit!r}")
    return limit


def _after(after_id: object) -> int:
    if isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0:
        raise InvalidCatalogValue(f"after_id must be a whole number of 0 or more, got {after_id!r}")
    return after_id


def plan_status(value: object) -> PlanStatus:
    """The PlanStatus `value` names, or InvalidCatalogValue saying which there are."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return PlanStatus(value)
    except ValueError:
        raise InvalidCatalogValue(
            f"plan status {value!r} is not one of {', '.join(s.value for s in PlanStatus)}"
        ) from None


async def plan_page(
    conn: AsyncConnection, *, after_id: int = 0, limit: int, status: PlanStatus | str | None = None
) -> tuple[Plan, ...]:
    """Plans with an id above `after_id`, by id; only those in `status` if given."""
    query = plan_query().where(plans.c.id > _after(after_id))
    if status is not None:
        query = query.where(plans.c.status == plan_status(status).value)
    rows = await conn.execute(query.order_by(plans.c.id).limit(_limit(limit)))
    return tuple(plan_from_row(row) for row in rows)


async def versions_in_effect(conn: AsyncConnection, of: Sequence[Plan], when: datetime) -> dict[int, PlanVersion]:
    """The version of each plan of `of` in effect at `when`, by plan id (a plan with none
    is left out): what `versions.plan_version_at` answers for each, in three queries."""
    check_instant(when, "when")
    by_id = {plan.id: plan for plan in of}
    if not by_id:
        return {}
    if len(by_id) > MAX_PAGE_SIZE:
        raise InvalidCatalogValue(f"at most {MAX_PAGE_SIZE} plans at once, got {len(by_id)}")
    latest = (
        await conn.execute(
            select(plan_versions)
            .where(plan_versions.c.plan_id.in_(by_id), plan_versions.c.effective_from <= when)
            .order_by(plan_versions.c.plan_id, plan_versions.c.effective_from.desc())
            .ext(distinct_on(plan_versions.c.plan_id))
        )
    ).all()
    current = [row for row in latest if row.effective_to is None or row.effective_to > when]
    if not current:
        return {}
    later = plan_versions.alias("later")
    next_starts: dict[int, datetime] = {
        version_id: start
        for version_id, start in await conn.execute(
            select(plan_versions.c.id, func.min(later.c.effective_from))
            .join(
                later,
                (later.c.plan_id == plan_versions.c.plan_id)
                & (later.c.effective_from > plan_versions.c.effective_from),
            )
            .where(plan_versions.c.id.in_([row.id for row in current]))
            .group_by(plan_versions.c.id)
        )
    }
    parts: dict[int, list[PriceComponent]] = {row.id: [] for row in current}
    rows = await conn.execute(
        select(price_components)
        .where(price_components.c.plan_version_id.in_(list(parts)))
        .order_by(price_components.c.plan_version_id, price_components.c.position)
    )
    for row in rows:
        parts[row.plan_version_id].append(_component_from_row(row))
    found: dict[int, PlanVersion] = {}
    for row in current:
        end = row.effective_to
        next_start = next_starts.get(row.id)
        if next_start is not None and (end is None or next_start < end):
            end = next_start
        found[row.plan_id] = PlanVersion(by_id[row.plan_id], row.version, row.effective_from, end, tuple(parts[row.id]))
    return found


async def category_page(conn: AsyncConnection, *, after_id: int = 0, limit: int) -> tuple[Category, ...]:
    """Plan categories with an id above `after_id`, by id."""
    rows = await conn.execute(
        select(plan_categories)
        .where(plan_categories.c.id > _after(after_id))
        .order_by(plan_categories.c.id)
        .limit(_limit(limit))
    )
    return tuple(Category(row.id, row.code, row.name) for row in rows)


async def subscriber_class_page(conn: AsyncConnection, *, after_id: int = 0, limit: int) -> tuple[SubscriberClass, ...]:
    """Subscriber classes with an id above `after_id`, by id."""
    rows = await conn.execute(
        select(subscriber_classes)
        .where(subscriber_classes.c.id > _after(after_id))
        .order_by(subscriber_classes.c.id)
        .limit(_limit(limit))
    )
    return tuple(SubscriberClass(row.id, row.code, row.name) for row in rows)


async def tax_rate_page(
    conn: AsyncConnection,
    *,
    after_id: int = 0,
    limit: int,
    country: str | None = None,
    tax_class: str | None = None,
) -> tuple[TaxRate, ...]:
    """Tax rates with an id above `after_id`, by id (every period of every series);
    only a country's (ISO 3166-1 alpha-2) or a tax class's if given."""
    query = select(tax_rates).where(tax_rates.c.id > _after(after_id))
    if country is not None:
        query = query.where(tax_rates.c.country == country)
    if tax_class is not None:
        query = query.where(tax_rates.c.tax_class == check_tax_class(tax_class))
    rows = await conn.execute(query.order_by(tax_rates.c.id).limit(_limit(limit)))
    return tuple(tax_rate(row) for row in rows)
