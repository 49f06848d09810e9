"""Plans, categories and plan versions on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from bureau.platform.audit.tables import audit_log
from bureau.platform.catalog.components import PriceComponent, RecurringPeriod, rate_from_json, rate_to_json
from bureau.platform.catalog.errors import (
    DuplicateCode,
    InvalidCatalogValue,
    InvalidComponent,
    NotFound,
    NoVersionInEffect,
    OverlappingPeriod,
)
from bureau.platform.catalog.plans import Billing, create_category, create_plan
from bureau.platform.catalog.tables import plan_versions, price_components
from bureau.platform.catalog.versions import add_plan_version, plan_version_at
from bureau.platform.rating.charge import rate_usage
from bureau.platform.rating.tariff import GIGABYTE, HOUR, Tier, UsageRate
from bureau.platform.rating.usage import Meter, Usage
from bureau.tenants.routing import tenant_unit

DOLLAR = 1_000_000
JAN = datetime(2026, 1, 1, tzinfo=UTC)
FUTURE = datetime(2031, 1, 1, tzinfo=UTC)  # after the test run: a version may start then


@pytest.fixture
async def unit(engine, make_tenant):
    tenant = await make_tenant("cat")

    def open_unit():
        return tenant_unit(engine, tenant.ref, actor="test")

    async with open_unit() as conn:
        await create_category(conn, "dsl", "DSL")
        await create_category(conn, "dialup", "Dial-up")
    return open_unit


async def make_plan(unit, code: str = "dsl-10", billing: str = "postpaid", category: str = "dsl") -> None:
    async with unit() as conn:
        await create_plan(conn, code, code.upper(), category=category, billing=billing)


def monthly(amount: int) -> list[PriceComponent]:
    return [PriceComponent.recurring(amount)]


async def test_the_demo_plans_are_expressible_and_come_back_as_they_were_added(unit) -> None:
    hourly = UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000)  # 1.20 an hour, rated per second
    data = UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10 * DOLLAR)  # 10.00 per GB
    dsl_data = UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10 * DOLLAR, allowance=10 * GIGABYTE)
    dsl = [
        PriceComponent.signup_fee(15 * DOLLAR, tax_class="standard"),
        PriceComponent.recurring(29_990_000, RecurringPeriod.MONTH, tax_class="standard"),
        PriceComponent.usage(dsl_data, tax_class="standard"),
    ]
    async with unit() as conn:
        await create_plan(conn, "prepaid-hourly", "Prepaid hourly", category="dialup", billing=Billing.PREPAID)
        await create_plan(conn, "prepaid-data", "Prepaid data", category="dialup", billing="prepaid")
        await create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
        await add_plan_version(conn, "prepaid-hourly", effective_from=JAN, components=[PriceComponent.usage(hourly)])
        await add_plan_version(conn, "prepaid-data", effective_from=JAN, components=[PriceComponent.usage(data)])
        added = await add_plan_version(conn, "dsl-10", effective_from=JAN, components=dsl)
    async with unit() as conn:
        v_hourly = await plan_version_at(conn, "prepaid-hourly", JAN + timedelta(days=30))
        v_data = await plan_version_at(conn, "prepaid-data", JAN)
        v_dsl = await plan_version_at(conn, "dsl-10", JAN + timedelta(days=300))
    assert v_hourly.rates == (hourly,)
    assert v_hourly.plan.billing is Billing.PREPAID
    assert v_data.rates == (data,)
    assert v_dsl == added
    assert v_dsl.components == tuple(dsl)
    assert (v_dsl.version, v_dsl.effective_from, v_dsl.effective_to) == (1, JAN, None)
    # The rates rate: an hour costs 1.20; 12 GB on dsl-10 costs 2 GB beyond the allowance.
    assert rate_usage(v_hourly.rates, Usage(), Usage(seconds=3600)).charge_micros == 1_200_000
    twelve_gb = Usage(octets_in=2 * GIGABYTE, octets_out=10 * GIGABYTE)
    assert rate_usage(v_dsl.rates, Usage(), twelve_gb).charge_micros == 20 * DOLLAR


async def test_a_new_version_from_a_date_does_not_change_the_version_in_effect_before_that_date(unit) -> None:
    await make_plan(unit)
    async with unit() as conn:
        await add_plan_version(conn, "dsl-10", effective_from=JAN, components=monthly(29_990_000))
        await add_plan_version(conn, "dsl-10", effective_from=FUTURE, components=monthly(34_990_000))
    async with unit() as conn:
        before = await plan_version_at(conn, "dsl-10", FUTURE - timedelta(microseconds=1))
        at = await plan_version_at(conn, "dsl-10", FUTURE)
        later = await plan_version_at(conn, "dsl-10", FUTURE + timedelta(days=400))
    assert (before.version, before.components[0].amount_micros) == (1, 29_990_000)
    assert before.effective_to == FUTURE  # ended by the next version's start
    assert (at.version, at.components[0].amount_micros) == (2, 34_990_000)
    assert later == at
    assert at.effective_to is None


async def test_before_its_first_version_and_after_an_explicit_end_a_plan_has_no_version(unit) -> None:
    await make_plan(unit)
    async with unit() as conn:
        await add_plan_version(
            conn, "dsl-10", effective_from=JAN, effective_to=JAN + timedelta(days=31), components=monthly(DOLLAR)
        )
    async with unit() as conn:
        assert (await plan_version_at(conn, "dsl-10", JAN + timedelta(days=30))).version == 1
        with pytest.raises(NoVersionInEffect, match="no version in effect at 2025-12-31"):
            await plan_version_at(conn, "dsl-10", JAN - timedelta(days=1))
        with pytest.raises(NoVersionInEffect, match="no version in effect"):
            await plan_version_at(conn, "dsl-10", JAN + timedelta(days=31))


async def test_overlapping_versions_are_refused_with_the_period_in_place(unit) -> None:
    await make_plan(unit)
    end = FUTURE + timedelta(days=365)
    async with unit() as conn:
        await add_plan_version(conn, "dsl-10", effective_from=FUTURE, effective_to=end, components=monthly(DOLLAR))
    for start in (FUTURE, FUTURE - timedelta(days=1), FUTURE + timedelta(days=100)):
        with pytest.raises(OverlappingPeriod, match="version 1 of plan 'dsl-10' is in effect for"):
            async with unit() as conn:
                await add_plan_version(conn, "dsl-10", effective_from=start, components=monthly(2 * DOLLAR))
    async with unit() as conn:
        second = await add_plan_version(conn, "dsl-10", effective_from=end, components=monthly(2 * DOLLAR))
    assert second.version == 2


async def test_a_version_that_would_cut_an_open_ended_one_short_in_the_past_is_refused(unit) -> None:
    await make_plan(unit)
    async with unit() as conn:
        await add_plan_version(conn, "dsl-10", effective_from=JAN, components=monthly(DOLLAR))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(OverlappingPeriod, match="may have been billed"):
        async with unit() as conn:
            await add_plan_version(conn, "dsl-10", effective_from=yesterday, components=monthly(2 * DOLLAR))
    async with unit() as conn:
        assert (await plan_version_at(conn, "dsl-10", yesterday)).components[0].amount_micros == DOLLAR


async def test_stored_versions_and_components_cannot_be_rewritten(unit) -> None:
    await make_plan(unit)
    async with unit() as conn:
        await add_plan_version(conn, "dsl-10", effective_from=JAN, components=monthly(DOLLAR))
    for statement in (
        update(plan_versions).values(effective_to=FUTURE),
        update(price_components).values(amount_micros=2 * DOLLAR),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with unit() as conn:
                await conn.execute(statement)


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ([], "1 to 32 price components"),
        ([PriceComponent.signup_fee(DOLLAR), PriceComponent.signup_fee(DOLLAR)], "more than one sign-up fee"),
        (
            [PriceComponent.recurring(DOLLAR), PriceComponent.recurring(DOLLAR, "month")],
            "more than one recurring charge per month",
        ),
        (
            [
                PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, DOLLAR)),
                PriceComponent.usage(UsageRate.flat(Meter.SECONDS, 60, DOLLAR)),
            ],
            "more than one usage rate on meter seconds",
        ),
        (PriceComponent.recurring(DOLLAR), "sequence of PriceComponent"),
        ([{"kind": "recurring"}], "PriceComponent values"),
    ],
)
async def test_a_bad_set_of_components_is_refused_and_nothing_is_written(unit, components, message) -> None:
    await make_plan(unit)
    with pytest.raises(InvalidComponent, match=message):
        async with unit() as conn:
            await add_plan_version(conn, "dsl-10", effective_from=JAN, components=components)
    async with unit() as conn:
        assert (await conn.execute(select(func.count()).select_from(plan_versions))).scalar_one() == 0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PriceComponent.signup_fee(15.0), r"whole number of micro-units \(int; 15.00 is 15_000_000\)"),
        (lambda: PriceComponent.recurring(True), "whole number of micro-units"),
        (lambda: PriceComponent.recurring(-1), "between 0 and"),
        (lambda: PriceComponent.recurring(DOLLAR, "week"), "recurring period 'week' is not one of month, year"),
        (lambda: PriceComponent("rental", amount_micros=DOLLAR), "signup_fee, recurring, usage"),
        (lambda: PriceComponent.signup_fee(DOLLAR, tax_class="Standard VAT"), "tax class 'Standard VAT'"),
        (lambda: PriceComponent("usage", amount_micros=DOLLAR), "needs a UsageRate"),
        (
            lambda: PriceComponent("signup_fee", amount_micros=DOLLAR, period=RecurringPeriod.MONTH),
            "charged once",
        ),
    ],
)
def test_a_bad_component_is_refused_with_what_is_allowed(build, message) -> None:
    with pytest.raises(InvalidComponent, match=message):
        build()


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ({"meter": "packets", "unit_size": 1, "tiers": [{"start": 0, "price_micros": 1}]}, "meter 'packets'"),
        ({"meter": "seconds", "unit_size": 1.0, "tiers": [{"start": 0, "price_micros": 1}]}, "unit_size"),
        ({"meter": "seconds", "unit_size": 60, "tiers": [{"start": 10, "price_micros": 1}]}, "first tier"),
        ({"meter": "seconds", "unit_size": 60, "tiers": [{"start": 0, "price_micros": 0.5}]}, "price_micros"),
        ({"meter": "seconds", "unit_size": 60, "tiers": []}, "1 to 16 tiers"),
        ({"meter": "seconds", "unit_size": 60, "tiers": [{"start": 0}]}, "start and price_micros"),
        ({"meter": "octets_in", "unit_size": 1, "band": "peak", "tiers": [{"start": 0, "price_micros": 1}]}, "band"),
        ({"meter": "seconds", "unit_size": 1, "per": "hour", "tiers": []}, "unknown keys"),
        ("1.20/hour", "must be an object"),
    ],
)
def test_a_usage_rate_that_is_not_a_valid_usage_rate_is_refused_with_the_reason(rate, message) -> None:
    with pytest.raises(InvalidComponent, match=message):
        rate_from_json(rate)


def test_a_usage_rate_round_trips_through_json_of_integers_and_strings() -> None:
    rate = UsageRate(Meter.SECONDS, 60, (Tier(0, 10_000), Tier(3600, 5_000)), allowance=600, increment=60, band="peak")
    value = rate_to_json(rate)
    assert rate_from_json(value) == rate
    leaves = [value["meter"], value["unit_size"], value["allowance"], value["increment"], value["band"]]
    leaves += [n for tier in value["tiers"] for n in tier.values()]
    assert all(type(leaf) in (int, str) for leaf in leaves)


async def test_plans_and_categories_refuse_duplicates_unknown_categories_and_bad_fields(unit) -> None:
    await make_plan(unit)
    with pytest.raises(DuplicateCode, match="a plan with code 'dsl-10' already exists"):
        async with unit() as conn:
            await create_plan(conn, "dsl-10", "Again", category="dsl", billing="postpaid")
    with pytest.raises(DuplicateCode, match="category with code 'dsl'"):
        async with unit() as conn:
            await create_category(conn, "dsl", "DSL again")
    with pytest.raises(NotFound, match="no plan category has code 'cable'"):
        async with unit() as conn:
            await create_plan(conn, "cable-1", "Cable", category="cable", billing="postpaid")
    with pytest.raises(InvalidCatalogValue, match="plan billing 'monthly' is not one of prepaid, postpaid"):
        async with unit() as conn:
            await create_plan(conn, "dsl-20", "DSL 20", category="dsl", billing="monthly")
    with pytest.raises(InvalidCatalogValue, match="plan code 'dsl 20'"):
        async with unit() as conn:
            await create_plan(conn, "dsl 20", "DSL 20", category="dsl", billing="postpaid")
    with pytest.raises(NotFound, match="no plan has code 'gold'"):
        async with unit() as conn:
            await plan_version_at(conn, "gold", JAN)


async def test_version_dates_must_be_timezone_aware_and_in_order(unit) -> None:
    await make_plan(unit)
    with pytest.raises(InvalidCatalogValue, match="timezone-aware"):
        async with unit() as conn:
            await add_plan_version(conn, "dsl-10", effective_from=datetime(2026, 1, 1), components=monthly(DOLLAR))
    with pytest.raises(InvalidCatalogValue, match=r"effective_to .* must be after effective_from"):
        async with unit() as conn:
            await add_plan_version(conn, "dsl-10", effective_from=JAN, effective_to=JAN, components=monthly(DOLLAR))


async def test_each_catalog_change_writes_an_audit_record(unit) -> None:
    await make_plan(unit)
    async with unit() as conn:
        await add_plan_version(conn, "dsl-10", effective_from=JAN, components=monthly(29_990_000))
    async with unit() as conn:
        rows = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.subject, audit_log.c.details)
                .where(audit_log.c.action.like("catalog.%"))
                .order_by(audit_log.c.id)
            )
        ).all()
    assert [(r.action, r.subject) for r in rows] == [
        ("catalog.category.create", "category:dsl"),
        ("catalog.category.create", "category:dialup"),
        ("catalog.plan.create", "plan:dsl-10"),
        ("catalog.plan_version.add", "plan:dsl-10"),
    ]
    assert rows[-1].details["components"][0] == {
        "kind": "recurring",
        "tax_class": "standard",
        "amount_micros": 29_990_000,
        "period": "month",
        "rate": None,
    }


async def test_the_core_tables_mirror_the_migrated_catalog_tables(engine, make_tenant) -> None:
    from bureau.platform.catalog import tables

    tenant = await make_tenant("cat")
    async with engine.connect() as conn:
        for table in (
            tables.plan_categories,
            tables.plans,
            tables.plan_versions,
            tables.price_components,
            tables.subscriber_classes,
            tables.class_plans,
            tables.tax_rates,
        ):
            rows = await conn.execute(
                text(
                    "SELECT column_name, is_nullable FROM information_schema.columns"
                    " WHERE table_schema = :schema AND table_name = :name"
                ),
                {"schema": tenant.schema, "name": table.name},
            )
            migrated = {r.column_name: r.is_nullable == "YES" for r in rows}
            assert migrated == {c.name: bool(c.nullable) for c in table.columns}, table.name
