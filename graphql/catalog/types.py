"""Plans, their versions and price components, categories, subscriber classes and tax
rates as the API shows them (built from the catalog's domain values)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from bureau.platform.catalog import classes, plans, taxes, versions
from bureau.platform.catalog.components import ComponentKind
from bureau.platform.catalog.components import PriceComponent as DomainComponent
from bureau.platform.rating import discounts, tariff

from ..customers.types import Money
from ..scalars import BigInt

METER = "seconds, octets_in (upload), octets_out (download) or octets_total"


@strawberry.type(description="A group of plans (Dial-up, DSL, ...).")
class PlanCategory:
    code: str
    name: str

    @classmethod
    def of(cls, category: plans.Category) -> PlanCategory:
        return cls(code=category.code, name=category.name)


@strawberry.type(description="A group of subscribers (residential, business, ...) offered the plans linked to it.")
class SubscriberClass:
    code: str
    name: str

    @classmethod
    def of(cls, found: classes.SubscriberClass) -> SubscriberClass:
        return cls(code=found.code, name=found.name)


@strawberry.type(description="A tax of one tax class in one locale, in effect for [effectiveFrom, effectiveTo).")
class TaxRate:
    id: strawberry.ID
    name: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    region: str | None = strawberry.field(description="State or province; null: the whole country.")
    city: str | None
    tax_class: str
    rate_bp: int = strawberry.field(description="Basis points: 2000 is 20 %.")
    inclusive: bool = strawberry.field(description="True: contained in the price (VAT-style); false: added on top.")
    effective_from: datetime
    effective_to: datetime | None = strawberry.field(description="Its own end; null: until a next rate starts.")

    @classmethod
    def of(cls, rate: taxes.TaxRate) -> TaxRate:
        return cls(
            id=strawberry.ID(str(rate.id)),
            name=rate.name,
            country=rate.locale.country,
            region=rate.locale.region,
            city=rate.locale.city,
            tax_class=rate.tax_class,
            rate_bp=rate.rate_bp,
            inclusive=rate.inclusive,
            effective_from=rate.effective_from,
            effective_to=rate.effective_to,
        )


@strawberry.type(description="From cumulative quantity `start` (base units) on, `price` per priced unit.")
class UsageTier:
    start: BigInt
    price: Money


@strawberry.type(description="Charged once, when the service starts.")
class SignupFee:
    tax_class: str
    amount: Money


@strawberry.type(description="Charged every period, in advance.")
class RecurringCharge:
    tax_class: str
    amount: Money
    period: str = strawberry.field(description="month or year")


@strawberry.type(
    description="What one meter costs: the period's cumulative quantity rounded up to `increment`, "
    "less `allowance`, priced by `tiers` per `unitSize` base units (seconds or octets)."
)
class UsageCharge:
    tax_class: str
    meter: str = strawberry.field(description=METER)
    band: str | None = strawberry.field(description="A time-of-day band (seconds meter only); null: all day.")
    unit_size: BigInt = strawberry.field(description="Base units per priced unit: 60 is per minute, 10^9 per GB.")
    allowance: BigInt = strawberry.field(description="Base units included in each period.")
    increment: BigInt = strawberry.field(description="Usage is charged in blocks of this many base units.")
    tiers: list[UsageTier]


@strawberry.type(description="From a period total of `start` base units on, `basisPoints` off.")
class DiscountRange:
    start: BigInt
    basis_points: int


@strawberry.type(description="A percentage off the period's usage charge on a meter, by the period's total.")
class VolumeDiscount:
    tax_class: str
    meter: str = strawberry.field(description=METER)
    band: str | None
    ranges: list[DiscountRange]


@strawberry.type(description="From a period total of `start` base units on, every unit costs `price`.")
class PriceRange:
    start: BigInt
    price: Money


@strawberry.type(
    description="All-units price ranges on a meter, per `unitSize` base units: charged at the first "
    "range's price as used, the difference credited at period end."
)
class RangePricing:
    tax_class: str
    meter: str = strawberry.field(description=METER)
    band: str | None
    unit_size: BigInt
    ranges: list[PriceRange]


PriceComponent = Annotated[
    SignupFee | RecurringCharge | UsageCharge | VolumeDiscount | RangePricing,
    strawberry.union("PriceComponent", description="One price of a plan version."),
]


def _usage(component: DomainComponent, rate: tariff.UsageRate, currency: str) -> UsageCharge:
    return UsageCharge(
        tax_class=component.tax_class,
        meter=rate.meter.value,
        band=rate.band,
        unit_size=BigInt(rate.unit_size),
        allowance=BigInt(rate.allowance),
        increment=BigInt(rate.increment),
        tiers=[UsageTier(start=BigInt(t.start), price=Money.of(t.price_micros, currency)) for t in rate.tiers],
    )


def component_of(component: DomainComponent, currency: str) -> PriceComponent:
    """The API's view of one price component of a version."""
    rule = component.discount
    if component.rate is not None:
        return _usage(component, component.rate, currency)
    if isinstance(rule, discounts.VolumeDiscount):
        return VolumeDiscount(
            tax_class=component.tax_class,
            meter=rule.meter.value,
            band=rule.band,
            ranges=[DiscountRange(start=BigInt(r.start), basis_points=r.basis_points) for r in rule.ranges],
        )
    if isinstance(rule, discounts.RangePricing):
        return RangePricing(
            tax_class=component.tax_class,
            meter=rule.meter.value,
            band=rule.band,
            unit_size=BigInt(rule.unit_size),
            ranges=[PriceRange(start=BigInt(r.start), price=Money.of(r.price_micros, currency)) for r in rule.ranges],
        )
    amount = Money.of(component.amount_micros or 0, currency)
    if component.kind is ComponentKind.RECURRING and component.period is not None:
        return RecurringCharge(tax_class=component.tax_class, amount=amount, period=component.period.value)
    return SignupFee(tax_class=component.tax_class, amount=amount)


@strawberry.type(description="What a plan costs from effectiveFrom on; versions are never rewritten.")
class PlanVersion:
    plan: str = strawberry.field(description="The plan's code.")
    version: int
    effective_from: datetime
    effective_to: datetime | None = strawberry.field(
        description="Where it ends, by its own end or the next version's start; null: no end yet."
    )
    components: list[PriceComponent]

    @classmethod
    def of(cls, found: versions.PlanVersion, currency: str) -> PlanVersion:
        return cls(
            plan=found.plan.code,
            version=found.version,
            effective_from=found.effective_from,
            effective_to=found.effective_to,
            components=[component_of(c, currency) for c in found.components],
        )


@strawberry.type(description="What is sold; what it costs is in its versions.")
class Plan:
    code: str
    name: str
    category: str = strawberry.field(description="The category's code.")
    billing: str = strawberry.field(description="prepaid or postpaid")
    status: str = strawberry.field(description="active or retired")
    current_version: PlanVersion | None = strawberry.field(description="The version in effect now; null: none.")

    @classmethod
    def of(cls, plan: plans.Plan, current: versions.PlanVersion | None, currency: str) -> Plan:
        return cls(
            code=plan.code,
            name=plan.name,
            category=plan.category,
            billing=plan.billing.value,
            status=plan.status.value,
            current_version=PlanVersion.of(current, currency) if current is not None else None,
        )
