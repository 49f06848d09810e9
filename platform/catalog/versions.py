"""Plan versions: what a plan costs from a date on (issue 3 "Catalog").

Versions are append-only: a price change is a new version, never a rewrite of one a
subscriber could have been billed on. The rules, checked under a lock on the plan:

- a new version starts after the start of every version already in place (versions are
  added in date order);
- it may not start before the explicit end (`effective_to`) of the latest version:
  that would overlap it;
- an open-ended latest version runs until the next version starts, so a version that
  cuts one short must not start in the past (a subscriber may have been billed on the
  old version then). The first version of a plan may start at any time.

The version in effect at an instant is the one with the latest start at or before it,
unless its own end has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.rating.discounts import RangePricing, VolumeDiscount
from bureau.platform.rating.tariff import UsageRate

from ..audit import log as audit
from .components import (
    DISCOUNT_KINDS,
    ComponentKind,
    PriceComponent,
    RecurringPeriod,
    check_components,
    discount_from_json,
    discount_to_json,
    rate_from_json,
    rate_to_json,
)
from .errors import NoVersionInEffect
from .plans import Plan, get_plan
from .tables import plan_versions, price_components
from .validate import check_instant, check_next_period, check_period


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """A plan's prices for [effective_from, effective_to) — `effective_to` is where this
    version ends, by its own end or by the next version's start (None: no end yet)."""

    plan: Plan
    version: int
    effective_from: datetime
    effective_to: datetime | None
    components: tuple[PriceComponent, ...]

    @property
    def rates(self) -> tuple[UsageRate, ...]:
        """The usage rates of this version, in component order (what real-time rating
        takes; a range pricing's real-time rate is among them, see `components`)."""
        return tuple(c.rate for c in self.components if c.rate is not None)

    @property
    def volume_discounts(self) -> tuple[VolumeDiscount, ...]:
        """The volume discounts of this version, in component order (credited at period end)."""
        return tuple(c.discount for c in self.components if isinstance(c.discount, VolumeDiscount))

    @property
    def range_pricings(self) -> tuple[RangePricing, ...]:
        """The quantity range pricings of this version, in component order (credited at period end)."""
        return tuple(c.discount for c in self.components if isinstance(c.discount, RangePricing))


async def add_plan_version(
    conn: AsyncConnection,
    plan_code: str,
    *,
    effective_from: datetime,
    components: Sequence[PriceComponent],
    effective_to: datetime | None = None,
) -> PlanVersion:
    """Add the next version of a plan, in effect from `effective_from` (see module rules)."""
    start, end = check_period(effective_from, effective_to)
    checked = check_components(components)
    plan = await get_plan(conn, plan_code, for_update=True)
    latest = (
        await conn.execute(
            select(plan_versions.c.version, plan_versions.c.effective_from, plan_versions.c.effective_to)
            .where(plan_versions.c.plan_id == plan.id)
            .order_by(plan_versions.c.effective_from.desc())
            .limit(1)
        )
    ).first()
    check_next_period(
        f"version {latest.version} of plan {plan_code!r}" if latest else "",
        (latest.effective_from, latest.effective_to) if latest else None,
        start,
        datetime.now(UTC),
    )
    version = latest.version + 1 if latest else 1
    version_id = (
        await conn.execute(
            insert(plan_versions)
            .values(plan_id=plan.id, version=version, effective_from=start, effective_to=end)
            .returning(plan_versions.c.id)
        )
    ).scalar_one()
    await conn.execute(
        insert(price_components),
        [
            {
                "plan_version_id": version_id,
                "position": position,
                "kind": component.kind.value,
                "amount_micros": component.amount_micros,
                "recurring_period": component.period.value if component.period else None,
                "tax_class": component.tax_class,
                "rate": _rule_json(component),
            }
            for position, component in enumerate(checked)
        ],
    )
    await audit.record(
        conn,
        "catalog.plan_version.add",
        f"plan:{plan_code}",
        version=version,
        effective_from=start.isoformat(),
        effective_to=end.isoformat() if end else None,
        components=[_component_json(component) for component in checked],
    )
    return PlanVersion(plan, version, start, end, checked)


def _rule_json(component: PriceComponent) -> dict[str, object] | None:
    """The JSONB of price_components.rate: the usage rate, or the rule of a volume
    discount or range pricing (the kind says which); None for amounts."""
    if component.rate is not None:
        return rate_to_json(component.rate)
    if component.discount is not None:
        return discount_to_json(component.discount)
    return None


def _component_json(component: PriceComponent) -> dict[str, object]:
    # As stored: "rate" holds the usage rate or the discount rule, read by `kind`.
    return {
        "kind": component.kind.value,
        "tax_class": component.tax_class,
        "amount_micros": component.amount_micros,
        "period": component.period.value if component.period else None,
        "rate": _rule_json(component),
    }


def _component_from_row(row: Row[Any]) -> PriceComponent:
    kind = ComponentKind(row.kind)
    is_discount = kind in DISCOUNT_KINDS
    return PriceComponent(
        kind,
        row.tax_class,
        amount_micros=row.amount_micros,
        period=RecurringPeriod(row.recurring_period) if row.recurring_period else None,
        rate=rate_from_json(row.rate) if row.rate is not None and not is_discount else None,
        discount=discount_from_json(kind, row.rate) if is_discount else None,
    )


async def plan_version_at(conn: AsyncConnection, plan_code: str, when: datetime) -> PlanVersion:
    """The version of a plan in effect at `when`, with its components and usage rates."""
    check_instant(when, "when")
    plan = await get_plan(conn, plan_code)
    row = (
        await conn.execute(
            select(plan_versions)
            .where(plan_versions.c.plan_id == plan.id, plan_versions.c.effective_from <= when)
            .order_by(plan_versions.c.effective_from.desc())
            .limit(1)
        )
    ).first()
    if row is None or (row.effective_to is not None and row.effective_to <= when):
        raise NoVersionInEffect(f"plan {plan_code!r} has no version in effect at {when.isoformat()}")
    next_start = (
        await conn.execute(
            select(func.min(plan_versions.c.effective_from)).where(
                plan_versions.c.plan_id == plan.id, plan_versions.c.effective_from > row.effective_from
            )
        )
    ).scalar_one()
    end = row.effective_to
    if next_start is not None and (end is None or next_start < end):
        end = next_start
    rows = await conn.execute(
        select(price_components)
        .where(price_components.c.plan_version_id == row.id)
        .order_by(price_components.c.position)
    )
    components = tuple(_component_from_row(c) for c in rows)
    return PlanVersion(plan, row.version, row.effective_from, end, components)
