"""The catalog through /graphql on real PostgreSQL: an ISP admin builds categories, plans,
versions with every kind of price component, tax rates and subscriber classes and reads
them back; other roles are refused; a reseller key sees only the plans it may sell; bad
input is a ValidationError and writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.catalog import plans
from bureau.platform.catalog.tables import (
    plan_categories,
    plan_versions,
    price_components,
    subscriber_classes,
    tax_rates,
)
from bureau.platform.catalog.tables import plans as plan_rows
from bureau.platform.subscribers import resellers
from bureau.tenants import apikeys
from bureau.tenants.lifecycle import Tenant
from bureau.tenants.routing import tenant_unit

GB = 10**9
ADMIN_ONLY = "this needs an ISP key with the admin role (Authorization: Bearer <key>)"
ISP_ONLY = "this needs an ISP key (Authorization: Bearer <key>)"

CATEGORY = """
mutation($input: CreateCategoryInput!) { createCategory(input: $input) {
  __typename ... on PlanCategory { code name } ... on ValidationError { message } ... on NotFound { message } } }"""
PLAN = """
mutation($input: CreatePlanInput!) { createPlan(input: $input) {
  __typename ... on Plan { code name category billing status currentVersion { version } }
  ... on ValidationError { message fields { path message } } ... on NotFound { message } } }"""
VERSION = """
mutation($input: AddPlanVersionInput!) { addPlanVersion(input: $input) {
  __typename ... on PlanVersion { plan version effectiveFrom effectiveTo components { __typename } }
  ... on ValidationError { message fields { path message } } ... on NotFound { message } } }"""
COMPONENTS = """
  components {
    __typename
    ... on SignupFee { taxClass amount { micros currency formatted } }
    ... on RecurringCharge { taxClass period amount { micros } }
    ... on UsageCharge { taxClass meter band unitSize allowance increment tiers { start price { micros } } }
    ... on VolumeDiscount { taxClass meter band ranges { start basisPoints } }
    ... on RangePricing { taxClass meter band unitSize ranges { start price { micros } } }
  }"""
ONE_PLAN = (
    """
