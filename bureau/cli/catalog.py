"""`bureau plan …`, `bureau tax …`, `bureau class …`: a tenant's catalog from the shell.

Usage rates are written as one `--usage` option each (see USAGE_HELP and
docs/operator.md "Catalog"); amounts are exact decimals, never floats.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.catalog import classes, plans, taxes, versions
from bureau.platform.catalog.components import (
    DEFAULT_TAX_CLASS,
    ComponentKind,
    PriceComponent,
    RecurringPeriod,
    rate_to_json,
)
from bureau.platform.catalog.errors import CatalogError, NoVersionInEffect
from bureau.platform.catalog.tables import plans as plans_table
from bureau.platform.ledger.entities import isp_entity
from bureau.platform.money import format_amount
from bureau.platform.rating.errors import RatingError
from bureau.platform.rating.tariff import GIGABYTE, HOUR, KILOBYTE, MEGABYTE, MINUTE, SECOND, TERABYTE, Tier, UsageRate
from bureau.platform.rating.usage import Meter

from ._common import amount_micros, fail, instant, out, percent_bp, print_json, with_tenant
from .plan_radius import plan_radius

plan_app = typer.Typer(help="Create and show plans and their priced versions.", no_args_is_help=True)
version_app = typer.Typer(help="Add a plan's prices from a date on (versions are never rewritten).")
category_app = typer.Typer(help="Plan categories (Dial-up, DSL, …).", no_args_is_help=True)
plan_app.add_typer(version_app, name="version", no_args_is_help=True)
plan_app.add_typer(category_app, name="category")
plan_app.command("radius")(plan_radius)
tax_app = typer.Typer(help="Tax rates by locale and tax class, with effective dates.", no_args_is_help=True)
class_app = typer.Typer(help="Subscriber classes and the plans offered to them.", no_args_is_help=True)

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]

MAX_PLANS_LISTED = 1_000
TIME_UNITS = {"s": SECOND, "sec": SECOND, "second": SECOND, "min": MINUTE, "minute": MINUTE, "h": HOUR, "hour": HOUR}
VOLUME_UNITS = {"kb": KILOBYTE, "mb": MEGABYTE, "gb": GIGABYTE, "tb": TERABYTE}
# Priced units by name ("per hour"), quantities by symbol ("10 h", "10 GB").
TIME_NAMES = {SECOND: "second", MINUTE: "minute", HOUR: "hour"}
TIME_SYMBOLS = {SECOND: "s", MINUTE: "min", HOUR: "h"}
VOLUME_SYMBOLS = {KILOBYTE: "kB", MEGABYTE: "MB", GIGABYTE: "GB", TERABYTE: "TB"}
_QUANTITY = re.compile(r"(?P<number>[0-9]*)(?P<unit>[A-Za-z]*)", re.ASCII)
USAGE_HELP = (
    "A usage rate, METER:UNIT:PRICE[:OPTION…] (repeatable). METER: seconds, octets_in, octets_out or "
    "octets_total. UNIT, the priced unit: s, min, h; kB, MB, GB, TB (SI); or whole base units (seconds, "
    "octets). PRICE: amount per unit, e.g. 10.00. OPTIONs: allowance=QTY (included per period), "
    "increment=QTY (charged in blocks), tier=QTY@PRICE (from QTY on, repeatable), band=NAME (time of day, "
    "seconds only), tax=CLASS. QTY: base units, or a number and unit such as 10GB or 60s. "
    'Example: "octets_total:GB:10.00:allowance=10GB".'
)


# --- usage rate syntax (pure) ---


def _units_for(meter: Meter) -> dict[str, int]:
    return TIME_UNITS if meter is Meter.SECONDS else VOLUME_UNITS


def _quantity(text: str, meter: Meter, what: str) -> int:
    """Base units of "10GB", "60s", "GB" (one) or "3600" on `meter`; a unit of the other kind is refused."""
    match = _QUANTITY.fullmatch(text.strip())
    if match is None or not text.strip():
        raise ValueError(f"{what} {text!r} must be a whole number, optionally with a unit such as 10GB or 60s")
    unit = match["unit"].lower()
    number = int(match["number"] or "1")
    if not unit:
        return number
    units = _units_for(meter)
    if unit not in units:
        raise ValueError(
            f"{what} {text!r}: unit {match['unit']!r} does not measure {meter.value}; use {units_of(meter)}"
        )
    return number * units[unit]


def units_of(meter: Meter) -> str:
    return ", ".join(("s", "min", "h") if meter is Meter.SECONDS else ("kB", "MB", "GB", "TB"))


def parse_usage(spec: str, default_tax_class: str) -> PriceComponent:
    """The usage component a `--usage` option describes (see USAGE_HELP)."""
    parts = spec.split(":")
    if len(parts) < 3:
        fail(f"--usage {spec!r} must be METER:UNIT:PRICE[:OPTION…], e.g. octets_total:GB:10.00:allowance=10GB")
    meter_name, unit_text, price_text, *options = parts
    try:
        meter = Meter(meter_name.strip())
    except ValueError:
        fail(f"--usage {spec!r}: meter {meter_name!r} is not one of {', '.join(m.value for m in Meter)}")
    price = amount_micros(price_text, f"--usage {spec!r}: price")
    tiers = [Tier(0, price)]
    settings: dict[str, Any] = {"allowance": 0, "increment": 1, "band": None}
    tax_class = default_tax_class
    try:
        unit_size = _quantity(unit_text, meter, "unit")
        for option in options:
            key, eq, value = option.partition("=")
            key = key.strip()
            if not eq:
                raise ValueError(f"option {option!r} must be KEY=VALUE (allowance, increment, tier, band, tax)")
            if key in ("allowance", "increment"):
                settings[key] = _quantity(value, meter, key)
            elif key == "tier":
                start, at, tier_price = value.partition("@")
                if not at:
                    raise ValueError(f"tier {value!r} must be QTY@PRICE, such as 100GB@5.00")
                tiers.append(
                    Tier(
                        _quantity(start, meter, "tier start"),
                        amount_micros(tier_price, f"--usage {spec!r}: tier price"),
                    )
                )
            elif key == "band":
                settings["band"] = value
            elif key == "tax":
                tax_class = value
            else:
                raise ValueError(f"unknown option {key!r}; allowed: allowance, increment, tier, band, tax")
        rate = UsageRate(meter, unit_size, tuple(tiers), **settings)
        return PriceComponent.usage(rate, tax_class=tax_class)
    except (ValueError, RatingError, CatalogError) as exc:
        fail(f"--usage {spec!r}: {exc}")


# --- shaping output ---


def _unit_name(meter: Meter, unit_size: int) -> str:
    names = TIME_NAMES if meter is Meter.SECONDS else VOLUME_SYMBOLS
    return names.get(unit_size) or f"{unit_size} {'seconds' if meter is Meter.SECONDS else 'octets'}"


def _quantity_text(meter: Meter, quantity: int) -> str:
    symbols = TIME_SYMBOLS if meter is Meter.SECONDS else {1: "octets", **VOLUME_SYMBOLS}
    size = max((s for s in symbols if quantity % s == 0), default=1) if quantity else 1
    return f"{quantity // size} {symbols[size]}"


def describe(component: PriceComponent, currency: str) -> str:
    """One line for a person: "29.99 USD per month", "10.00 USD per GB, 10 GB included"."""
    if component.rate is None:
        amount = format_amount(component.amount_micros or 0, currency, precise=True)
        if component.kind is ComponentKind.SIGNUP_FEE:
            return f"sign-up fee {amount}"
        return f"{amount} per {component.period}"
    rate = component.rate
    meter = f"{rate.meter.value}{f' ({rate.band})' if rate.band else ''}"
    unit = _unit_name(rate.meter, rate.unit_size)
    prices = [f"{format_amount(rate.tiers[0].price_micros, currency, precise=True)} per {unit}"]
    prices += [
        f"{format_amount(t.price_micros, currency, precise=True)} from {_quantity_text(rate.meter, t.start)}"
        for t in rate.tiers[1:]
    ]
    extra = [f"{_quantity_text(rate.meter, rate.allowance)} included"] if rate.allowance else []
    if rate.increment > 1:
        extra.append(f"in blocks of {_quantity_text(rate.meter, rate.increment)}")
    return f"{meter}: {', '.join(prices + extra)}"


def _plan_dict(plan: plans.Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "code": plan.code,
        "name": plan.name,
        "category": plan.category,
        "billing": plan.billing.value,
        "status": plan.status.value,
    }


def _component_dict(component: PriceComponent, currency: str) -> dict[str, Any]:
    return {
        "kind": component.kind.value,
        "tax_class": component.tax_class,
        "amount_micros": component.amount_micros,
        "period": component.period.value if component.period else None,
        "rate": rate_to_json(component.rate) if component.rate else None,
        "text": describe(component, currency),
    }


def _version_dict(version: versions.PlanVersion, currency: str) -> dict[str, Any]:
    return {
        "plan": version.plan.code,
        "version": version.version,
        "effective_from": version.effective_from.isoformat(),
        "effective_to": version.effective_to.isoformat() if version.effective_to else None,
        "currency": currency,
        "components": [_component_dict(c, currency) for c in version.components],
    }


def _print_version(version: versions.PlanVersion, currency: str) -> None:
    until = version.effective_to.isoformat() if version.effective_to else "no end"
    out.print(f"version {version.version}, from {version.effective_from.isoformat()} until {until}:", markup=False)
    for component in version.components:
        out.print(f"  {describe(component, currency)}  [tax class {component.tax_class}]", markup=False)


# --- plan ---


@category_app.command("create")
def category_create(
    code: Annotated[str, typer.Argument(help="Category code, e.g. dsl.")],
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Name shown to people, e.g. DSL.")],
) -> None:
    """Create a plan category."""
    category = with_tenant(tenant, lambda conn: plans.create_category(conn, code, name))
    out.print(f"created plan category {category.code} ({category.name})", markup=False)


@plan_app.command("create")
def plan_create(
    code: Annotated[str, typer.Argument(help="Plan code, e.g. dsl-10.")],
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Name shown to people.")],
    category: Annotated[str, typer.Option(help="Category code (create it with `bureau plan category create`).")],
    billing: Annotated[plans.Billing, typer.Option(help="Prepaid (funds first) or post-paid (invoiced).")],
    status: Annotated[plans.PlanStatus, typer.Option(help="Retired plans are no longer sold.")] = (
        plans.PlanStatus.ACTIVE
    ),
    as_json: JsonFlag = False,
) -> None:
    """Create a plan; its prices come with `bureau plan version add`."""
    plan = with_tenant(
        tenant, lambda conn: plans.create_plan(conn, code, name, category=category, billing=billing, status=status)
    )
    if as_json:
        print_json(_plan_dict(plan))
    else:
        out.print(f"created plan {plan.code} ({plan.name}, {plan.billing.value}, {plan.category})", markup=False)


@plan_app.command("show")
def plan_show(
    code: Annotated[str, typer.Argument(help="Plan code.")],
    tenant: TenantOpt,
    at: Annotated[str | None, typer.Option("--at", help="Show the version in effect then (default now).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a plan and the version of its prices in effect now (or --at a date)."""
    when = instant(at, "--at") if at else datetime.now(UTC)

    async def job(conn: AsyncConnection) -> tuple[plans.Plan, versions.PlanVersion | None, str]:
        plan = await plans.get_plan(conn, code)
        currency = (await isp_entity(conn)).currency
        try:
            return plan, await versions.plan_version_at(conn, code, when), currency
        except NoVersionInEffect:
            return plan, None, currency

    plan, version, currency = with_tenant(tenant, job)
    if as_json:
        print_json(
            {
                "plan": _plan_dict(plan),
                "at": when.isoformat(),
                "version": _version_dict(version, currency) if version else None,
            }
        )
        return
    out.print(
        f"[bold]{plan.code}[/bold]: {escape(plan.name)} ({plan.billing.value}, {plan.category}, {plan.status.value})"
    )
    if version is None:
        out.print(f"no version in effect at {when.isoformat()}: add one with `bureau plan version add`", markup=False)
    else:
        _print_version(version, currency)


