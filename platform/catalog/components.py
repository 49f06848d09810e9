"""Price components of a plan version, and their rules as JSON of integers and strings.

A component is a sign-up fee, a recurring charge (per month or per year), a usage rate
(a `bureau.platform.rating.tariff.UsageRate`), a volume discount or a quantity range
pricing (`bureau.platform.rating.discounts.VolumeDiscount` / `RangePricing`). Amounts
are integer micro-units; floats and bools are refused. Each component carries a tax
class ("standard" unless said otherwise), which picks the tax rates that apply to it.

Volume discounts and range pricings are credited once, at period end, from the period's
totals (see `discounts.py`): real-time rating never sees them. A range pricing's credit,
`range_discount`, is "what real-time rating charged at `RangePricing.realtime_rate()`
minus the all-units price", so it is only right if the usage on its meter (and band)
really was charged at exactly that rate. A version with a range pricing therefore needs
a usage rate on the same meter and band equal to `pricing.realtime_rate()` (the first
range's price per `unit_size`, no allowance, increment 1), with the same tax class since
the credit gives back part of that charge; `check_components` enforces it. The version's
usage rates then stay the complete input of real-time rating. A volume discount is a
percentage of a usage charge and needs no particular rate.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bureau.platform.money import MAX_ABS_MICROS
from bureau.platform.rating.discounts import DiscountRange, PriceRange, RangePricing, VolumeDiscount
from bureau.platform.rating.errors import RatingError
from bureau.platform.rating.tariff import Tier, UsageRate
from bureau.platform.rating.usage import Meter

from .errors import InvalidComponent
from .validate import check_tax_class

MAX_COMPONENTS = 32  # per plan version
DEFAULT_TAX_CLASS = "standard"
RATE_KEYS = frozenset({"meter", "unit_size", "allowance", "increment", "band", "tiers"})
VOLUME_DISCOUNT_KEYS = frozenset({"meter", "band", "ranges"})
RANGE_PRICING_KEYS = frozenset({"meter", "unit_size", "band", "ranges"})


class ComponentKind(enum.StrEnum):
    SIGNUP_FEE = "signup_fee"
    RECURRING = "recurring"
    USAGE = "usage"
    VOLUME_DISCOUNT = "volume_discount"
    RANGE_PRICING = "range_pricing"


DISCOUNT_KINDS: dict[ComponentKind, type[VolumeDiscount] | type[RangePricing]] = {
    ComponentKind.VOLUME_DISCOUNT: VolumeDiscount,
    ComponentKind.RANGE_PRICING: RangePricing,
}


class RecurringPeriod(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"


def _amount(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidComponent(
            f"{what} must be a whole number of micro-units (int; 15.00 is 15_000_000), "
            f"got {value!r} of type {type(value).__name__}"
        )
    if not 0 <= value <= MAX_ABS_MICROS:
        raise InvalidComponent(f"{what} must be between 0 and {MAX_ABS_MICROS} micro-units, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """One price of a plan version; build it with `signup_fee`, `recurring`, `usage`,
    `volume_discount` or `range_pricing`."""

    kind: ComponentKind
    tax_class: str = DEFAULT_TAX_CLASS
    amount_micros: int | None = None  # sign-up fee and recurring charge
    period: RecurringPeriod | None = None  # recurring charge only
    rate: UsageRate | None = None  # usage only
    discount: VolumeDiscount | RangePricing | None = None  # volume discount and range pricing only

    def __post_init__(self) -> None:
        try:
            kind = ComponentKind(self.kind)
        except ValueError:
            raise InvalidComponent(
                f"component kind {self.kind!r} is not one of {', '.join(k.value for k in ComponentKind)}"
            ) from None
        object.__setattr__(self, "kind", kind)
        check_tax_class(self.tax_class, InvalidComponent)
        if kind in DISCOUNT_KINDS:
            rule = DISCOUNT_KINDS[kind]
            what = kind.value.replace("_", " ")
            if not isinstance(self.discount, rule):
                raise InvalidComponent(f"a {what} component needs a {rule.__name__}, got {self.discount!r}")
            if self.amount_micros is not None or self.period is not None or self.rate is not None:
                raise InvalidComponent(
                    f"a {what} component is priced by its {rule.__name__}: give no amount_micros, period or rate"
                )
            return
        if self.discount is not None:
            raise InvalidComponent(
                f"a {kind.value.replace('_', ' ')} component takes no discount; a VolumeDiscount or RangePricing "
                "is a component of its own (PriceComponent.volume_discount, PriceComponent.range_pricing)"
            )
        if kind is ComponentKind.USAGE:
            if not isinstance(self.rate, UsageRate):
                raise InvalidComponent(f"a usage component needs a UsageRate, got {self.rate!r}")
            if self.amount_micros is not None or self.period is not None:
                raise InvalidComponent("a usage component is priced by its rate: give no amount_micros or period")
            return
        what = "sign-up fee" if kind is ComponentKind.SIGNUP_FEE else "recurring charge"
        _amount(self.amount_micros, f"the {what}'s amount_micros")
        if self.rate is not None:
            raise InvalidComponent(f"a {what} takes an amount, not a usage rate")
        if kind is ComponentKind.SIGNUP_FEE:
            if self.period is not None:
                raise InvalidComponent("a sign-up fee is charged once: give no recurring period")
            return
        try:
            if not isinstance(self.period, str):
                raise ValueError
            object.__setattr__(self, "period", RecurringPeriod(self.period))
        except ValueError:
            raise InvalidComponent(
                f"recurring period {self.period!r} is not one of {', '.join(p.value for p in RecurringPeriod)}"
            ) from None

    @classmethod
    def signup_fee(cls, amount_micros: int, *, tax_class: str = DEFAULT_TAX_CLASS) -> PriceComponent:
        return cls(ComponentKind.SIGNUP_FEE, tax_class, amount_micros=amount_micros)

    @classmethod
    def recurring(
        cls,
        amount_micros: int,
        period: RecurringPeriod | str = RecurringPeriod.MONTH,
        *,
        tax_class: str = DEFAULT_TAX_CLASS,
    ) -> PriceComponent:
        if not isinstance(period, RecurringPeriod):
            try:
                period = RecurringPeriod(period)
            except ValueError:
                raise InvalidComponent(
                    f"recurring period {period!r} is not one of {', '.join(p.value for p in RecurringPeriod)}"
                ) from None
        return cls(ComponentKind.RECURRING, tax_class, amount_micros=amount_micros, period=period)

    @classmethod
    def usage(cls, rate: UsageRate, *, tax_class: str = DEFAULT_TAX_CLASS) -> PriceComponent:
        return cls(ComponentKind.USAGE, tax_class, rate=rate)

    @classmethod
    def volume_discount(cls, rule: VolumeDiscount, *, tax_class: str = DEFAULT_TAX_CLASS) -> PriceComponent:
        """A percentage off the period's usage charge by the period's total on a meter."""
        return cls(ComponentKind.VOLUME_DISCOUNT, tax_class, discount=rule)

    @classmethod
    def range_pricing(cls, rule: RangePricing, *, tax_class: str = DEFAULT_TAX_CLASS) -> PriceComponent:
        """All-units price ranges; the version also needs `usage(rule.realtime_rate())`."""
        return cls(ComponentKind.RANGE_PRICING, tax_class, discount=rule)


def _where(meter: Meter, band: str | None) -> str:
    return f"meter {meter.value}" + (f" in band {band!r}" if band else "")


def check_components(components: Sequence[PriceComponent]) -> tuple[PriceComponent, ...]:
    """The components of one version: 1 to MAX_COMPONENTS, at most one sign-up fee, one
    recurring charge per period, one usage rate, one volume discount and one range
    pricing per meter (and band); and each range pricing with its real-time usage rate
    on the same meter and band, `pricing.realtime_rate()` in the same tax class (see the
    module docstring: the period-end credit is only right for usage charged that way)."""
    if isinstance(components, PriceComponent) or not isinstance(components, Sequence):
        raise InvalidComponent(f"components must be a sequence of PriceComponent, got {components!r}")
    result = tuple(components)
    if not 1 <= len(result) <= MAX_COMPONENTS:
        raise InvalidComponent(f"a plan version needs 1 to {MAX_COMPONENTS} price components, got {len(result)}")
    seen: set[object] = set()
    usage_rates: dict[tuple[Meter, str | None], PriceComponent] = {}
    range_pricings: list[tuple[RangePricing, PriceComponent]] = []
    for component in result:
        if not isinstance(component, PriceComponent):
            raise InvalidComponent(f"components must be PriceComponent values, got {component!r}")
        if component.kind is ComponentKind.SIGNUP_FEE:
            key: object = component.kind
            clash = "more than one sign-up fee; give one, with the total amount"
        elif component.kind is ComponentKind.RECURRING:
            key = (component.kind, component.period)
            clash = f"more than one recurring charge per {component.period}; give one, with the total amount"
        elif component.kind is ComponentKind.USAGE:
            rate = component.rate
            if rate is None:  # pragma: no cover - PriceComponent refuses it
                raise InvalidComponent("a usage component needs a UsageRate")
            key = (component.kind, rate.key)
            usage_rates[rate.key] = component
            clash = f"more than one usage rate on {_where(rate.meter, rate.band)}; give one rate, with tiers if needed"
        else:
            rule = component.discount
            if rule is None:  # pragma: no cover - PriceComponent refuses it
                raise InvalidComponent(f"a {component.kind.value} component needs its rule")
            key = (component.kind, rule.meter, rule.band)
            if isinstance(rule, RangePricing):
                range_pricings.append((rule, component))
                clash = f"more than one range pricing on {_where(rule.meter, rule.band)}; give one, with its ranges"
            else:
                clash = f"more than one volume discount on {_where(rule.meter, rule.band)}; give one, with its ranges"
        if key in seen:
            raise InvalidComponent(clash)
        seen.add(key)
    for pricing, component in range_pricings:
        where = _where(pricing.meter, pricing.band)
        expected = pricing.realtime_rate()
        usage = usage_rates.get(expected.key)
        if usage is None or usage.rate != expected:
            price = pricing.ranges[0].price_micros
            found = f"it has {rate_to_json(usage.rate)}" if usage is not None and usage.rate else "it has none"
            raise InvalidComponent(
                f"a range pricing on {where} is charged in real time at its first range's price, so the version "
                f"needs the usage rate PriceComponent.usage(pricing.realtime_rate()): {price} micro-units per "
                f"{pricing.unit_size} base units, no allowance, increment 1, one tier; {found}"
            )
        if usage.tax_class != component.tax_class:
            raise InvalidComponent(
                f"the range pricing on {where} has tax class {component.tax_class!r} but gives back part of a "
                f"usage charge in tax class {usage.tax_class!r}; give both the same tax class"
            )
    return result


def rate_to_json(rate: UsageRate) -> dict[str, Any]:
    """A UsageRate as JSON of integers and strings (the JSONB of price_components.rate)."""
    value: dict[str, Any] = {
        "meter": rate.meter.value,
        "unit_size": rate.unit_size,
        "allowance": rate.allowance,
        "increment": rate.increment,
        "tiers": [{"start": tier.start, "price_micros": tier.price_micros} for tier in rate.tiers],
    }
    if rate.band is not None:
        value["band"] = rate.band
    return value


def rate_from_json(value: object) -> UsageRate:
    """The UsageRate `value` describes, or InvalidComponent saying what is wrong with it."""
    if not isinstance(value, Mapping):
        raise InvalidComponent(f"a usage rate must be an object with keys {sorted(RATE_KEYS)}, got {value!r}")
    unknown = set(value) - RATE_KEYS
    if unknown:
        raise InvalidComponent(
            f"a usage rate has unknown keys {sorted(map(str, unknown))}; allowed: {sorted(RATE_KEYS)}"
        )
    try:
        meter_name = value.get("meter")
        if not isinstance(meter_name, str):
            raise ValueError
        meter = Meter(meter_name)
    except ValueError:
        raise InvalidComponent(
            f"usage rate meter {value.get('meter')!r} is not one of {', '.join(m.value for m in Meter)}"
        ) from None
    tiers = value.get("tiers")
    if not isinstance(tiers, list | tuple):
        raise InvalidComponent(f"usage rate tiers must be a list of {{start, price_micros}}, got {tiers!r}")
    try:
        parsed: list[Tier] = []
        for tier in tiers:
            if not isinstance(tier, Mapping) or set(tier) != {"start", "price_micros"}:
                raise InvalidComponent(f"a tier must be an object with keys start and price_micros, got {tier!r}")
            parsed.append(Tier(tier["start"], tier["price_micros"]))
        return UsageRate(
            meter,
            value.get("unit_size"),  # type: ignore[arg-type]  # UsageRate checks it
            tuple(parsed),
            allowance=value.get("allowance", 0),
            increment=value.get("increment", 1),
            band=value.get("band"),
        )
    except RatingError as exc:
        raise InvalidComponent(f"invalid usage rate: {exc}") from None


def discount_to_json(rule: VolumeDiscount | RangePricing) -> dict[str, Any]:
    """A VolumeDiscount or RangePricing as JSON of integers and strings (the JSONB of
    price_components.rate for kinds volume_discount and range_pricing)."""
    value: dict[str, Any] = {"meter": rule.meter.value}
    if isinstance(rule, RangePricing):
        value["unit_size"] = rule.unit_size
        value["ranges"] = [{"start": item.start, "price_micros": item.price_micros} for item in rule.ranges]
    elif isinstance(rule, VolumeDiscount):
        value["ranges"] = [{"start": item.start, "basis_points": item.basis_points} for item in rule.ranges]
    else:
        raise InvalidComponent(f"a discount must be a VolumeDiscount or a RangePricing, got {rule!r}")
    if rule.band is not None:
        value["band"] = rule.band
    return value


def discount_from_json(kind: ComponentKind | str, value: object) -> VolumeDiscount | RangePricing:
    """The rule of a `kind` component ("volume_discount" or "range_pricing") that `value`
    describes, or InvalidComponent saying what is wrong with it."""
    try:
        rule_kind = ComponentKind(kind)
    except ValueError:
        rule_kind = None
    if rule_kind is None or rule_kind not in DISCOUNT_KINDS:
        raise InvalidComponent(
            f"a discount's kind must be one of {', '.join(k.value for k in DISCOUNT_KINDS)}, got {kind!r}"
        )
    pricing = rule_kind is ComponentKind.RANGE_PRICING
    name = rule_kind.value.replace("_", " ")
    what = f"a {name}"
    keys = RANGE_PRICING_KEYS if pricing else VOLUME_DISCOUNT_KEYS
    range_keys = frozenset({"start", "price_micros" if pricing else "basis_points"})
    if not isinstance(value, Mapping):
        raise InvalidComponent(f"{what} must be an object with keys {sorted(keys)}, got {value!r}")
    unknown = set(value) - keys
    if unknown:
        raise InvalidComponent(f"{what} has unknown keys {sorted(map(str, unknown))}; allowed: {sorted(keys)}")
    missing = keys - {"band"} - set(value)
    if missing:
        raise InvalidComponent(f"{what} lacks keys {sorted(missing)}; allowed: {sorted(keys)} (band is optional)")
    try:
        meter_name = value["meter"]
        if not isinstance(meter_name, str):
            raise ValueError
        meter = Meter(meter_name)
    except ValueError:
        raise InvalidComponent(
            f"{what}'s meter {value['meter']!r} is not one of {', '.join(m.value for m in Meter)}"
        ) from None
    ranges = value["ranges"]
    if not isinstance(ranges, list | tuple):
        raise InvalidComponent(f"{what}'s ranges must be a list of {{{', '.join(sorted(range_keys))}}}, got {ranges!r}")
    for item in ranges:
        if not isinstance(item, Mapping) or set(item) != range_keys:
            raise InvalidComponent(
                f"{what}'s range must be an object with keys {sorted(range_keys)} (no others), got {item!r}"
            )
    band = value.get("band")
    try:
        if pricing:
            return RangePricing(
                meter,
                value["unit_size"],
                tuple(PriceRange(item["start"], item["price_micros"]) for item in ranges),
                band=band,
            )
        return VolumeDiscount(
            meter, tuple(DiscountRange(item["start"], item["basis_points"]) for item in ranges), band=band
        )
    except RatingError as exc:
        raise InvalidComponent(f"invalid {name}: {exc}") from None
