"""Catalog mutations (ISP admin keys): categories, plans, plan versions with their price
components, tax rates, subscriber classes. Names follow the catalog's service functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from bureau.platform.catalog import classes, plans, taxes, versions
from bureau.platform.catalog.components import DEFAULT_TAX_CLASS, MAX_COMPONENTS, PriceComponent
from bureau.platform.catalog.errors import InvalidComponent
from bureau.platform.rating import discounts, tariff
from bureau.platform.rating.errors import RatingError
from bureau.platform.rating.usage import Meter

from ..errors import EXPECTED, FieldError, NotFound, ValidationError, refusal
from ..permissions import IsIspAdmin
from ..scalars import BigInt
from .types import Plan, PlanCategory, PlanVersion, SubscriberClass, TaxRate

CreateCategoryResult = Annotated[PlanCategory | ValidationError | NotFound, strawberry.union("CreateCategoryResult")]
CreatePlanResult = Annotated[Plan | ValidationError | NotFound, strawberry.union("CreatePlanResult")]
AddPlanVersionResult = Annotated[PlanVersion | ValidationError | NotFound, strawberry.union("AddPlanVersionResult")]
CreateTaxRateResult = Annotated[TaxRate | ValidationError | NotFound, strawberry.union("CreateTaxRateResult")]
CreateSubscriberClassResult = Annotated[
    SubscriberClass | ValidationError | NotFound, strawberry.union("CreateSubscriberClassResult")
]

T = TypeVar("T")
TAX_CLASS = "Picks the tax rates that apply: 'standard' unless said otherwise."
METER = "seconds, octets_in (upload), octets_out (download) or octets_total"


@strawberry.input
class CreateCategoryInput:
    code: str = strawberry.field(description="1-64 letters, digits or . _ -, unique in the tenant.")
    name: str


@strawberry.input
class CreatePlanInput:
    code: str = strawberry.field(description="1-64 letters, digits or . _ -, unique in the tenant.")
    name: str
    category: str = strawberry.field(description="The category's code.")
    billing: str = strawberry.field(description="prepaid or postpaid")
    status: str = strawberry.field(default="active", description="active or retired")


@strawberry.input(description="Charged once, when the service starts.")
class SignupFeeInput:
    amount_micros: BigInt = strawberry.field(description="Micro-units: 15.00 is 15000000.")
    tax_class: str = strawberry.field(default=DEFAULT_TAX_CLASS, description=TAX_CLASS)


@strawberry.input(description="Charged every period, in advance.")
class RecurringChargeInput:
    amount_micros: BigInt = strawberry.field(description="Micro-units: 29.90 is 29900000.")
    period: str = strawberry.field(default="month", description="month or year")
    tax_class: str = strawberry.field(default=DEFAULT_TAX_CLASS, description=TAX_CLASS)


@strawberry.input(description="From cumulative quantity `start` (base units) on, `priceMicros` per priced unit.")
class UsageTierInput:
    start: BigInt
    price_micros: BigInt


@strawberry.input(
    description="A usage rate on one meter: give priceMicros (one price for every unit beyond the "
    "allowance) or tiers (graduated, the first starting at 0), not both."
)
class UsageChargeInput:
    meter: str = strawberry.field(description=METER)
    unit_size: BigInt = strawberry.field(
        description="Base units (seconds or octets) per priced unit: 60 per minute, 3600 per hour, "
        "1000000 per MB, 1000000000 per GB."
    )
    price_micros: BigInt | None = strawberry.field(default=None, description="Per priced unit.")
    tiers: list[UsageTierInput] | None = None
    allowance: BigInt = strawberry.field(default=BigInt(0), description="Base units included in each period.")
    increment: BigInt = strawberry.field(default=BigInt(1), description="Charged in blocks of this many base units.")
    band: str | None = strawberry.field(default=None, description="A time-of-day band (seconds meter only).")
    tax_class: str = strawberry.field(default=DEFAULT_TAX_CLASS, description=TAX_CLASS)


@strawberry.input(description="From a period total of `start` base units on, `basisPoints` off (2000 is 20 %).")
class DiscountRangeInput:
    start: BigInt
    basis_points: int


@strawberry.input(description="A percentage off the period's usage charge on a meter, by the period's total.")
class VolumeDiscountInput:
    meter: str = strawberry.field(description=METER)
    ranges: list[DiscountRangeInput]
    band: str | None = None
    tax_class: str = strawberry.field(default=DEFAULT_TAX_CLASS, description=TAX_CLASS)


@strawberry.input(description="From a period total of `start` base units on, every unit costs `priceMicros`.")
class PriceRangeInput:
    start: BigInt
    price_micros: BigInt


@strawberry.input(
    description="All-units price ranges; the version also needs a usage charge on the same meter at the "
    "first range's price (same unitSize, no allowance, increment 1, same tax class)."
)
class RangePricingInput:
    meter: str = strawberry.field(description=METER)
    unit_size: BigInt
    ranges: list[PriceRangeInput]
    band: str | None = None
    tax_class: str = strawberry.field(default=DEFAULT_TAX_CLASS, description=TAX_CLASS)


@strawberry.input(one_of=True, description="One price component: exactly one of its fields.")
class PriceComponentInput:
    signup_fee: SignupFeeInput | None = strawberry.UNSET
    recurring: RecurringChargeInput | None = strawberry.UNSET
    usage: UsageChargeInput | None = strawberry.UNSET
    volume_discount: VolumeDiscountInput | None = strawberry.UNSET
    range_pricing: RangePricingInput | None = strawberry.UNSET


@strawberry.input
class AddPlanVersionInput:
    plan: str = strawberry.field(description="The plan's code.")
    effective_from: datetime = strawberry.field(
        description="After every version's start; not in the past when it cuts an open-ended one short."
    )
    components: list[PriceComponentInput] = strawberry.field(description=f"1 to {MAX_COMPONENTS}.")
    effective_to: datetime | None = None


@strawberry.input
class CreateTaxRateInput:
    name: str = strawberry.field(description="As printed on invoices (VAT, Sales tax, ...).")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 in capitals, such as US.")
    rate_bp: int = strawberry.field(description="Basis points: 2000 is 20 %.")
    inclusive: bool = strawberry.field(description="True: contained in the price (VAT-style); false: added on top.")
    effective_from: datetime
    region: str | None = strawberry.field(default=None, description="State or province.")
    city: str | None = None
    tax_class: str = strawberry.field(default=DEFAULT_TAX_CLASS, description=TAX_CLASS)
    effective_to: datetime | None = None


@strawberry.input
class CreateSubscriberClassInput:
    code: str = strawberry.field(description="1-64 letters, digits or . _ -, unique in the tenant.")
    name: str


def _bounded(items: Sequence[T], maximum: int, what: str) -> Sequence[T]:
    if len(items) > maximum:
        raise InvalidComponent(f"{what}: at most {maximum}, got {len(items)}")
    return items


def _meter(value: str) -> Meter:
    try:
        return Meter(value)
    except ValueError:
        raise InvalidComponent(f"meter {value!r} is not one of {', '.join(m.value for m in Meter)}") from None


def _usage(given: UsageChargeInput) -> PriceComponent:
    if given.tiers is not None and given.price_micros is None:
        tiers = _bounded(given.tiers, tariff.MAX_TIERS, "tiers of a usage charge")
        found = tuple(tariff.Tier(t.start, t.price_micros) for t in tiers)
    elif given.price_micros is not None and given.tiers is None:
        found = (tariff.Tier(0, given.price_micros),)
    else:
        raise InvalidComponent("a usage charge takes priceMicros (one price) or tiers (graduated), exactly one")
    rate = tariff.UsageRate(_meter(given.meter), given.unit_size, found, given.allowance, given.increment, given.band)
    return PriceComponent.usage(rate, tax_class=given.tax_class)


def _component(given: PriceComponentInput) -> PriceComponent:
    """The catalog's PriceComponent an input describes (the rating rules' errors as InvalidComponent)."""
    try:
        if given.signup_fee:
            return PriceComponent.signup_fee(given.signup_fee.amount_micros, tax_class=given.signup_fee.tax_class)
        if given.recurring:
            r = given.recurring
            return PriceComponent.recurring(r.amount_micros, r.period, tax_class=r.tax_class)
        if given.usage:
            return _usage(given.usage)
        if given.volume_discount:
            v = given.volume_discount
            ranges = _bounded(v.ranges, discounts.MAX_RANGES, "ranges of a volume discount")
            rule = discounts.VolumeDiscount(
                _meter(v.meter), tuple(discounts.DiscountRange(x.start, x.basis_points) for x in ranges), v.band
            )
            return PriceComponent.volume_discount(rule, tax_class=v.tax_class)
        if given.range_pricing:
            p = given.range_pricing
            prices = _bounded(p.ranges, discounts.MAX_RANGES, "ranges of a range pricing")
            pricing = discounts.RangePricing(
                _meter(p.meter),
                p.unit_size,
                tuple(discounts.PriceRange(x.start, x.price_micros) for x in prices),
                p.band,
            )
            return PriceComponent.range_pricing(pricing, tax_class=p.tax_class)
    except RatingError as exc:
        raise InvalidComponent(f"invalid price component: {exc}") from None
    raise InvalidComponent("a price component needs one of signupFee, recurring, usage, volumeDiscount, rangePricing")


def _components(given: Sequence[PriceComponentInput]) -> tuple[PriceComponent, ...] | ValidationError:
    """Every component of the input, or a ValidationError with the path of the first wrong one."""
    if not 1 <= len(given) <= MAX_COMPONENTS:
        message = f"a plan version needs 1 to {MAX_COMPONENTS} price components, got {len(given)}"
        return ValidationError(message=message, fields=[FieldError(path=["input", "components"], message=message)])
    made: list[PriceComponent] = []
    for index, item in enumerate(given):
        try:
            made.append(_component(item))
        except InvalidComponent as exc:
            path = ["input", "components", str(index)]
            return ValidationError(message=str(exc), fields=[FieldError(path=path, message=str(exc))])
    return tuple(made)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(permission_classes=[IsIspAdmin], description="Create a plan category.")
    async def create_category(self, info: Info[Any, Any], input: CreateCategoryInput) -> CreateCategoryResult:
        try:
            async with info.context.unit() as conn:
                return PlanCategory.of(await plans.create_category(conn, input.code, input.name))
        except EXPECTED as exc:
            return refusal(exc, given=input)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin], description="Create a plan; what it costs comes with addPlanVersion."
    )
    async def create_plan(self, info: Info[Any, Any], input: CreatePlanInput) -> CreatePlanResult:
        try:
            async with info.context.unit() as conn:
                made = await plans.create_plan(
                    conn, input.code, input.name, category=input.category, billing=input.billing, status=input.status
                )
                return Plan.of(made, None, info.context.currency)
        except EXPECTED as exc:
            return refusal(exc, given=input)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Add the next version of a plan: its price components from effectiveFrom on.",
    )
    async def add_plan_version(self, info: Info[Any, Any], input: AddPlanVersionInput) -> AddPlanVersionResult:
        components = _components(input.components)
        if isinstance(components, ValidationError):
            return components
        try:
            async with info.context.unit() as conn:
                made = await versions.add_plan_version(
                    conn,
                    input.plan,
                    effective_from=input.effective_from,
                    effective_to=input.effective_to,
                    components=components,
                )
                return PlanVersion.of(made, info.context.currency)
        except EXPECTED as exc:
            return refusal(exc, given=input)

    @strawberry.mutation(permission_classes=[IsIspAdmin], description="Add a tax rate for a locale and tax class.")
    async def create_tax_rate(self, info: Info[Any, Any], input: CreateTaxRateInput) -> CreateTaxRateResult:
        try:
            locale = taxes.Locale(input.country, input.region, input.city)
            async with info.context.unit() as conn:
                made = await taxes.create_tax_rate(
                    conn,
                    name=input.name,
                    locale=locale,
                    tax_class=input.tax_class,
                    rate_bp=input.rate_bp,
                    inclusive=input.inclusive,
                    effective_from=input.effective_from,
                    effective_to=input.effective_to,
                )
                return TaxRate.of(made)
        except EXPECTED as exc:
            return refusal(exc, given=input)

    @strawberry.mutation(permission_classes=[IsIspAdmin], description="Create a subscriber class.")
    async def create_subscriber_class(
        self, info: Info[Any, Any], input: CreateSubscriberClassInput
    ) -> CreateSubscriberClassResult:
        try:
            async with info.context.unit() as conn:
                return SubscriberClass.of(await classes.create_subscriber_class(conn, input.code, input.name))
        except EXPECTED as exc:
            return refusal(exc, given=input)
