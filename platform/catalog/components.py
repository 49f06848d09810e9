"""Price components of a plan version, and usage rates as JSON of integers and strings.

A component is a sign-up fee, a recurring charge (per month or per year) or a usage
rate (a `bureau.platform.rating.tariff.UsageRate`). Amounts are integer micro-units;
floats and bools are refused. Each component carries a tax class ("standard" unless
said otherwise), which picks the tax rates that apply to it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bureau.platform.money import MAX_ABS_MICROS
from bureau.platform.rating.errors import RatingError
from bureau.platform.rating.tariff import Tier, UsageRate
from bureau.platform.rating.usage import Meter

from .errors import InvalidComponent
from .validate import check_tax_class

MAX_COMPONENTS = 32  # per plan version
DEFAULT_TAX_CLASS = "standard"
RATE_KEYS = frozenset({"meter", "unit_size", "allowance", "increment", "band", "tiers"})


class ComponentKind(enum.StrEnum):
    SIGNUP_FEE = "signup_fee"
    RECURRING = "recurring"
    USAGE = "usage"


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
    """One price of a plan version; build it with `signup_fee`, `recurring` or `usage`."""

    kind: ComponentKind
    tax_class: str = DEFAULT_TAX_CLASS
    amount_micros: int | None = None  # sign-up fee and recurring charge
    period: RecurringPeriod | None = None  # recurring charge only
    rate: UsageRate | None = None  # usage only

    def __post_init__(self) -> None:
        try:
            kind = ComponentKind(self.kind)
        except ValueError:
            raise InvalidComponent(
                f"component kind {self.kind!r} is not one of {', '.join(k.value for k in ComponentKind)}"
            ) from None
        object.__setattr__(self, "kind", kind)
        check_tax_class(self.tax_class, InvalidComponent)
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


def check_components(components: Sequence[PriceComponent]) -> tuple[PriceComponent, ...]:
    """The components of one version: 1 to MAX_COMPONENTS, at most one sign-up fee, one
    recurring charge per period and one usage rate per meter (and band)."""
    if isinstance(components, PriceComponent) or not isinstance(components, Sequence):
        raise InvalidComponent(f"components must be a sequence of PriceComponent, got {components!r}")
    result = tuple(components)
    if not 1 <= len(result) <= MAX_COMPONENTS:
        raise InvalidComponent(f"a plan version needs 1 to {MAX_COMPONENTS} price components, got {len(result)}")
    seen: set[object] = set()
    for component in result:
        if not isinstance(component, PriceComponent):
            raise InvalidComponent(f"components must be PriceComponent values, got {component!r}")
        if component.kind is ComponentKind.SIGNUP_FEE:
            key: object = component.kind
            clash = "more than one sign-up fee; give one, with the total amount"
        elif component.kind is ComponentKind.RECURRING:
            key = (component.kind, component.period)
            clash = f"more than one recurring charge per {component.period}; give one, with the total amount"
        else:
            rate = component.rate
            if rate is None:  # pragma: no cover - PriceComponent refuses it
                raise InvalidComponent("a usage component needs a UsageRate")
            key = (component.kind, rate.key)
            band = f" in band {rate.band!r}" if rate.band else ""
            clash = f"more than one usage rate on meter {rate.meter.value}{band}; give one rate, with tiers if needed"
        if key in seen:
            raise InvalidComponent(clash)
        seen.add(key)
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
