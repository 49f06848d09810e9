"""Plan categories and plans (DESIGN.md §3 "Billing cycle", issue 3 "Catalog").

A plan is what is sold (code, name, category, prepaid or post-paid, status); what it
costs lives in its versions (`versions.py`). Every change writes an audit record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from .errors import DuplicateCode, InvalidCatalogValue, NotFound
from .tables import plan_categories, plans
from .validate import check_code, check_name


class Billing(enum.StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class PlanStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    code: str
    name: str
    category: str  # the category's code
    billing: Billing
    status: PlanStatus


E = TypeVar("E", bound=enum.StrEnum)


def _choice(kind: type[E], value: object, what: str) -> E:
    try:
        if not isinstance(value, str):
            raise ValueError
        return kind(value)
    except ValueError:
        raise InvalidCatalogValue(f"{what} {value!r} is not one of {', '.join(m.value for m in kind)}") from None


async def create_category(conn: AsyncConnection, code: str, name: str) -> Category:
    """Create a plan category ("Dial-up", "DSL", ...)."""
    check_code(code, "category")
    check_name(name, "category")
    # ON CONFLICT: a concurrent create of the same code is refused like any duplicate.
    row = (
        await conn.execute(
            pg_insert(plan_categories)
            .values(code=code, name=name)
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(plan_categories.c.id)
        )
    ).first()
    if row is None:
        raise DuplicateCode(f"a plan category with code {code!r} already exists; choose another code")
    await audit.record(conn, "catalog.category.create", f"category:{code}", name=name)
    return Category(row.id, code, name)


async def get_category(conn: AsyncConnection, code: str) -> Category:
    row = (await conn.execute(select(plan_categories).where(plan_categories.c.code == code))).first()
    if row is None:
        raise NotFound(f"no plan category has code {code!r}; create it first")
    return Category(row.id, row.code, row.name)


def plan_from_row(row: Row[Any]) -> Plan:
    """A Plan from a row of `plan_query()`."""
    return Plan(
        id=row.id,
        code=row.code,
        name=row.name,
        category=row.category,
        billing=Billing(row.billing),
        status=PlanStatus(row.status),
    )


def plan_query() -> Any:
    """SELECT of plans with their category's code as `category`."""
    return select(
        plans.c.id,
        plans.c.code,
        plans.c.name,
        plan_categories.c.code.label("category"),
        plans.c.billing,
        plans.c.status,
    ).join(plan_categories, plan_categories.c.id == plans.c.category_id)


async def create_plan(
    conn: AsyncConnection,
    code: str,
    name: str,
    *,
    category: str,
    billing: Billing | str,
    status: PlanStatus | str = PlanStatus.ACTIVE,
) -> Plan:
    """Create a plan in `category` (a category code). Its prices come with its versions."""
    check_code(code, "plan")
    check_name(name, "plan")
    billing = _choice(Billing, billing, "plan billing")
    status = _choice(PlanStatus, status, "plan status")
    found = await get_category(conn, category)
    row = (
        await conn.execute(
            pg_insert(plans)
            .values(code=code, name=name, category_id=found.id, billing=billing.value, status=status.value)
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(plans.c.id)
        )
    ).first()
    if row is None:
        raise DuplicateCode(f"a plan with code {code!r} already exists; a price change is a new version of it")
    await audit.record(
        conn,
        "catalog.plan.create",
        f"plan:{code}",
        name=name,
        category=category,
        billing=billing.value,
        status=status.value,
    )
    return Plan(row.id, code, name, category, billing, status)


async def get_plan(conn: AsyncConnection, code: str, *, for_update: bool = False) -> Plan:
    """The plan with `code`; `for_update` locks it (serialises adding versions)."""
    query = plan_query().where(plans.c.code == code)
    if for_update:
        query = query.with_for_update(of=plans)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"no plan has code {code!r}")
    return plan_from_row(row)
