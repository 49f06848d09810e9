"""Subscriber classes and the plans linked to them ("product definitions are linked to
subscriber classes", issue 3). A class groups subscribers (residential, business, ...);
the plans linked to it are the ones offered to its subscribers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from .errors import DuplicateCode, NotFound
from .plans import Plan, get_plan, plan_from_row, plan_query
from .tables import class_plans, plans, subscriber_classes
from .validate import check_code, check_name

MAX_PLANS_PER_CLASS = 1_000  # what plans_for_class returns at most


@dataclass(frozen=True, slots=True)
class SubscriberClass:
    id: int
    code: str
    name: str


async def create_subscriber_class(conn: AsyncConnection, code: str, name: str) -> SubscriberClass:
    """Create a subscriber class ("residential", "business", ...)."""
    check_code(code, "subscriber class")
    check_name(name, "subscriber class")
    row = (
        await conn.execute(
            pg_insert(subscriber_classes)
            .values(code=code, name=name)
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(subscriber_classes.c.id)
        )
    ).first()
    if row is None:
        raise DuplicateCode(f"a subscriber class with code {code!r} already exists; choose another code")
    await audit.record(conn, "catalog.class.create", f"class:{code}", name=name)
    return SubscriberClass(row.id, code, name)


async def get_subscriber_class(conn: AsyncConnection, code: str) -> SubscriberClass:
    row = (await conn.execute(select(subscriber_classes).where(subscriber_classes.c.code == code))).first()
    if row is None:
        raise NotFound(f"no subscriber class has code {code!r}; create it first")
    return SubscriberClass(row.id, row.code, row.name)


async def link_plan_to_class(conn: AsyncConnection, class_code: str, plan_code: str) -> bool:
    """Offer a plan to a subscriber class. True if linked now, False if it already was
    (then nothing is written)."""
    found = await get_subscriber_class(conn, class_code)
    plan = await get_plan(conn, plan_code)
    row = (
        await conn.execute(
            pg_insert(class_plans)
            .values(class_id=found.id, plan_id=plan.id)
            .on_conflict_do_nothing()
            .returning(class_plans.c.plan_id)
        )
    ).first()
    if row is None:
        return False
    await audit.record(conn, "catalog.class.link_plan", f"class:{class_code}", plan=plan_code)
    return True


async def plans_for_class(conn: AsyncConnection, class_code: str) -> tuple[Plan, ...]:
    """The plans linked to a subscriber class, by plan code."""
    found = await get_subscriber_class(conn, class_code)
    rows = await conn.execute(
        plan_query()
        .join(class_plans, class_plans.c.plan_id == plans.c.id)
        .where(class_plans.c.class_id == found.id)
        .order_by(plans.c.code)
        .limit(MAX_PLANS_PER_CLASS)
    )
    return tuple(plan_from_row(row) for row in rows)
