"""Resellers and statements through /graphql alone, on a priced tenant on real PostgreSQL:
an ISP admin creates resellers and allows plans, a reseller key sees its own subtree, a
prepaid customer's statement after a top-up, a reseller's commission statement after its
customer pays an invoice; sound books after each money-moving test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.tenants import apikeys
from tests.integration.graphql.conftest import Api
from tests.integration.platform.billing.conftest import Books, at, make_books

RESELLER_FIELDS = """
  code name parent commissionBp commissionPercent realms
  branding { name logoUrl primaryColour secondaryColour supportEmail supportPhone }
  plans { code name } commissionEarned { micros formatted }"""
CREATE = f"""
mutation($input: CreateResellerInput!) {{ createReseller(input: $input) {{
  __typename ... on Reseller {{ {RESELLER_FIELDS} }}
  ... on ValidationError {{ message fields {{ path message }} }} ... on NotFound {{ message }} }} }}"""
ALLOW = """
mutation($reseller: String!, $plan: String!) { allowPlan(reseller: $reseller, plan: $plan) {
  __typename ... on ResellerPlanChange { changed plan reseller { code plans { code } } }
  ... on NotFound { message } ... on PlanNotAllowed { message } ... on ValidationError { message } } }"""
DISALLOW = """
mutation($reseller: String!, $plan: String!) { disallowPlan(reseller: $reseller, plan: $plan) {
  __typename ... on ResellerPlanChange { changed reseller { plans { code } } }
  ... on NotFound { message } ... on ValidationError { message } } }"""
ONE = f"""
query($code: String!) {{ reseller(code: $code) {{
  __typename ... on Reseller {{ {RESELLER_FIELDS} }} ... on NotFound {{ message }} }} }}"""
PAGE = """
query($first: Int!, $after: String) { resellers(first: $first, after: $after) {
  edges { cursor node { code parent } } pageInfo { hasNextPage endCursor } } }"""
LINES = """
  __typename
  ... on Statement {
    account { code name } from to truncated
    opening { micros } closing { micros formatted }
    lines { description postedAt amount { micros } debit { micros } credit { micros } balance { micros } } }
  ... on NotFound { message } ... on ValidationError { message }"""
STATEMENT = f"""
query($customer: String!, $account: String! = "1000", $from: DateTime!, $to: DateTime!) {{
  statement(customer: $customer, account: $account, from: $from, to: $to) {{ {LINES} }} }}"""
COMMISSION = f"""
query($from: DateTime!, $to: DateTime!) {{ commissionStatement(from: $from, to: $to) {{ {LINES} }} }}"""
PAY = """
mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  __typename ... on Payment { kind amount { micros } allocations { invoice amount { micros } } }
  ... on ValidationError { message } ... on NotFound { message } } }"""

ADMIN_ONLY = "this needs an ISP key with the admin role (Authorization: Bearer <key>)"
BRANDING = {
    "name": "NorthNet",
    "logoUrl": "https://north.example/logo.png",
    "primaryColour": "#0A7CFF",
    "secondaryColour": "#ffffff",
    "supportEmail": "help@north.example",
    "supportPhone": "+1 (555) 010-0100",
}


@dataclass
class World:
    books: Books
    engine: AsyncEngine
    client: httpx.AsyncClient
    isp: Api

    async def key(self, **options: Any) -> Api:
        made = await apikeys.create_api_key(
            self.engine, name="k", tenant=self.books.tenant.slug, actor="test", **options
        )
        return Api(self.client, made.token)


@pytest.fixture
async def world(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[World]:
    books = await make_books(engine, make_tenant, "gqres")
    isp = await apikeys.create_api_key(engine, name="isp", scope="isp", tenant=books.tenant.slug, actor="test")
    app = create_app(engine, box=books.box)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bureau.test") as client:
        yield World(books, engine, client, Api(client, isp.token))


def period(days_before: float, days_after: float) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(days=days_before)).isoformat(),
        "to": (now + timedelta(days=days_after)).isoformat(),
    }


async def make_tree(world: World) -> None:
    """north (15 %, branded, a realm) > north-sub (10 %); south beside north."""
    realm = f"north.{world.books.realm}"
    north = await world.isp(CREATE, input={"code": "north", "name": "North", "commissionPercent": "15",
                                           "branding": BRANDING, "realms": [realm]})  # fmt: skip
    assert north["createReseller"]["__typename"] == "Reseller", north
    sub = await world.isp(CREATE, input={"code": "north-sub", "name": "North sub", "parent": "north",
                                         "commissionBp": 1250})  # fmt: skip
    assert sub["createReseller"]["commissionPercent"] == "12.5%"
    south = await world.isp(CREATE, input={"code": "south", "name": "South"})
    assert south["createReseller"]["commissionPercent"] == "0%"


async def test_an_isp_admin_creates_resellers_allows_plans_and_reads_them_back(world: World) -> None:
    await make_tree(world)
    first = await world.isp(ALLOW, reseller="north", plan="dsl-10")
    again = await world.isp(ALLOW, reseller="north", plan="dsl-10")
    assert first["allowPlan"] == {
        "__typename": "ResellerPlanChange",
        "changed": True,
        "plan": "dsl-10",
        "reseller": {"code": "north", "plans": [{"code": "dsl-10"}]},
    }
    assert again["allowPlan"]["changed"] is False
    assert (await world.isp(ALLOW, reseller="north-sub", plan="dsl-10"))["allowPlan"]["changed"] is True
    beyond = await world.isp(ALLOW, reseller="north-sub", plan="box-monthly")
    assert beyond["allowPlan"] == {
        "__typename": "PlanNotAllowed",
        "message": "plan 'box-monthly' is not sold by reseller 'north'; allowed: dsl-10",
    }
    no_plan = await world.isp(ALLOW, reseller="north", plan="nope")
    assert no_plan["allowPlan"] == {"__typename": "NotFound", "message": "no plan has code 'nope'"}
    no_seller = await world.isp(ALLOW, reseller="west", plan="dsl-10")
    assert no_seller["allowPlan"] == {"__typename": "NotFound", "message": "no reseller has code 'west'"}

    north = (await world.isp(ONE, code="north"))["reseller"]
    assert north == {
        "__typename": "Reseller",
        "code": "north",
        "name": "North",
        "parent": None,
        "commissionBp": 1500,
        "commissionPercent": "15%",
        "realms": [f"north.{world.books.realm}"],
        "branding": BRANDING | {"primaryColour": "#0a7cff"},
        "plans": [{"code": "dsl-10", "name": "DSL-10"}],
        "commissionEarned": {"micros": 0, "formatted": "0.00 USD"},
    }
    sub = (await world.isp(ONE, code="north-sub"))["reseller"]
    assert (sub["parent"], sub["commissionBp"], sub["plans"], sub["realms"]) == (
        "north",
        1250,
        [{"code": "dsl-10", "name": "DSL-10"}],
        [],
    )
    assert sub["branding"] == dict.fromkeys(BRANDING)

    page = (await world.isp(PAGE, first=2))["resellers"]
    assert [e["node"] for e in page["edges"]] == [
        {"code": "north", "parent": None},
        {"code": "north-sub", "parent": "north"},
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await world.isp(PAGE, first=2, after=page["pageInfo"]["endCursor"]))["resellers"]
    assert [e["node"]["code"] for e in rest["edges"]] == ["south"]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["edges"][0]["cursor"]}

    taken = await world.isp(DISALLOW, reseller="north", plan="dsl-10")
    assert taken["disallowPlan"] == {"__typename": "ResellerPlanChange", "changed": True, "reseller": {"plans": []}}
    assert (await world.isp(ONE, code="north-sub"))["reseller"]["plans"] == [], "gone below too"
    assert (await world.isp(DISALLOW, reseller="north", plan="dsl-10"))["disallowPlan"]["changed"] is False


async def test_bad_reseller_input_is_refused_and_writes_nothing(world: World) -> None:
    await make_tree(world)
    odd = await world.isp(CREATE, input={"code": "east", "name": "East", "commissionPercent": "12.345"})
    assert odd["createReseller"] == {
        "__typename": "ValidationError",
        "message": "commission percent must be from 0 to 100 with at most two decimals (e.g. 12.5), got '12.345'",
        "fields": [
            {
                "path": ["input", "commissionPercent"],
                "message": "commission percent must be from 0 to 100 with at most two decimals (e.g. 12.5), "
                "got '12.345'",
            }
        ],
    }
    both = await world.isp(CREATE, input={"code": "east", "name": "East", "commissionPercent": "5", "commissionBp": 5})
    assert both["createReseller"]["message"] == "give commissionPercent or commissionBp, not both"
    orphan = await world.isp(CREATE, input={"code": "east", "name": "East", "parent": "nobody"})
    assert orphan["createReseller"] == {"__typename": "NotFound", "message": "no reseller has code 'nobody'"}
    taken = await world.isp(CREATE, input={"code": "east", "name": "East", "realms": [f"north.{world.books.realm}"]})
    assert taken["createReseller"]["__typename"] == "ValidationError"
    assert "is already registered" in taken["createReseller"]["message"]
    ugly = await world.isp(CREATE, input={"code": "east", "name": "East", "branding": {"primaryColour": "blue"}})
    assert ugly["createReseller"]["message"] == "primary colour 'blue' must be a hex colour such as '#0a7cff'"
    duplicate = await world.isp(CREATE, input={"code": "south", "name": "Again"})
    assert duplicate["createReseller"]["message"] == "an entity with code 'south' already exists"
    page = (await world.isp(PAGE, first=10))["resellers"]
    assert [e["node"]["code"] for e in page["edges"]] == ["north", "north-sub", "south"], "no east was written"


async def test_a_reseller_key_sees_its_subtree_and_may_not_create_resellers(world: World) -> None:
    await make_tree(world)
    north = await world.key(scope="reseller", reseller="north")
    page = (await north(PAGE, first=10))["resellers"]
    assert [e["node"]["code"] for e in page["edges"]] == ["north", "north-sub"]
    assert (await north(ONE, code="north-sub"))["reseller"]["parent"] == "north"
    sibling = (await north(ONE, code="south"))["reseller"]
    missing = (await north(ONE, code="nowhere"))["reseller"]
    assert sibling == {"__typename": "NotFound", "message": "no reseller has code 'south'"}
    assert missing == {"__typename": "NotFound", "message": "no reseller has code 'nowhere'"}
    sub = await world.key(scope="reseller", reseller="north-sub")
    assert (await sub(ONE, code="north"))["reseller"]["__typename"] == "NotFound", "a parent is outside the subtree"

    refused = await north.body(CREATE, input={"code": "mine", "name": "Mine"})
    assert refused["data"] is None
    assert refused["errors"][0]["message"] == ADMIN_ONLY
    finance = await world.key(scope="isp", role="finance")
    not_admin = await finance.body(ALLOW, reseller="north", plan="dsl-10")
    assert (
        not_admin["errors"][0]["message"] == "this needs an ISP key with the admin role (Authorization: Bearer <key>)"
    )
    isp_asks = await world.isp.body(COMMISSION, **period(1, 1))
    assert isp_asks["errors"][0]["message"] == (
        "this needs a reseller key (Authorization: Bearer <key>); ISP keys read a reseller through reseller(code)"
    )
    assert (await world.isp(ONE, code="north"))["reseller"]["plans"] == [], "nothing was allowed"


async def test_a_prepaid_customer_s_statement_after_a_top_up(world: World, assert_ledger_sound: Any) -> None:
    kim = await world.books.customer("kim", "box-monthly", "2026-09-01T00:00:00", prepaid=True)
    topup = {"customer": kim.number, "amountMicros": 20_000_000, "method": "card", "idempotencyKey": "card-1"}
    paid = (await world.isp(PAY, input=topup))["recordPayment"]
    assert (paid["__typename"], paid["kind"], paid["amount"]) == ("Payment", "topup", {"micros": 20_000_000})

    around = period(1, 1)
    statement = (await world.isp(STATEMENT, customer=kim.number, **around))["statement"]
    (line,) = statement["lines"]
    assert statement["account"] == {"code": "1000", "name": "Main balance"}
    assert (statement["from"], statement["to"], statement["truncated"]) == (
        datetime.fromisoformat(around["from"]).isoformat(),
        datetime.fromisoformat(around["to"]).isoformat(),
        False,
    )
    assert statement["opening"] == {"micros": 0}
    assert statement["closing"] == {"micros": 20_000_000, "formatted": "20.00 USD"}
    assert line["description"] == f"Top-up by card, {kim.number}"
    assert (line["amount"], line["debit"], line["credit"], line["balance"]) == (
        {"micros": 20_000_000},
        None,
        {"micros": 20_000_000},
        {"micros": 20_000_000},
    )
    assert abs(datetime.fromisoformat(line["postedAt"]) - datetime.now(UTC)) < timedelta(minutes=5)

    by_login = f"kim@{world.books.realm}"
    later = (await world.isp(STATEMENT, customer=by_login, **period(-1, 2)))["statement"]
    assert (later["opening"]["micros"], later["closing"]["micros"], later["lines"]) == (20_000_000, 20_000_000, [])
    before = (await world.isp(STATEMENT, customer=kim.number, **period(30, -1)))["statement"]
    assert (before["opening"]["micros"], before["closing"]["micros"], before["lines"]) == (0, 0, [])
    receivable = (await world.isp(STATEMENT, customer=kim.number, account="1100", **around))["statement"]
    assert (receivable["account"]["name"], receivable["lines"]) == ("Receivable", [])

    too_long = (await world.isp(STATEMENT, customer=kim.number, **period(400, 0)))["statement"]
    assert too_long == {
        "__typename": "ValidationError",
        "message": "a statement covers at most 366 days; ask for a shorter period",
    }
    backwards = await world.isp(STATEMENT, customer=kim.number, **{"from": around["to"], "to": around["from"]})
    assert backwards["statement"]["__typename"] == "ValidationError"
    assert "must be after from" in backwards["statement"]["message"]
    naive = await world.isp(STATEMENT, customer=kim.number, **{"from": "2026-11-01T00:00:00", "to": around["to"]})
    assert (
        naive["statement"]["message"]
        == "from must carry a time zone (e.g. 2026-11-01T00:00:00Z), got 2026-11-01T00:00:00"
    )
    sessions = (await world.isp(STATEMENT, customer=kim.number, account="8000", **around))["statement"]
    assert sessions["message"] == "account 8000 counts sessions, not money; no statement"
    no_account = (await world.isp(STATEMENT, customer=kim.number, account="7777", **around))["statement"]
    assert no_account == {
        "__typename": "NotFound",
        "message": f"customer {kim.number} has no account '7777'; it has 1000, 1010, 1020, 1100, 8000, 9000",
    }

    odd = (await world.isp(STATEMENT, customer=kim.number, account="x" * 500, **around))["statement"]
    assert odd["message"] == "an account code is up to 8 digits, e.g. 1000 or 1100"

    await world.isp(CREATE, input={"code": "north", "name": "North"})
    north = await world.key(scope="reseller", reseller="north")
    hidden = (await north(STATEMENT, customer=kim.number, **around))["statement"]
    missing = (await north(STATEMENT, customer="C999999", **around))["statement"]
    assert hidden == {"__typename": "NotFound", "message": f"no customer has number, code or login {kim.number!r}"}
    assert missing == {"__typename": "NotFound", "message": "no customer has number, code or login 'C999999'"}
    await assert_ledger_sound(world.books.tenant)


async def test_a_reseller_s_commission_statement_after_its_customer_pays(
    world: World, assert_ledger_sound: Any
) -> None:
    realm = f"visp.{world.books.realm}"
    made = await world.isp(CREATE, input={"code": "visp", "name": "VISP", "commissionPercent": "15",
                                          "realms": [realm]})  # fmt: skip
    assert made["createReseller"]["__typename"] == "Reseller"
    assert (await world.isp(ALLOW, reseller="visp", plan="dsl-10"))["allowPlan"]["changed"] is True
    bob = await world.books.customer("bob", "dsl-10", "2026-09-01T00:00:00", reseller="visp", realm=realm)
    await bill_run(world.books.unit, parse_period("2026-09"), now=at("2026-10-01T01:00:00"))  # net 44.99, 47.24
    visp = await world.key(scope="reseller", reseller="visp")
    assert (await visp(COMMISSION, **period(1, 1)))["commissionStatement"]["lines"] == [], "nothing before payment"

    pay = {"customer": bob.number, "amountMicros": 47_240_000, "method": "bank_transfer", "idempotencyKey": "tx-1"}
    paid = (await world.isp(PAY, input=pay))["recordPayment"]
    assert paid["allocations"] == [{"invoice": "INV-000001", "amount": {"micros": 47_240_000}}]

    statement = (await visp(COMMISSION, **period(1, 1)))["commissionStatement"]
    assert statement["account"] == {"code": "2300", "name": "Commission earned"}
    assert (statement["opening"], statement["closing"]) == (
        {"micros": 0},
        {"micros": 6_748_500, "formatted": "6.75 USD"},
    )
    assert [(x["description"], x["amount"], x["credit"], x["debit"], x["balance"]) for x in statement["lines"]] == [
        (
            "Commission for visp on INV-000001",
            {"micros": 6_748_500},
            {"micros": 6_748_500},
            None,
            {"micros": 6_748_500},
        )
    ]
    earned = (await visp(ONE, code="visp"))["reseller"]["commissionEarned"]
    assert earned == {"micros": 6_748_500, "formatted": "6.75 USD"}
    long = (await visp(COMMISSION, **period(367, 0)))["commissionStatement"]
    assert long["__typename"] == "ValidationError"
    await assert_ledger_sound(world.books.tenant)
