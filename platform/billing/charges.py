"""What one customer owes for a period, line by line (pure: no I/O).

The bill run hands in the customer's *stretches*: a service on one plan version over
part of the period, with the post-paid usage recorded in it. Each stretch gives:

- its sign-up fee, if the service first became billable in this stretch;
- its recurring charges, prorated by day over the stretch (`rating.proration`); a
  monthly charge is billed per month, a yearly one in twelfths, each prorated;
- for a post-paid plan, its usage rated over the stretch's whole usage at once
  (allowances and tiers apply per period), with the version's volume discounts and
  quantity price ranges applied to the period's totals.

Prepaid usage is not here: it is charged from the prepaid balance as sessions run.

`price` then turns a charge into an invoice line, rounded once to the currency's minor
unit, half-even, with tax per line (`catalog.tax`): the customer is charged the rounded
amounts, revenue gets the exact net, and the difference goes to the rounding account,
so nothing is lost or invented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bureau.platform.catalog.components import ComponentKind, RecurringPeriod
from bureau.platform.catalog.tax import RatePart, tax_line
from bureau.platform.catalog.versions import PlanVersion
from bureau.platform.invoicing.document import InvoiceLine
from bureau.platform.money import divide_half_even, round_to_minor
from bureau.platform.rating import tariff
from bureau.platform.rating.charge import RatedLine, rate_usage
from bureau.platform.rating.discounts import RangePricing, VolumeDiscount, range_discount, volume_discount
from bureau.platform.rating.proration import prorate
from bureau.platform.rating.usage import Meter, Usage

from .period import Period

REVENUE_USAGE = "4000"
REVENUE_RECURRING = "4010"
REVENUE_SIGNUP = "4020"
MONTHS_PER_YEAR = 12
QUANTITY_PLACES = 4

_METERS = {
    Meter.SECONDS: "Time online",
    Meter.OCTETS_IN: "Data uploaded",
    Meter.OCTETS_OUT: "Data downloaded",
    Meter.OCTETS_TOTAL: "Data (upload and download)",
}
_UNITS = (
    (tariff.TERABYTE, "TB"),
    (tariff.GIGABYTE, "GB"),
    (tariff.MEGABYTE, "MB"),
    (tariff.KILOBYTE, "kB"),
)
_TIME_UNITS = ((tariff.HOUR, "hour"), (tariff.MINUTE, "minute"), (tariff.SECOND, "second"))


@dataclass(frozen=True, slots=True)
class Stretch:
    """A service on one plan version over [active_from, active_to) within the period."""

    service_id: int
    login: str
    plan_name: str
    postpaid: bool
    version: PlanVersion
    active_from: date
    active_to: date
    signup: bool  # the service first became billable in this stretch
    usage: Usage


@dataclass(frozen=True, slots=True)
class Charge:
    """One line before tax and rounding; `amount_micros` is exact (may be negative)."""

    service_id: int | None
    kind: str  # signup_fee, recurring, usage, discount
    description: str
    quantity: str
    unit: str
    unit_price_micros: int
    amount_micros: int
    tax_class: str
    account_code: str


@dataclass(frozen=True, slots=True)
class PricedLine:
    charge: Charge
    line: InvoiceLine
    revenue_micros: int  # exact net credited to the charge's revenue account
    rounding_micros: int  # rounded - exact, credited to the rounding account


def decimal_text(numerator: int, denominator: int, places: int = QUANTITY_PLACES) -> str:
    """numerator / denominator as a decimal string, half-even, trailing zeros dropped."""
    scaled = divide_half_even(numerator * 10**places, denominator)
    sign = "-" if scaled < 0 else ""
    whole, fraction = divmod(abs(scaled), 10**places)
    text = f"{whole}.{fraction:0{places}d}".rstrip("0").rstrip(".")
    return sign + text


def _last_day(end: date) -> date:
    return end - timedelta(days=1)


def recurring_charges(stretch: Stretch, period: Period) -> list[Charge]:
    days = (min(stretch.active_to, period.end) - max(stretch.active_from, period.start)).days
    if days <= 0:
        return []
    whole = days == period.days
    span = "" if whole else f", {stretch.active_from.isoformat()} to {_last_day(stretch.active_to).isoformat()}"
    out = []
    for component in stretch.version.components:
        if component.kind is not ComponentKind.RECURRING or component.amount_micros is None:
            continue
        amount = prorate(component.amount_micros, period.start, period.end, stretch.active_from, stretch.active_to)
        label = "monthly charge"
        if component.period is RecurringPeriod.YEAR:
            amount = divide_half_even(amount, MONTHS_PER_YEAR)
            label = "yearly charge, one twelfth"
        if amount == 0:
            continue
        out.append(
            Charge(
                service_id=stretch.service_id,
                kind="recurring",
                description=f"{stretch.plan_name} {label} ({stretch.login}){span}",
                quantity=decimal_text(days, period.days),
                unit="month",
                unit_price_micros=component.amount_micros
                if component.period is RecurringPeriod.MONTH
                else divide_half_even(component.amount_micros, MONTHS_PER_YEAR),
                amount_micros=amount,
                tax_class=component.tax_class,
                account_code=REVENUE_RECURRING,
            )
        )
    return out


def signup_charges(stretch: Stretch) -> list[Charge]:
    if not stretch.signup:
        return []
    return [
        Charge(
            service_id=stretch.service_id,
            kind="signup_fee",
            description=f"{stretch.plan_name} sign-up fee ({stretch.login})",
            quantity="1",
            unit="",
            unit_price_micros=component.amount_micros,
            amount_micros=component.amount_micros,
            tax_class=component.tax_class,
            account_code=REVENUE_SIGNUP,
        )
        for component in stretch.version.components
        if component.kind is ComponentKind.SIGNUP_FEE and component.amount_micros
    ]


def _unit_name(rate: tariff.UsageRate) -> tuple[str, int]:
    table = _TIME_UNITS if rate.meter is Meter.SECONDS else _UNITS
    for size, name in table:
        if rate.unit_size == size:
            return name, size
    return ("second" if rate.meter is Meter.SECONDS else "octets") + f" x {rate.unit_size}", rate.unit_size


def _marginal_price(rate: tariff.UsageRate, quantity: int) -> int:
    price = rate.tiers[0].price_micros
    for tier in rate.tiers:
        if tier.start < quantity:
            price = tier.price_micros
    return price


def usage_charges(stretch: Stretch) -> list[Charge]:
    if not stretch.postpaid:
        return []
    version = stretch.version
    # A range pricing always comes with its real-time rate on the same meter (the catalog
    # refuses it otherwise), so the usage line charges that rate and the discount below
    # credits the difference to the range the period's total reached.
    tax_of: dict[object, str] = {c.rate.key: c.tax_class for c in version.components if c.rate is not None}
    rated = rate_usage(version.rates, Usage(), stretch.usage)
    out = []
    for rated_line in rated.lines:
        rate = rated_line.rate
        if rated_line.quantity == 0:
            continue
        unit, size = _unit_name(rate)
        label = _METERS[rate.meter] + (f", {rate.band}" if rate.band else "")
        used = decimal_text(rated_line.quantity, size, 3)
        included = f", {decimal_text(rate.allowance, size, 3)} {unit} included" if rate.allowance else ""
        billable = max(rated_line.quantity - rated_line.allowance_consumed, 0)
        out.append(
            Charge(
                service_id=stretch.service_id,
                kind="usage",
                description=f"{stretch.plan_name}: {label}, {used} {unit} used{included} ({stretch.login})",
                quantity=decimal_text(billable, size, 3),
                unit=unit,
                unit_price_micros=_marginal_price(rate, rated_line.quantity),
                amount_micros=rated_line.charge_micros,
                tax_class=tax_of[rate.key],
                account_code=REVENUE_USAGE,
            )
        )
    out.extend(_discounts(stretch, rated.lines, tax_of))
    return out


def _discounts(stretch: Stretch, lines: Sequence[RatedLine], tax_of: dict[object, str]) -> list[Charge]:
    out = []
    charged = {line.rate.key: line.charge_micros for line in lines}
    for component in stretch.version.components:
        rule = component.discount
        if isinstance(rule, VolumeDiscount):
            key = (rule.meter, rule.band)
            off = volume_discount(rule, stretch.usage, charged.get(key, 0))
            label = "Volume discount"
        elif isinstance(rule, RangePricing):
            key = (rule.meter, rule.band)
            off = range_discount(rule, stretch.usage)
            label = "Quantity price"
        else:
            continue
        if off:
            out.append(_discount_charge(stretch, label, off, tax_of.get(key, component.tax_class)))
    return out


def _discount_charge(stretch: Stretch, label: str, off: int, tax_class: str) -> Charge:
    return Charge(
        service_id=stretch.service_id,
        kind="discount",
        description=f"{stretch.plan_name}: {label} ({stretch.login})",
        quantity="1",
        unit="",
        unit_price_micros=-off,
        amount_micros=-off,
        tax_class=tax_class,
        account_code=REVENUE_USAGE,
    )


def charges_for(stretches: Sequence[Stretch], period: Period) -> list[Charge]:
    """Every charge of one customer for `period`, in a stable order (by stretch)."""
    out: list[Charge] = []
    for stretch in stretches:
        out.extend(signup_charges(stretch))
        out.extend(recurring_charges(stretch, period))
        out.extend(usage_charges(stretch))
    return out


def price(charge: Charge, rates: Sequence[RatePart], currency: str) -> PricedLine:
    """The invoice line for `charge` under `rates` (see module docstring)."""
    rounded = round_to_minor(charge.amount_micros, currency)
    taxed = tax_line(rounded, rates)
    tax = round_to_minor(taxed.tax_micros, currency)
    inclusive = any(rate.inclusive for rate in rates)
    if inclusive:
        gross, net = rounded, rounded - tax
    else:
        net, gross = rounded, rounded + tax
    rate_bp = sum(rate.rate_bp for rate in rates)
    line = InvoiceLine(
        description=charge.description,
        quantity=charge.quantity,
        unit=charge.unit,
        unit_price_micros=charge.unit_price_micros,
        net_micros=net,
        tax_rate_bp=rate_bp,
        tax_micros=tax,
        gross_micros=gross,
    )
    return PricedLine(
        charge=charge,
        line=line,
        revenue_micros=charge.amount_micros - (tax if inclusive else 0),
        rounding_micros=rounded - charge.amount_micros,
    )
