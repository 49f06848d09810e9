"""Plan versions with volume discounts and quantity range pricings, on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bureau.platform.audit.tables import audit_log
from bureau.platform.catalog.components import ComponentKind, PriceComponent
from bureau.platform.catalog.errors import InvalidComponent
from bureau.platform.catalog.plans import create_category, create_plan
from bureau.platform.catalog.tables import plan_versions, price_components
from bureau.platform.catalog.versions import add_plan_version, plan_version_at
from bureau.platform.rating.charge import rate_usage
from bureau.platform.rating.discounts import (
    DiscountRange,
    PriceRange,
    RangePricing,
    VolumeDiscount,
    range_discount,
    volume_discount,
)
from bureau.platform.rating.tariff import GIGABYTE, HOUR, UsageRate
from bureau.platform.rating.usage import Meter, Usage
from bureau.tenants.routing import tenant_unit

DOLLAR = 1_000_000
JAN = datetime(2026, 1, 1, tzinfo=UTC)
# All units: 12.00 per GB under 10 GB, 9.00 per GB for all of it from 10 GB.
RANGES = RangePricing(Meter.OCTETS_TOTAL, GIGABYTE, (PriceRange(0, 12 * DOLLAR), PriceRange(10 * GIGABYTE, 9 * DOLLAR)))
OVER_100_GB = VolumeDiscount(Meter.OCTETS_TOTAL, (DiscountRange(100 * GIGABYTE + 1, 2_000),))  # 20 % off
NIGHT = VolumeDiscount(Meter.SECONDS, (DiscountRange(0, 500), DiscountRange(10 * HOUR, 1_000)), band="night")
COMPONENTS = [
    PriceComponent.recurring(29_990_000),
    PriceComponent.range_pricing(RANGES, tax_class="telecom"),
    PriceComponent.volume_discount(OVER_100_GB, tax_class="telecom"),
    PriceComponent.usage(RANGES.realtime_rate(), tax_class="telecom"),
    PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, DOLLAR, band="night")),
    PriceComponent.volume_discount(NIGHT),
]


@pytest.fixture
async def unit(engine, make_tenant):
    tenant = await make_tenant("cat")

    def open_unit():
        return tenant_unit(engine, tenant.ref, actor="test")

    async with open_unit() as conn:
        await create_category(conn, "dsl", "DSL")
        await create_plan(conn, "dsl-volume", "DSL volume", category="dsl", billing="postpaid")
    return open_unit


async def test_a_version_with_discounts_comes_back_as_it_was_added(unit) -> None:
    async with unit() as conn:
        added = await add_plan_version(conn, "dsl-volume", effective_from=JAN, components=COMPONENTS)
    async with unit() as conn:
        version = await plan_version_at(conn, "dsl-volume", JAN + timedelta(days=40))
    assert version == added
    assert version.components == tuple(COMPONENTS)
    assert version.volume_discounts == (OVER_100_GB, NIGHT)
    assert version.range_pricings == (RANGES,)
    assert version.rates == (RANGES.realtime_rate(), UsageRate.flat(Meter.SECONDS, HOUR, DOLLAR, band="night"))
    # Real time charges 12.00 per GB; at period end 20 GB cost 9.00 per GB: 60.00 back.
    twenty_gb = Usage(octets_in=5 * GIGABYTE, octets_out=15 * GIGABYTE)
    assert rate_usage(version.rates, Usage(), twenty_gb).charge_micros == 240 * DOLLAR
    assert range_discount(version.range_pricings[0], twenty_gb) == 60 * DOLLAR
    assert volume_discount(version.volume_discounts[0], Usage(octets_in=101 * GIGABYTE), 100 * DOLLAR) == 20 * DOLLAR


async def test_a_discount_is_stored_as_json_in_rate_with_no_amount_and_audited_in_full(unit) -> None:
    async with unit() as conn:
        await add_plan_version(conn, "dsl-volume", effective_from=JAN, components=COMPONENTS)
    async with unit() as conn:
        rows = (await conn.execute(select(price_components).order_by(price_components.c.position))).all()
        audited = (
            await conn.execute(select(audit_log.c.details).where(audit_log.c.action == "catalog.plan_version.add"))
        ).scalar_one()
    assert [r.kind for r in rows] == [c.kind.value for c in COMPONENTS]
    pricing = {
        "meter": "octets_total",
        "unit_size": GIGABYTE,
        "ranges": [{"start": 0, "price_micros": 12 * DOLLAR}, {"start": 10 * GIGABYTE, "price_micros": 9 * DOLLAR}],
    }
    assert (rows[1].amount_micros, rows[1].recurring_period, rows[1].rate) == (None, None, pricing)
    assert rows[5].rate == {
        "meter": "seconds",
        "band": "night",
        "ranges": [{"start": 0, "basis_points": 500}, {"start": 10 * HOUR, "basis_points": 1_000}],
    }
    assert audited["components"][1] == {
        "kind": ComponentKind.RANGE_PRICING.value,
        "tax_class": "telecom",
        "amount_micros": None,
        "period": None,
        "rate": pricing,
    }
    assert [c["rate"] for c in audited["components"]] == [r.rate for r in rows]


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ([PriceComponent.range_pricing(RANGES)], "needs the usage rate"),
        (
            [PriceComponent.volume_discount(OVER_100_GB), PriceComponent.volume_discount(OVER_100_GB)],
            "more than one volume discount on meter octets_total",
        ),
    ],
)
async def test_a_bad_set_of_discounts_is_refused_and_nothing_is_written(unit, components, message) -> None:
    with pytest.raises(InvalidComponent, match=message):
        async with unit() as conn:
            await add_plan_version(conn, "dsl-volume", effective_from=JAN, components=components)
    async with unit() as conn:
        assert (await conn.execute(select(func.count()).select_from(plan_versions))).scalar_one() == 0