query($code: String!) { plan(code: $code) {
  __typename ... on NotFound { message }
  ... on Plan { code name category billing status currentVersion { plan version effectiveFrom effectiveTo"""
    + COMPONENTS
    + "} } } }"
)
PLANS = """
query($first: Int!, $after: String, $status: String) { plans(first: $first, after: $after, status: $status) {
  edges { cursor node { code status currentVersion { version } } } pageInfo { hasNextPage endCursor } } }"""


@dataclass
class Catalog:
    client: httpx.AsyncClient
    keys: dict[str, str]
    tenant: Tenant
    engine: AsyncEngine

    async def ask(self, key: str, query: str, **variables: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.keys[key]}"},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def data(self, key: str, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.ask(key, query, **variables)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def count(self, table: Table) -> int:
        async with tenant_unit(self.engine, self.tenant.ref) as conn:
            found: int = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
        return found


@pytest.fixture
async def catalog(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[Catalog]:
    tenant = await make_tenant("gqcat")
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await plans.create_category(conn, "base", "Base")
        for code in ("basic", "hidden", "old"):
            await plans.create_plan(conn, code, code.title(), category="base", billing="prepaid")
        await plans.create_plan(conn, "gone", "Gone", category="base", billing="prepaid", status="retired")
        await resellers.create_reseller(conn, code="north", name="North")
        for code in ("basic", "old", "gone"):
            await resellers.allow_plan(conn, "north", code)
    slug = tenant.slug
    made = {
        "admin": await apikeys.create_api_key(engine, name="a", scope="isp", tenant=slug, actor="test"),
        "read": await apikeys.create_api_key(engine, name="r", scope="isp", role="read_only", tenant=slug, actor="t"),
        "care": await apikeys.create_api_key(engine, name="c", scope="isp", role="care", tenant=slug, actor="t"),
        "north": await apikeys.create_api_key(
            engine, name="n", scope="reseller", tenant=slug, reseller="north", actor="test"
        ),
    }
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:
        yield Catalog(client, {k: v.token for k, v in made.items()}, tenant, engine)


def full_version(plan: str) -> dict[str, Any]:
    return {
        "plan": plan,
        "effectiveFrom": "2024-01-01T00:00:00+00:00",
        "components": [
            {"signupFee": {"amountMicros": 25_000_000}},
            {"recurring": {"amountMicros": 29_900_000, "period": "month", "taxClass": "telecom"}},
            {
                "usage": {
                    "meter": "octets_total",
                    "unitSize": GB,
                    "allowance": 50 * GB,
                    "increment": 10**6,
                    "tiers": [{"start": 0, "priceMicros": 2_000_000}, {"start": 100 * GB, "priceMicros": 1_000_000}],
                }
            },
            {"volumeDiscount": {"meter": "octets_total", "ranges": [{"start": 500 * GB, "basisPoints": 1_000}]}},
            {"usage": {"meter": "seconds", "unitSize": 60, "priceMicros": 50_000}},
            {
                "rangePricing": {
                    "meter": "seconds",
                    "unitSize": 60,
                    "ranges": [{"start": 0, "priceMicros": 50_000}, {"start": 36_000, "priceMicros": 40_000}],
                }
            },
        ],
    }


async def test_an_isp_admin_builds_a_plan_with_every_component_and_reads_it_back(catalog: Catalog) -> None:
    made = await catalog.data("admin", CATEGORY, input={"code": "dsl", "name": "DSL"})
    assert made["createCategory"] == {"__typename": "PlanCategory", "code": "dsl", "name": "DSL"}
    plan = await catalog.data(
        "admin", PLAN, input={"code": "dsl-20", "name": "DSL 20", "category": "dsl", "billing": "postpaid"}
    )
    assert plan["createPlan"] == {
        "__typename": "Plan",
        "code": "dsl-20",
        "name": "DSL 20",
        "category": "dsl",
        "billing": "postpaid",
        "status": "active",
        "currentVersion": None,
    }
    version = await catalog.data("admin", VERSION, input=full_version("dsl-20"))
    assert version["addPlanVersion"] == {
        "__typename": "PlanVersion",
        "plan": "dsl-20",
        "version": 1,
        "effectiveFrom": "2024-01-01T00:00:00+00:00",
        "effectiveTo": None,
        "components": [
            {"__typename": name}
            for name in ("SignupFee", "RecurringCharge", "UsageCharge", "VolumeDiscount", "UsageCharge", "RangePricing")
        ],
    }

    shown = (await catalog.data("admin", ONE_PLAN, code="dsl-20"))["plan"]
    assert {k: shown[k] for k in ("__typename", "code", "name", "category", "billing", "status")} == {
        "__typename": "Plan",
        "code": "dsl-20",
        "name": "DSL 20",
        "category": "dsl",
        "billing": "postpaid",
        "status": "active",
    }
    current = shown["currentVersion"]
    assert (current["plan"], current["version"], current["effectiveTo"]) == ("dsl-20", 1, None)
    assert current["components"] == [
        {
            "__typename": "SignupFee",
            "taxClass": "standard",
            "amount": {"micros": 25_000_000, "currency": "USD", "formatted": "25.00 USD"},
        },
        {"__typename": "RecurringCharge", "taxClass": "telecom", "period": "month", "amount": {"micros": 29_900_000}},
        {
            "__typename": "UsageCharge",
            "taxClass": "standard",
            "meter": "octets_total",
            "band": None,
            "unitSize": GB,
            "allowance": 50 * GB,
            "increment": 10**6,
            "tiers": [
                {"start": 0, "price": {"micros": 2_000_000}},
                {"start": 100 * GB, "price": {"micros": 1_000_000}},
            ],
        },
        {
            "__typename": "VolumeDiscount",
            "taxClass": "standard",
            "meter": "octets_total",
            "band": None,
            "ranges": [{"start": 500 * GB, "basisPoints": 1_000}],
        },
        {
            "__typename": "UsageCharge",
            "taxClass": "standard",
            "meter": "seconds",
            "band": None,
            "unitSize": 60,
            "allowance": 0,
            "increment": 1,
            "tiers": [{"start": 0, "price": {"micros": 50_000}}],
        },
        {
            "__typename": "RangePricing",
            "taxClass": "standard",
            "meter": "seconds",
            "band": None,
            "unitSize": 60,
            "ranges": [{"start": 0, "price": {"micros": 50_000}}, {"start": 36_000, "price": {"micros": 40_000}}],
        },
    ]
    assert await catalog.count(price_components) == 6

    # a second version in the future: the current one now ends where it starts
    later = {
        "plan": "dsl-20",
        "effectiveFrom": "2999-01-01T00:00:00+00:00",
        "components": [{"recurring": {"amountMicros": 31_900_000, "period": "year"}}],
    }
    assert (await catalog.data("admin", VERSION, input=later))["addPlanVersion"]["version"] == 2
    current = (await catalog.data("admin", ONE_PLAN, code="dsl-20"))["plan"]["currentVersion"]
    assert (current["version"], current["effectiveTo"]) == (1, "2999-01-01T00:00:00+00:00")


async def test_paging_and_filtering_plans_with_an_isp_key(catalog: Catalog) -> None:
    codes, after = [], None
    while True:
        page = (await catalog.data("admin", PLANS, first=2, after=after))["plans"]
        codes += [e["node"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert codes == ["basic", "hidden", "old", "gone"]
    retired = (await catalog.data("admin", PLANS, first=10, status="retired"))["plans"]["edges"]
    assert [(e["node"]["code"], e["node"]["status"], e["node"]["currentVersion"]) for e in retired] == [
        ("gone", "retired", None)
    ]
    bad = await catalog.ask("admin", PLANS, first=10, status="sleeping")
    assert bad["data"] is None
    assert bad["errors"][0]["message"] == "plan status 'sleeping' is not one of active, retired"


async def test_the_catalog_lists_for_isp_keys(catalog: Catalog) -> None:
    tax = """
    mutation($input: CreateTaxRateInput!) { createTaxRate(input: $input) {
      __typename ... on TaxRate { name country region city taxClass rateBp inclusive effectiveFrom effectiveTo }
      ... on ValidationError { message } } }"""
    made = await catalog.data(
        "admin",
        tax,
        input={"name": "Sales tax", "country": "US", "region": "CA", "rateBp": 725, "inclusive": False,
               "effectiveFrom": "2024-01-01T00:00:00+00:00"},
    )  # fmt: skip
    assert made["createTaxRate"] == {
        "__typename": "TaxRate",
        "name": "Sales tax",
        "country": "US",
        "region": "CA",
        "city": None,
        "taxClass": "standard",
        "rateBp": 725,
        "inclusive": False,
        "effectiveFrom": "2024-01-01T00:00:00+00:00",
        "effectiveTo": None,
    }
    klass = """
    mutation($input: CreateSubscriberClassInput!) { createSubscriberClass(input: $input) {
      __typename ... on SubscriberClass { code name } ... on ValidationError { message } } }"""
    assert (await catalog.data("admin", klass, input={"code": "business", "name": "Business"}))[
        "createSubscriberClass"
    ] == {"__typename": "SubscriberClass", "code": "business", "name": "Business"}
    again = await catalog.data("admin", klass, input={"code": "business", "name": "Again"})
    assert again["createSubscriberClass"] == {
        "__typename": "ValidationError",
        "message": "a subscriber class with code 'business' already exists; choose another code",
    }

    lists = """{ categories(first: 10) { nodes { code name } }
                 taxRates(first: 10, country: "US") { nodes { name rateBp region } }
                 subscriberClasses(first: 10) { nodes { code name } } }"""
    for key in ("admin", "read"):
        assert await catalog.data(key, lists) == {
            "categories": {"nodes": [{"code": "base", "name": "Base"}]},
            "taxRates": {"nodes": [{"name": "Sales tax", "rateBp": 725, "region": "CA"}]},
            "subscriberClasses": {"nodes": [{"code": "business", "name": "Business"}]},
        }
    assert (await catalog.data("admin", '{ taxRates(first: 10, country: "DE") { nodes { name } } }')) == {
        "taxRates": {"nodes": []}
    }
    refused = await catalog.ask("north", "{ categories { nodes { code } } }")
    assert refused["data"] is None and refused["errors"][0]["message"] == ISP_ONLY


async def test_catalog_mutations_need_an_isp_admin_key(catalog: Catalog) -> None:
    for key in ("read", "care", "north"):
        refused = await catalog.ask(key, CATEGORY, input={"code": "dsl", "name": "DSL"})
        assert refused["data"] is None
        assert refused["errors"][0]["message"] == ADMIN_ONLY
        refused = await catalog.ask(key, VERSION, input=full_version("basic"))
        assert refused["errors"][0]["message"] == ADMIN_ONLY
    assert await catalog.count(plan_categories) == 1
    assert await catalog.count(plan_versions) == 0


async def test_a_reseller_key_sees_only_the_plans_it_may_sell(catalog: Catalog) -> None:
    version = {**full_version("basic"), "components": [{"recurring": {"amountMicros": 9_900_000}}]}
    assert (await catalog.data("admin", VERSION, input=version))["addPlanVersion"]["version"] == 1

    page = (await catalog.data("north", PLANS, first=2))["plans"]
    assert [e["node"]["code"] for e in page["edges"]] == ["basic", "old"]
    assert page["edges"][0]["node"]["currentVersion"] == {"version": 1}
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await catalog.data("north", PLANS, first=2, after=page["pageInfo"]["endCursor"]))["plans"]
    assert [e["node"]["code"] for e in rest["edges"]] == ["gone"] and rest["pageInfo"]["hasNextPage"] is False
    active = (await catalog.data("north", PLANS, first=10, status="active"))["plans"]["edges"]
    assert [e["node"]["code"] for e in active] == ["basic", "old"]

    mine = (await catalog.data("north", ONE_PLAN, code="basic"))["plan"]
    assert mine["code"] == "basic"
    assert mine["currentVersion"]["components"] == [
        {"__typename": "RecurringCharge", "taxClass": "standard", "period": "month", "amount": {"micros": 9_900_000}}
    ]
    hidden = (await catalog.data("north", ONE_PLAN, code="hidden"))["plan"]
    missing = (await catalog.data("north", ONE_PLAN, code="nowhere"))["plan"]
    assert hidden == {"__typename": "NotFound", "message": "no plan has code 'hidden'"}
    assert missing == {"__typename": "NotFound", "message": "no plan has code 'nowhere'"}
    # the ISP key sees the plan the reseller does not
    assert (await catalog.data("admin", ONE_PLAN, code="hidden"))["plan"]["code"] == "hidden"


async def test_bad_input_is_a_validation_error_and_writes_nothing(catalog: Catalog) -> None:
    before = {t.name: await catalog.count(t) for t in (plan_categories, plan_rows, plan_versions, price_components)}

    bad_code = await catalog.data(
        "admin", PLAN, input={"code": "no spaces!", "name": "X", "category": "base", "billing": "prepaid"}
    )
    assert bad_code["createPlan"]["__typename"] == "ValidationError"
    assert bad_code["createPlan"]["message"] == (
        "plan code 'no spaces!' must be 1-64 letters, digits or . _ -, starting with a letter or digit"
    )
    no_category = await catalog.data(
        "admin", PLAN, input={"code": "p1", "name": "P1", "category": "nowhere", "billing": "prepaid"}
    )
    assert no_category["createPlan"] == {
        "__typename": "NotFound",
        "message": "no plan category has code 'nowhere'; create it first",
    }
    bad_billing = await catalog.data(
        "admin", PLAN, input={"code": "p2", "name": "P2", "category": "base", "billing": "monthly"}
    )
    assert bad_billing["createPlan"]["message"] == "plan billing 'monthly' is not one of prepaid, postpaid"
    duplicate = await catalog.data("admin", CATEGORY, input={"code": "base", "name": "Again"})
    assert duplicate["createCategory"]["__typename"] == "ValidationError"

    negative = full_version("basic")
    negative["components"] = [*negative["components"][:2], {"signupFee": {"amountMicros": -1}}]
    refused = (await catalog.data("admin", VERSION, input=negative))["addPlanVersion"]
    assert refused["__typename"] == "ValidationError"
    assert refused["message"].startswith("the sign-up fee's amount_micros must be between 0 and")
    assert refused["fields"][0]["path"] == ["input", "components", "2"]

    negative_tier = full_version("basic")
    negative_tier["components"][2]["usage"]["tiers"][1]["priceMicros"] = -5
    refused = (await catalog.data("admin", VERSION, input=negative_tier))["addPlanVersion"]
    assert refused["__typename"] == "ValidationError" and refused["fields"][0]["path"][-1] == "2"
    assert "price_micros" in refused["message"]

    unknown_meter = {**full_version("basic"), "components": [{"usage": {"meter": "packets", "unitSize": 1,
                                                                       "priceMicros": 1}}]}  # fmt: skip
    refused = (await catalog.data("admin", VERSION, input=unknown_meter))["addPlanVersion"]
    assert refused["message"] == "meter 'packets' is not one of seconds, octets_in, octets_out, octets_total"

    no_realtime_rate = full_version("basic")
    del no_realtime_rate["components"][4]  # the range pricing's usage rate on seconds
    refused = (await catalog.data("admin", VERSION, input=no_realtime_rate))["addPlanVersion"]
    assert refused["__typename"] == "ValidationError" and "range pricing on meter seconds" in refused["message"]

    no_plan = (await catalog.data("admin", VERSION, input=full_version("nowhere")))["addPlanVersion"]
    assert no_plan == {"__typename": "NotFound", "message": "no plan has code 'nowhere'"}

    empty = await catalog.data("admin", VERSION, input={**full_version("basic"), "components": []})
    assert empty["addPlanVersion"]["message"] == "a plan version needs 1 to 32 price components, got 0"

    both = {"plan": "basic", "effectiveFrom": "2024-01-01T00:00:00+00:00",
            "components": [{"signupFee": {"amountMicros": 1}, "recurring": {"amountMicros": 1}}]}  # fmt: skip
    not_one = await catalog.ask("admin", VERSION, input=both)
    assert not_one["data"] is None and "exactly one key" in not_one["errors"][0]["message"]

    after = {t.name: await catalog.count(t) for t in (plan_categories, plan_rows, plan_versions, price_components)}
    assert after == before == {"plan_categories": 1, "plans": 4, "plan_versions": 0, "price_components": 0}

    tax = """mutation($i: CreateTaxRateInput!) {
      createTaxRate(input: $i) { __typename ... on ValidationError { message } } }"""
    for wrong in ({"country": "usa"}, {"rateBp": 10_001}, {"taxClass": "Standard Rate"}):
        given = {"name": "VAT", "country": "DE", "rateBp": 1_900, "inclusive": True,
                 "effectiveFrom": "2024-01-01T00:00:00+00:00"} | wrong  # fmt: skip
        assert (await catalog.data("admin", tax, i=given))["createTaxRate"]["__typename"] == "ValidationError"
    assert await catalog.count(tax_rates) == 0
    assert await catalog.count(subscriber_classes) == 0