@plan_app.command("list")
def plan_list(tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """List the tenant's plans by code."""

    async def job(conn: AsyncConnection) -> list[plans.Plan]:
        # No list service in the catalog yet: the catalog's own query, bounded.
        query = plans.plan_query().order_by(plans_table.c.code).limit(MAX_PLANS_LISTED)
        return [plans.plan_from_row(row) for row in await conn.execute(query)]

    found = with_tenant(tenant, job)
    if as_json:
        print_json([_plan_dict(p) for p in found])
        return
    table = Table("code", "name", "category", "billing", "status")
    for p in found:
        table.add_row(p.code, escape(p.name), p.category, p.billing.value, p.status.value)
    out.print(table if found else "no plans yet: create one with `bureau plan create CODE --name … --category …`")


@version_app.command("add")
def version_add(
    code: Annotated[str, typer.Argument(help="Plan code.")],
    tenant: TenantOpt,
    start: Annotated[str, typer.Option("--from", help="In effect from (2026-01-01 is midnight UTC, or ISO time).")],
    end: Annotated[
        str | None, typer.Option("--to", help="Ends at (exclusive); default: until the next version.")
    ] = None,
    signup_fee: Annotated[str | None, typer.Option(help="One-off sign-up fee, e.g. 15.00.")] = None,
    monthly: Annotated[str | None, typer.Option(help="Recurring charge per month, e.g. 29.99.")] = None,
    yearly: Annotated[str | None, typer.Option(help="Recurring charge per year.")] = None,
    usage: Annotated[list[str] | None, typer.Option(help=USAGE_HELP)] = None,
    tax_class: Annotated[str, typer.Option(help="Tax class of the components (a usage rate may say tax=…).")] = (
        DEFAULT_TAX_CLASS
    ),
    as_json: JsonFlag = False,
) -> None:
    """Add the next version of a plan's prices: the components given, from --from on."""
    since = instant(start, "--from")
    until = instant(end, "--to") if end else None
    components: list[PriceComponent] = []
    try:
        if signup_fee is not None:
            components.append(PriceComponent.signup_fee(amount_micros(signup_fee, "--signup-fee"), tax_class=tax_class))
        for amount, option, period in (
            (monthly, "--monthly", RecurringPeriod.MONTH),
            (yearly, "--yearly", RecurringPeriod.YEAR),
        ):
            if amount is not None:
                components.append(PriceComponent.recurring(amount_micros(amount, option), period, tax_class=tax_class))
    except CatalogError as exc:
        fail(str(exc))
    components += [parse_usage(spec, tax_class) for spec in usage or ()]
    if not components:
        fail("give at least one price: --signup-fee, --monthly, --yearly or --usage")

    async def job(conn: AsyncConnection) -> tuple[versions.PlanVersion, str]:
        added = await versions.add_plan_version(
            conn, code, effective_from=since, effective_to=until, components=components
        )
        return added, (await isp_entity(conn)).currency

    version, currency = with_tenant(tenant, job)
    if as_json:
        print_json(_version_dict(version, currency))
        return
    out.print(f"added to plan {version.plan.code}:", markup=False)
    _print_version(version, currency)


# --- tax ---


@tax_app.command("add")
def tax_add(
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Name on invoices, e.g. 'Sales tax' or 'VAT'.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code, e.g. US.")],
    rate: Annotated[str, typer.Option(help="Percent, e.g. 8.25 (exact, at most two decimals).")],
    start: Annotated[str, typer.Option("--from", help="In effect from (2026-01-01 is midnight UTC).")],
    state: Annotated[str | None, typer.Option(help="State or province; leave out for the whole country.")] = None,
    city: Annotated[str | None, typer.Option(help="City (its combined rate); needs --state.")] = None,
    tax_class: Annotated[str, typer.Option("--class", help="Tax class the rate applies to.")] = DEFAULT_TAX_CLASS,
    inclusive: Annotated[
        bool, typer.Option("--inclusive/--exclusive", help="Included in prices (VAT) or added on top (sales tax).")
    ] = False,
    end: Annotated[str | None, typer.Option("--to", help="Ends at (exclusive); default: no end.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a tax rate for a locale (country, state, city) and tax class."""
    rate_bp = percent_bp(rate, "--rate")
    since = instant(start, "--from")
    until = instant(end, "--to") if end else None
    try:
        locale = taxes.Locale(country, state, city)
    except CatalogError as exc:
        fail(str(exc))
    added = with_tenant(
        tenant,
        lambda conn: taxes.create_tax_rate(
            conn,
            name=name,
            locale=locale,
            tax_class=tax_class,
            rate_bp=rate_bp,
            inclusive=inclusive,
            effective_from=since,
            effective_to=until,
        ),
    )
    where = "/".join(p for p in (added.locale.country, added.locale.region, added.locale.city) if p)
    if as_json:
        print_json(
            {
                "id": added.id,
                "name": added.name,
                "country": added.locale.country,
                "state": added.locale.region,
                "city": added.locale.city,
                "tax_class": added.tax_class,
                "rate_bp": added.rate_bp,
                "inclusive": added.inclusive,
                "effective_from": added.effective_from.isoformat(),
                "effective_to": added.effective_to.isoformat() if added.effective_to else None,
            }
        )
        return
    kind = "inclusive" if added.inclusive else "exclusive"
    percent = f"{added.rate_bp // 100}.{added.rate_bp % 100:02d} %"
    out.print(
        f"added tax rate {added.id}: {added.name} {percent} ({kind}) on {added.tax_class} in {where} "
        f"from {added.effective_from.isoformat()}",
        markup=False,
    )


# --- subscriber classes ---


@class_app.command("create")
def class_create(
    code: Annotated[str, typer.Argument(help="Class code, e.g. residential.")],
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Name shown to people.")],
) -> None:
    """Create a subscriber class."""
    created = with_tenant(tenant, lambda conn: classes.create_subscriber_class(conn, code, name))
    out.print(f"created subscriber class {created.code} ({created.name})", markup=False)


@class_app.command("link")
def class_link(
    class_code: Annotated[str, typer.Argument(metavar="CLASS", help="Subscriber class code.")],
    plan: Annotated[str, typer.Argument(help="Plan code to offer to the class.")],
    tenant: TenantOpt,
) -> None:
    """Offer a plan to a subscriber class (linking twice changes nothing)."""
    linked = with_tenant(tenant, lambda conn: classes.link_plan_to_class(conn, class_code, plan))
    state = "linked" if linked else "already linked"
    out.print(f"plan {plan} {state} to subscriber class {class_code}", markup=False)
