"""Tax rates by locale, with effective dates (issue 3 "Catalog": taxes).

A rate applies to one tax class ("standard", "telecom", ...) in one locale: a country
(ISO 3166-1 alpha-2), optionally a state/province (`region`) and a city. It is in basis
points (2000 = 20 %), inclusive (VAT/GST in the price) or exclusive (added on top).

Rates of one series (same locale, tax class and name) follow each other in time like
plan versions: a new rate starts after the latest one, not before its explicit end, and
not in the past when it cuts an open-ended one short.

Lookup takes the most specific locale that has rates in effect: city over state over
country. The rates at that level replace the less specific ones (enter a city's
combined rate at the city level), and all rates at that level apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from .errors import InvalidTaxRate
from .tables import tax_rates
from .tax import MAX_RATE_BP, RatePart, TaxError
from .validate import check_instant, check_next_period, check_period, check_tax_class

COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
MAX_PLACE_LENGTH = 100
MAX_RATES_SCANNED = 1_000  # of one country and tax class, per lookup


def _place(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PLACE_LENGTH or value != value.strip():
        raise InvalidTaxRate(
            f"{what} must be text of 1 to {MAX_PLACE_LENGTH} characters without surrounding spaces, "
            f"or left out, got {value!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class Locale:
    """Where tax is due: country (ISO 3166-1 alpha-2, "US"), state/province, city."""

    country: str
    region: str | None = None
    city: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.country, str) or not COUNTRY_PATTERN.fullmatch(self.country):
            raise InvalidTaxRate(
                f"country must be an ISO 3166-1 alpha-2 code in capitals, such as 'US' or 'DE', got {self.country!r}"
            )
        _place(self.region, "state/province")
        _place(self.city, "city")

    @property
    def specificity(self) -> int:
        """2 for a city, 1 for a state/province, 0 for a whole country."""
        return 2 if self.city is not None else 1 if self.region is not None else 0

    def covers(self, other: Locale) -> bool:
        """Whether a rate for this locale applies in `other` (names compared case-blind)."""
        return (
            self.country == other.country
            and (self.region is None or _same(self.region, other.region))
            and (self.city is None or _same(self.city, other.city))
        )


def _same(a: str, b: str | None) -> bool:
    return b is not None and a.casefold() == b.casefold()


@dataclass(frozen=True, slots=True)
class TaxRate:
    id: int
    name: str
    locale: Locale
    tax_class: str
    rate_bp: int
    inclusive: bool
    effective_from: datetime
    effective_to: datetime | None

    @property
    def part(self) -> RatePart:
        """This rate as the pure tax maths takes it (`tax.tax_line`)."""
        return RatePart(self.name, self.rate_bp, self.inclusive)


def _tax_rate(row: Row[Any]) -> TaxRate:
    return TaxRate(
        id=row.id,
        name=row.name,
        locale=Locale(row.country, row.region, row.city),
        tax_class=row.tax_class,
        rate_bp=row.rate_bp,
        inclusive=row.inclusive,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
    )


def _series(rate: TaxRate) -> tuple[str | None, str | None, str]:
    return (
        rate.locale.region.casefold() if rate.locale.region else None,
        rate.locale.city.casefold() if rate.locale.city else None,
        rate.name.casefold(),
    )


async def _rates_of(conn: AsyncConnection, country: str, tax_class: str) -> list[TaxRate]:
    rows = await conn.execute(
        select(tax_rates)
        .where(tax_rates.c.country == country, tax_rates.c.tax_class == tax_class)
        .order_by(tax_rates.c.effective_from.desc(), tax_rates.c.id.desc())
        .limit(MAX_RATES_SCANNED)
    )
    return [_tax_rate(row) for row in reversed(rows.all())]  # oldest first


async def create_tax_rate(
    conn: AsyncConnection,
    *,
    name: str,
    locale: Locale,
    tax_class: str,
    rate_bp: int,
    inclusive: bool,
    effective_from: datetime,
    effective_to: datetime | None = None,
) -> TaxRate:
    """Add a tax rate for a locale and tax class, in effect from `effective_from`."""
    if not isinstance(locale, Locale):
        raise InvalidTaxRate(f"locale must be a Locale, got {locale!r}")
    try:
        part = RatePart(name, rate_bp, inclusive)
    except TaxError as exc:
        raise InvalidTaxRate(f"{exc} (basis points: 20 % is 2000, at most {MAX_RATE_BP})") from None
    check_tax_class(tax_class, InvalidTaxRate)
    start, end = check_period(effective_from, effective_to)
    # Serialise rate changes (of every tenant: one key, for a rare administrative change),
    # because the series check below reads before it writes.
    await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext("bureau.catalog.tax_rates"))))
    new_series = (
        locale.region.casefold() if locale.region else None,
        locale.city.casefold() if locale.city else None,
        name.casefold(),
    )
    series = [r for r in await _rates_of(conn, locale.country, tax_class) if _series(r) == new_series]
    latest = max(series, key=lambda r: r.effective_from, default=None)
    check_next_period(
        f"tax rate {name!r} ({tax_class}) of {_describe(locale)}",
        (latest.effective_from, latest.effective_to) if latest else None,
        start,
        datetime.now(UTC),
    )
    row_id = (
        await conn.execute(
            insert(tax_rates)
            .values(
                name=part.name,
                country=locale.country,
                region=locale.region,
                city=locale.city,
                tax_class=tax_class,
                rate_bp=part.rate_bp,
                inclusive=part.inclusive,
                effective_from=start,
                effective_to=end,
            )
            .returning(tax_rates.c.id)
        )
    ).scalar_one()
    await audit.record(
        conn,
        "catalog.tax_rate.create",
        f"tax_rate:{row_id}",
        name=name,
        country=locale.country,
        region=locale.region,
        city=locale.city,
        tax_class=tax_class,
        rate_bp=rate_bp,
        inclusive=inclusive,
        effective_from=start.isoformat(),
        effective_to=end.isoformat() if end else None,
    )
    return TaxRate(row_id, name, locale, tax_class, rate_bp, inclusive, start, end)


def _describe(locale: Locale) -> str:
    return "/".join(part for part in (locale.country, locale.region, locale.city) if part)


async def tax_rates_for(conn: AsyncConnection, locale: Locale, tax_class: str, when: datetime) -> tuple[TaxRate, ...]:
    """The rates of `tax_class` due in `locale` at `when`: those of the most specific
    matching locale level (city > state/province > country), by name. Empty if none."""
    if not isinstance(locale, Locale):
        raise InvalidTaxRate(f"locale must be a Locale, got {locale!r}")
    check_tax_class(tax_class, InvalidTaxRate)
    check_instant(when, "when")
    current: dict[tuple[str | None, str | None, str], TaxRate] = {}
    for rate in await _rates_of(conn, locale.country, tax_class):
        if rate.effective_from <= when and rate.locale.covers(locale):
            current[_series(rate)] = rate  # ordered by start: the latest started wins
    in_effect = [r for r in current.values() if r.effective_to is None or r.effective_to > when]
    if not in_effect:
        return ()
    level = max(r.locale.specificity for r in in_effect)
    return tuple(sorted((r for r in in_effect if r.locale.specificity == level), key=lambda r: r.name))
