"""Catalog queries: plans (a reseller key sees the plans it may sell), one plan, and for
ISP keys categories, tax rates and subscriber classes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from bureau.platform.catalog import listing
from bureau.platform.catalog import plans as domain
from bureau.platform.catalog.errors import InvalidCatalogValue
from bureau.platform.catalog.errors import NotFound as CatalogNotFound
from bureau.platform.subscribers.resellers import allowed_plans, get_reseller_by_id

from ..context import Refused
from ..errors import NotFound
from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import InTenant, IsIspStaff
from .types import Plan, PlanCategory, SubscriberClass, TaxRate

PlanResult = Annotated[Plan | NotFound, strawberry.union("PlanResult")]


async def sellable(info: Info[Any, Any], conn: AsyncConnection) -> tuple[domain.Plan, ...] | None:
    """The plans a reseller key's reseller may sell; None for an ISP key (every plan)."""
    reseller_id = info.context.caller.reseller_id
    if reseller_id is None:
        return None
    return await allowed_plans(conn, (await get_reseller_by_id(conn, reseller_id)).code)


async def _shown(conn: AsyncConnection, found: Sequence[domain.Plan], currency: str) -> dict[int, Plan]:
    """The plans as shown, by id, each with its version in effect now (one batch)."""
    current = await listing.versions_in_effect(conn, found, datetime.now(UTC))
    return {plan.id: Plan.of(plan, current.get(plan.id), currency) for plan in found}


@strawberry.type
class CatalogQueries:
    @strawberry.field(
        permission_classes=[InTenant],
        description="Plans by id, with the version in effect now; a reseller key sees the plans it may sell.",
    )
    async def plans(
        self,
        info: Info[Any, Any],
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        status: Annotated[str | None, strawberry.argument(description="active or retired")] = None,
    ) -> Connection[Plan]:
        size = page_size(first)
        key = after_key("plan", after)
        try:
            wanted = listing.plan_status(status) if status is not None else None
        except InvalidCatalogValue as exc:
            raise Refused(str(exc)) from None
        async with info.context.unit() as conn:
            allowed = await sellable(info, conn)
            if allowed is None:
                page = list(await listing.plan_page(conn, after_id=key, limit=size + 1, status=wanted))
            else:
                chosen = (p for p in allowed if p.id > key and (wanted is None or p.status is wanted))
                page = sorted(chosen, key=lambda p: p.id)[: size + 1]
            shown = await _shown(conn, page[:size], info.context.currency)
        return connection(page, size, "plan", lambda p: p.id, lambda p: shown[p.id])

    @strawberry.field(permission_classes=[InTenant], description="One plan by code, with the version in effect now.")
    async def plan(self, info: Info[Any, Any], code: str) -> PlanResult:
        async with info.context.unit() as conn:
            try:
                found = await domain.get_plan(conn, code)
                allowed = await sellable(info, conn)
                if allowed is not None and found.id not in {p.id for p in allowed}:
                    raise CatalogNotFound(f"no plan has code {code!r}")  # the words of get_plan for a missing one
            except CatalogNotFound as exc:
                return NotFound(message=str(exc))
            return (await _shown(conn, [found], info.context.currency))[found.id]

    @strawberry.field(permission_classes=[IsIspStaff], description="Plan categories by id.")
    async def categories(
        self, info: Info[Any, Any], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[PlanCategory]:
        size = page_size(first)
        key = after_key("category", after)
        async with info.context.unit() as conn:
            page = await listing.category_page(conn, after_id=key, limit=size + 1)
        return connection(page, size, "category", lambda c: c.id, PlanCategory.of)

    @strawberry.field(
        permission_classes=[IsIspStaff], description="Tax rates by id: every period of every locale and tax class."
    )
    async def tax_rates(
        self,
        info: Info[Any, Any],
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        country: Annotated[str | None, strawberry.argument(description="ISO 3166-1 alpha-2, such as US.")] = None,
        tax_class: str | None = None,
    ) -> Connection[TaxRate]:
        size = page_size(first)
        key = after_key("tax_rate", after)
        try:
            async with info.context.unit() as conn:
                page = await listing.tax_rate_page(
                    conn, after_id=key, limit=size + 1, country=country, tax_class=tax_class
                )
        except InvalidCatalogValue as exc:
            raise Refused(str(exc)) from None
        return connection(page, size, "tax_rate", lambda r: r.id, TaxRate.of)

    @strawberry.field(permission_classes=[IsIspStaff], description="Subscriber classes by id.")
    async def subscriber_classes(
        self, info: Info[Any, Any], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[SubscriberClass]:
        size = page_size(first)
        key = after_key("subscriber_class", after)
        async with info.context.unit() as conn:
            page = await listing.subscriber_class_page(conn, after_id=key, limit=size + 1)
        return connection(page, size, "subscriber_class", lambda c: c.id, SubscriberClass.of)
