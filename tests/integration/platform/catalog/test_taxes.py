"""Tax rates by locale and effective date on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bureau.platform.audit.tables import audit_log
from bureau.platform.catalog.errors import InvalidCatalogValue, InvalidTaxRate, OverlappingPeriod
from bureau.platform.catalog.tax import tax_line
from bureau.platform.catalog.taxes import Locale, create_tax_rate, tax_rates_for
from bureau.tenants.routing import tenant_unit

JAN = datetime(2026, 1, 1, tzinfo=UTC)
JUL = datetime(2026, 7, 1, tzinfo=UTC)
FUTURE = datetime(2031, 1, 1, tzinfo=UTC)

US = Locale("US")
NY = Locale("US", "NY")
NYC = Locale("US", "NY", "New York")
BUFFALO = Locale("US", "NY", "Buffalo")
TX_AUSTIN = Locale("US", "TX", "Austin")


@pytest.fixture
async def unit(engine, make_tenant):
    tenant = await make_tenant("tax")

    def open_unit():
        return tenant_unit(engine, tenant.ref, actor="test")

    return open_unit


async def add(unit, name: str, locale: Locale, rate_bp: int, **fields):
    fields.setdefault("tax_class", "standard")
    fields.setdefault("inclusive", False)
    fields.setdefault("effective_from", JAN)
    async with unit() as conn:
        return await create_tax_rate(conn, name=name, locale=locale, rate_bp=rate_bp, **fields)


async def rates(unit, locale: Locale, when: datetime = JUL, tax_class: str = "standard") -> list[tuple[str, int]]:
    async with unit() as conn:
        return [(r.name, r.rate_bp) for r in await tax_rates_for(conn, locale, tax_class, when)]


async def test_the_most_specific_locale_wins_city_over_state_over_country(unit) -> None:
    await add(unit, "Federal", US, 100)
    await add(unit, "NY state", NY, 400)
    await add(unit, "NYC combined", NYC, 887)
    assert await rates(unit, NYC) == [("NYC combined", 887)]
    assert await rates(unit, BUFFALO) == [("NY state", 400)]  # no Buffalo rate: the state's
    assert await rates(unit, TX_AUSTIN) == [("Federal", 100)]  # nothing for Texas: the country's
    assert await rates(unit, Locale("US", "ny", "NEW YORK")) == [("NYC combined", 887)]  # names are case-blind
    assert await rates(unit, Locale("CA", "ON")) == []


async def test_every_rate_at_the_most_specific_level_applies(unit) -> None:
    await add(unit, "GST", Locale("CA"), 500)
    await add(unit, "PST", Locale("CA", "BC"), 700)
    await add(unit, "GST", Locale("CA", "BC"), 500)
    assert await rates(unit, Locale("CA", "BC", "Vancouver")) == [("GST", 500), ("PST", 700)]
    assert await rates(unit, Locale("CA", "AB")) == [("GST", 500)]


async def test_a_rate_applies_only_within_its_effective_dates(unit) -> None:
    await add(unit, "VAT", Locale("DE"), 1600, inclusive=True, effective_from=JUL, effective_to=FUTURE)
    await add(unit, "VAT", Locale("DE"), 1900, inclusive=True, effective_from=FUTURE)
    assert await rates(unit, Locale("DE"), JUL - timedelta(microseconds=1)) == []
    assert await rates(unit, Locale("DE"), JUL) == [("VAT", 1600)]
    assert await rates(unit, Locale("DE"), FUTURE - timedelta(microseconds=1)) == [("VAT", 1600)]
    assert await rates(unit, Locale("DE"), FUTURE) == [("VAT", 1900)]


async def test_when_a_city_rate_ends_the_state_rate_applies_again(unit) -> None:
    await add(unit, "NY state", NY, 400)
    await add(unit, "NYC combined", NYC, 887, effective_to=JUL)
    assert await rates(unit, NYC, JUL - timedelta(days=1)) == [("NYC combined", 887)]
    assert await rates(unit, NYC, JUL) == [("NY state", 400)]


async def test_a_later_rate_of_the_same_series_supersedes_an_open_ended_one_from_its_start(unit) -> None:
    await add(unit, "VAT", Locale("GB"), 2000, inclusive=True)
    await add(unit, "VAT", Locale("GB"), 2200, inclusive=True, effective_from=FUTURE)
    assert await rates(unit, Locale("GB"), FUTURE - timedelta(days=1)) == [("VAT", 2000)]
    assert await rates(unit, Locale("GB"), FUTURE) == [("VAT", 2200)]


async def test_overlapping_or_retroactive_rates_of_one_series_are_refused(unit) -> None:
    await add(unit, "VAT", Locale("FR"), 2000, effective_to=FUTURE)
    with pytest.raises(OverlappingPeriod, match="start on or after 2031-01-01"):
        await add(unit, "VAT", Locale("FR"), 2100, effective_from=JUL)
    with pytest.raises(OverlappingPeriod, match="must start after 2026-01-01"):
        await add(unit, "VAT", Locale("FR"), 2100, effective_from=JAN)
    await add(unit, "VAT", Locale("IT"), 2200)
    with pytest.raises(OverlappingPeriod, match="may have been billed"):
        await add(unit, "VAT", Locale("IT"), 2100, effective_from=JUL)
    # Another name, locale or tax class is another series.
    await add(unit, "Digital levy", Locale("FR"), 300, effective_from=JUL)
    await add(unit, "VAT", Locale("FR"), 550, tax_class="reduced", effective_from=JUL)
    assert await rates(unit, Locale("FR")) == [("Digital levy", 300), ("VAT", 2000)]
    assert await rates(unit, Locale("FR"), tax_class="reduced") == [("VAT", 550)]


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"rate_bp": 20.0}, InvalidTaxRate, r"whole number .* 20 % is 2000"),
        ({"rate_bp": 10_001}, InvalidTaxRate, "between 0 and 10000"),
        ({"inclusive": "yes"}, InvalidTaxRate, "True or False"),
        ({"tax_class": "Standard"}, InvalidTaxRate, "tax class 'Standard'"),
        ({"effective_from": datetime(2026, 1, 1)}, InvalidCatalogValue, "timezone-aware"),
        ({"locale": "US"}, InvalidTaxRate, "must be a Locale"),
    ],
)
async def test_a_malformed_tax_rate_is_refused_with_what_is_allowed(unit, fields, error, message) -> None:
    values = {"name": "VAT", "locale": US, "tax_class": "standard", "rate_bp": 2000, "inclusive": True}
    values["effective_from"] = JAN
    values.update(fields)
    with pytest.raises(error, match=message):
        async with unit() as conn:
            await create_tax_rate(conn, **values)


@pytest.mark.parametrize(
    ("country", "region", "city", "message"),
    [
        ("us", None, None, "ISO 3166-1 alpha-2"),
        ("USA", None, None, "ISO 3166-1 alpha-2"),
        ("US", "", None, "state/province"),
        ("US", "NY", " New York", "city"),
    ],
)
def test_a_malformed_locale_is_refused(country, region, city, message) -> None:
    with pytest.raises(InvalidTaxRate, match=message):
        Locale(country, region, city)


async def test_dsl_10_monthly_charge_is_taxed_with_the_rates_of_its_locale(unit) -> None:
    await add(unit, "NYC combined", NYC, 887)
    async with unit() as conn:
        found = await tax_rates_for(conn, NYC, "standard", JUL)
    line = tax_line(29_990_000, [rate.part for rate in found])
    assert (line.net_micros, line.tax_micros, line.gross_micros) == (29_990_000, 2_660_113, 32_650_113)


async def test_creating_a_tax_rate_writes_an_audit_record(unit) -> None:
    created = await add(unit, "NYC combined", NYC, 887)
    async with unit() as conn:
        row = (await conn.execute(select(audit_log).where(audit_log.c.action == "catalog.tax_rate.create"))).one()
    assert row.subject == f"tax_rate:{created.id}"
    assert row.details["rate_bp"] == 887
    assert row.details["city"] == "New York"
