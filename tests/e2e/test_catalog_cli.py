"""`bureau plan|tax|class …`: the catalog commands over a real database, as a subprocess."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.catalog import classes, plans, taxes, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.catalog.errors import NoVersionInEffect
from bureau.platform.rating.tariff import GIGABYTE, HOUR, Tier, UsageRate
from bureau.platform.rating.usage import Meter
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit

from .conftest import Cli, ok, refused, run_all

JAN_2026 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
async def isp(engine: AsyncEngine) -> lifecycle.Tenant:
    """One tenant for the module, with a category and a plan without prices."""
    tenant = await lifecycle.create_tenant(
        engine, f"cat_{uuid.uuid4().hex[:8]}", name="Catalog ISP", currency="USD", actor="test"
    )
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await plans.create_category(conn, "dialup", "Dial-up")
        await plans.create_plan(conn, "unpriced", "Unpriced", category="dialup", billing="prepaid")
    return tenant


async def test_a_plan_is_created_priced_in_exact_micros_shown_and_listed(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant
) -> None:
    ok(cli("plan", "category", "create", "dsl", "--name", "DSL"))
    created = json.loads(
        ok(
            cli("plan", "create", "dsl-10", "--name", "DSL 10", "--category", "dsl", "--billing", "postpaid", "--json")
        ).stdout
    )
    assert created == {
        "id": created["id"],
        "code": "dsl-10",
        "name": "DSL 10",
        "category": "dsl",
        "billing": "postpaid",
        "status": "active",
    }

    version_add = (
        "plan", "version", "add", "dsl-10", "--from", "2026-01-01",
        "--signup-fee", "15.00", "--monthly", "29.99",
        "--usage", "octets_total:1000000000:10.00:allowance=10000000000",
        "--usage", "seconds:h:0.50:increment=60s:tier=10h@0.25:tax=telecom",
        "--json",
    )  # fmt: skip
    added = json.loads(ok(cli(*version_add)).stdout)
    assert (added["plan"], added["version"], added["currency"]) == ("dsl-10", 1, "USD")
    assert added["effective_from"] == "2026-01-01T00:00:00+00:00" and added["effective_to"] is None
    assert [(c["kind"], c["amount_micros"], c["period"], c["tax_class"]) for c in added["components"]] == [
        ("signup_fee", 15_000_000, None, "standard"),
        ("recurring", 29_990_000, "month", "standard"),
        ("usage", None, None, "standard"),
        ("usage", None, None, "telecom"),
    ]
    assert added["components"][2]["rate"] == {
        "meter": "octets_total",
        "unit_size": GIGABYTE,
        "allowance": 10 * GIGABYTE,
        "increment": 1,
        "tiers": [{"start": 0, "price_micros": 10_000_000}],
    }
    assert added["components"][2]["text"] == "octets_total: 10.00 USD per GB, 10 GB included"

    async with tenant_unit(engine, isp.ref) as conn:
        stored = await versions.plan_version_at(conn, "dsl-10", JAN_2026)
    assert stored.components == (
        PriceComponent.signup_fee(15_000_000),
        PriceComponent.recurring(29_990_000, "month"),
        PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000, allowance=10 * GIGABYTE)),
        PriceComponent.usage(
            UsageRate(Meter.SECONDS, HOUR, (Tier(0, 500_000), Tier(10 * HOUR, 250_000)), increment=60),
            tax_class="telecom",
        ),
    )

    shown, listed, unpriced = run_all(
        cli,
        ("plan", "show", "dsl-10", "--at", "2026-06-01"),
        ("plan", "list", "--json"),
        ("plan", "show", "unpriced", "--json"),
    )
    text = ok(shown).stdout
    assert "dsl-10: DSL 10 (postpaid, dsl, active)" in text
    for line in ("sign-up fee 15.00 USD", "29.99 USD per month", "10.00 USD per GB, 10 GB included"):
        assert line in text
    assert "seconds: 0.50 USD per hour, 0.25 USD from 10 h, in blocks of 1 min" in text
    assert [p["code"] for p in json.loads(ok(listed).stdout)] == ["dsl-10", "unpriced"]
    no_price = json.loads(ok(unpriced).stdout)
    assert no_price["plan"]["code"] == "unpriced" and no_price["version"] is None


async def test_bad_amounts_exit_2_with_one_line_and_write_nothing(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant
) -> None:
    add = ("plan", "version", "add", "unpriced", "--from", "2026-01-01")
    results = run_all(
        cli,
        (*add, "--monthly", "12.3.4"),
        (*add, "--monthly", "29.99", "--signup-fee", "1e3"),
        (*add, "--usage", "octets_total:GB:-5"),
    )
    messages = [refused(r) for r in results]
    assert messages[0] == (
        "error: --monthly: '12.3.4' is not an amount such as 29.99 (digits and a decimal point, no sign or exponent)"
    )
    assert "--signup-fee: '1e3' is not an amount" in messages[1]
    assert "--usage 'octets_total:GB:-5': price: '-5' is not an amount" in messages[2]

    async with tenant_unit(engine, isp.ref) as conn:
        with pytest.raises(NoVersionInEffect):
            await versions.plan_version_at(conn, "unpriced", JAN_2026)


async def test_a_tax_rate_in_percent_is_kept_in_exact_basis_points_and_a_class_links_plans(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant
) -> None:
    texas = ("tax", "add", "--name", "Sales tax", "--country", "US", "--state", "TX", "--city", "Austin")
    added, created = run_all(
        cli,
        (*texas, "--rate", "8.25", "--from", "2026-01-01", "--json"),
        ("class", "create", "residential", "--name", "Residential"),
    )
    rate = json.loads(ok(added).stdout)
    assert {k: rate[k] for k in ("name", "country", "state", "city", "tax_class", "rate_bp", "inclusive")} == {
        "name": "Sales tax",
        "country": "US",
        "state": "TX",
        "city": "Austin",
        "tax_class": "standard",
        "rate_bp": 825,
        "inclusive": False,
    }
    assert "created subscriber class residential (Residential)" in ok(created).stdout

    linked, missing = run_all(
        cli, ("class", "link", "residential", "unpriced"), ("class", "link", "residential", "gold")
    )
    assert "plan unpriced linked to subscriber class residential" in ok(linked).stdout
    assert refused(missing) == "error: no plan has code 'gold'"

    async with tenant_unit(engine, isp.ref) as conn:
        due = await taxes.tax_rates_for(conn, taxes.Locale("US", "TX", "austin"), "standard", JAN_2026)
        offered = await classes.plans_for_class(conn, "residential")
    assert [(r.name, r.rate_bp, r.inclusive) for r in due] == [("Sales tax", 825, False)]
    assert [p.code for p in offered] == ["unpriced"]
