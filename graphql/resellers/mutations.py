"""Reseller mutations (ISP admin): create a reseller, allow or disallow a plan."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing.payments import BASIS_POINTS
from bureau.platform.catalog.errors import NotFound as PlanNotFound
from bureau.platform.subscribers import resellers as domain
from bureau.platform.subscribers.errors import InvalidSubscriberValue

from ..errors import EXPECTED, NotFound, PlanNotAllowed, ValidationError, failure, refusal
from ..permissions import IsIspAdmin
from .queries import resellers_shown
from .types import Reseller

CreateResellerResult = Annotated[Reseller | ValidationError | NotFound, strawberry.union("CreateResellerResult")]


@strawberry.type(description="A plan allowed to or taken from a reseller.")
class ResellerPlanChange:
    reseller: Reseller = strawberry.field(description="The reseller after the change.")
    plan: str
    changed: bool = strawberry.field(description="False when it was already so (nothing was written).")


AllowPlanResult = Annotated[
    ResellerPlanChange | NotFound | PlanNotAllowed | ValidationError, strawberry.union("AllowPlanResult")
]
DisallowPlanResult = Annotated[ResellerPlanChange | NotFound | ValidationError, strawberry.union("DisallowPlanResult")]


@strawberry.input
class BrandingInput:
    name: str | None = None
    logo_url: str | None = strawberry.field(default=None, description="An https URL.")
    primary_colour: str | None = strawberry.field(default=None, description="#RRGGBB")
    secondary_colour: str | None = strawberry.field(default=None, description="#RRGGBB")
    support_email: str | None = None
    support_phone: str | None = None


@strawberry.input
class CreateResellerInput:
    code: str = strawberry.field(description="The reseller's code, unique in the tenant (its API keys name it).")
    name: str
    parent: str | None = strawberry.field(default=None, description="The parent reseller's code for a sub-reseller.")
    commission_percent: str | None = strawberry.field(
        default=None, description='The commission rate as a percentage, e.g. "12.5" (at most two decimals).'
    )
    commission_bp: int | None = strawberry.field(
        default=None, description="Or the rate in basis points (1250 is 12.5%); give one of the two, or neither (0)."
    )
    branding: BrandingInput | None = None
    realms: list[str] = strawberry.field(default_factory=list, description="Realms it owns (at most 100).")
    strip_realm: bool = strawberry.field(default=False, description="Strip its realms from logins sent on to NASes.")


def commission_basis_points(percent: str | None, basis_points: int | None) -> int:
    """The rate in basis points from one of the two inputs (0 with neither)."""
    if percent is not None and basis_points is not None:
        raise InvalidSubscriberValue("give commissionPercent or commissionBp, not both")
    if percent is None:
        return 0 if basis_points is None else basis_points
    text = percent.strip().removesuffix("%").strip()
    try:
        value = Decimal(text) * BASIS_POINTS / 100
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value() or not 0 <= value <= BASIS_POINTS:
        raise InvalidSubscriberValue(
            f"commission percent must be from 0 to 100 with at most two decimals (e.g. 12.5), got {percent!r}"
        )
    return int(value)


def _branding(given: BrandingInput | None) -> domain.Branding | None:
    if given is None:
        return None
    return domain.Branding(
        name=given.name,
        logo_url=given.logo_url,
        primary_colour=given.primary_colour,
        secondary_colour=given.secondary_colour,
        support_email=given.support_email,
        support_phone=given.support_phone,
    )


def _missing_plan(exc: Exception) -> NotFound | None:
    return NotFound(message=str(exc)) if isinstance(exc, PlanNotFound) else None


@strawberry.type
class ResellerMutations:
    @strawberry.mutation(
        permission_classes=[IsIspAdmin], description="Create a reseller (or a sub-reseller) with its realms."
    )
    async def create_reseller(self, info: Info[Any, Any], input: CreateResellerInput) -> CreateResellerResult:
        try:
            rate = commission_basis_points(input.commission_percent, input.commission_bp)
        except InvalidSubscriberValue as exc:
            field = "commissionPercent" if input.commission_percent is not None else "commissionBp"
            return refusal(exc, field)
        try:
            async with info.context.unit() as conn:
                made = await domain.create_reseller(
                    conn,
                    code=input.code,
                    name=input.name,
                    parent=input.parent,
                    branding=_branding(input.branding),
                    commission_bp=rate,
                    realms=input.realms,
                    strip_realm=input.strip_realm,
                )
                return (await resellers_shown(conn, [made]))[0]
        except EXPECTED as exc:
            return refusal(exc, given=input)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Let a reseller sell a plan; a sub-reseller only what its parent may sell.",
    )
    async def allow_plan(self, info: Info[Any, Any], reseller: str, plan: str) -> AllowPlanResult:
        try:
            async with info.context.unit() as conn:
                changed = await domain.allow_plan(conn, reseller, plan)
                shown = (await resellers_shown(conn, [await domain.get_reseller(conn, reseller)]))[0]
                return ResellerPlanChange(reseller=shown, plan=plan, changed=changed)
        except EXPECTED as exc:
            return _missing_plan(exc) or failure(exc, given={"reseller": reseller, "plan": plan})

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Stop a reseller, and every reseller below it, selling a plan; services on it keep it.",
    )
    async def disallow_plan(self, info: Info[Any, Any], reseller: str, plan: str) -> DisallowPlanResult:
        try:
            async with info.context.unit() as conn:
                changed = await domain.disallow_plan(conn, reseller, plan)
                shown = (await resellers_shown(conn, [await domain.get_reseller(conn, reseller)]))[0]
                return ResellerPlanChange(reseller=shown, plan=plan, changed=changed)
        except EXPECTED as exc:
            return _missing_plan(exc) or refusal(exc, given={"reseller": reseller, "plan": plan})
