"""/graphql over HTTP (the ASGI app, in process) on real PostgreSQL: keys and scopes,
tenant and reseller isolation, result unions, paging, DataLoaders, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.subscribers import customers, resellers, services
from bureau.platform.subscribers.tables import customers as customer_rows
from bureau.tenants import apikeys
from bureau.tenants.routing import tenant_unit

ADDRESS = customers.Address(country="US", state="CA", city="Springfield")
PAGE = """
query Page($first: Int!, $after: String, $search: String) {
  customers(first: $first, after: $after, search: $search) {
    edges { cursor node { number name reseller balance { micros formatted } services { login state }
                          accounts { code unit balance formatted } lastInvoice { number total { micros } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@dataclass
class World:
    client: httpx.AsyncClient
    keys: dict[str, str]
    numbers: dict[str, str]  # customer code -> number
    tenants: dict[str, Any]

    async def ask(self, key: str | None, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.keys[key]}"} if key else {}
        answer = await self.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


async def _tenant(engine: AsyncEngine, make_tenant: Any, prefix: str, sellers: bool) -> tuple[Any, dict[str, str]]:
    tenant = await make_tenant(prefix)
    box = SecretBox(SecretBox.generate_key())
    numbers = {}
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        realm = f"{prefix}-{tenant.slug[-8:]}.example"
        await resellers.add_realm(conn, realm)
        from bureau.platform.catalog import plans

        await plans.create_category(conn, "all", "All")
        await plans.create_plan(conn, "basic", "Basic", category="all", billing="prepaid")
        owners: list[tuple[str, str | None]] = [(f"{prefix}-own", None)]
        if sellers:
            await resellers.create_reseller(conn, code="north", name="North")
            await resellers.create_reseller(conn, code="north-sub", name="North sub", parent="north")
            await resellers.create_reseller(conn, code="south", name="South")
            owners += [("north-1", "north"), ("north-sub-1", "north-sub"), ("south-1", "south")]
            for code in ("north", "north-sub", "south"):
                await resellers.allow_plan(conn, code, "basic")
        for code, seller in owners:
            made = await customers.create_customer(
                conn, code=code, name=f"Customer {code}", email=f"{code}@mail.example", address=ADDRESS,
                reseller=seller,
            )  # fmt: skip
            numbers[code] = made.number
            await services.add_service(conn, box, customer=made.number, kind="mailbox", login=code, plan="basic")
    return tenant, numbers


@pytest.fixture
async def world(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[World]:
    a, numbers = await _tenant(engine, make_tenant, "gqa", sellers=True)
    b, numbers_b = await _tenant(engine, make_tenant, "gqb", sellers=False)
    made = {
        "isp-a": await apikeys.create_api_key(engine, name="a", scope="isp", tenant=a.slug, actor="test"),
        "read-a": await apikeys.create_api_key(
            engine, name="r", scope="isp", role="read_only", tenant=a.slug, actor="test"
        ),
        "north": await apikeys.create_api_key(
            engine, name="n", scope="reseller", tenant=a.slug, reseller="north", actor="test"
        ),
        "isp-b": await apikeys.create_api_key(engine, name="b", scope="isp", tenant=b.slug, actor="test"),
        "operator": await apikeys.create_api_key(engine, name="o", scope="operator", actor="test"),
    }
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:
        yield World(client, {k: v.token for k, v in made.items()}, numbers | numbers_b, {"a": a, "b": b})


def logins(body: dict[str, Any]) -> set[str]:
    return {s["login"] for e in body["data"]["customers"]["edges"] for s in e["node"]["services"]}


async def test_each_key_sees_its_own_tenant_and_a_reseller_its_subtree(world: World) -> None:
    assert logins(await world.ask("isp-a", PAGE, first=50)) == {"gqa-own", "north-1", "north-sub-1", "south-1"}
    assert logins(await world.ask("north", PAGE, first=50)) == {"north-1", "north-sub-1"}
    assert logins(await world.ask("isp-b", PAGE, first=50)) == {"gqb-own"}
    me = await world.ask("north", "{ me { scope role tenant } }")
    assert me["data"]["me"] == {"scope": "reseller", "role": "admin", "tenant": world.tenants["a"].slug}


async def test_another_tenant_s_or_reseller_s_customer_is_exactly_like_a_missing_one(world: World) -> None:
    query = "query One($ref: String!) { customer(ref: $ref) { __typename ... on NotFound { message } } }"
    missing = await world.ask("north", query, ref="C999999")
    south = await world.ask("north", query, ref=world.numbers["south-1"])
    other_tenant = await world.ask("isp-b", query, ref=world.numbers["north-1"])  # C000002 exists in a only
    assert missing["data"]["customer"] == {
        "__typename": "NotFound",
        "message": "no customer has number, code or login 'C999999'",
    }
    assert south["data"]["customer"]["message"] == f"no customer has number, code or login {world.numbers['south-1']!r}"
    assert other_tenant["data"]["customer"]["__typename"] == "NotFound"
    mine = await world.ask("north", 'query { customer(ref: "north-sub-1") { ... on Customer { name } } }')
    assert mine["data"]["customer"] == {"name": "Customer north-sub-1"}


async def test_creating_a_customer_unions_roles_and_reseller_limits(world: World, engine: AsyncEngine) -> None:
    create = """
    mutation Create($input: CreateCustomerInput!) {
      createCustomer(input: $input) {
        __typename
        ... on Customer { number reseller balance { micros } }
        ... on ValidationError { message }
        ... on NotFound { message }
      }
    }"""
    base = {"name": "New One", "email": "new@mail.example", "address": {"country": "US", "state": "CA"}}
    made = await world.ask("north", create, input=base | {"code": "new-1"})
    assert made["data"]["createCustomer"] == {
        "__typename": "Customer",
        "number": "C000005",
        "reseller": "north",
        "balance": {"micros": 0},
    }
    foreign = await world.ask("north", create, input=base | {"code": "new-2", "reseller": "south"})
    assert foreign["data"]["createCustomer"] == {"__typename": "NotFound", "message": "no reseller has code 'south'"}
    bad = await world.ask("isp-a", create, input=base | {"code": "new-3", "email": "not an address"})
    assert bad["data"]["createCustomer"]["__typename"] == "ValidationError"
    assert "email" in bad["data"]["createCustomer"]["message"]
    refused = await world.ask("read-a", create, input=base | {"code": "new-4"})
    assert refused["data"] is None and "admin or care role" in refused["errors"][0]["message"]
    async with tenant_unit(engine, world.tenants["a"].ref) as conn:
        count = (await conn.execute(select(func.count()).select_from(customer_rows))).scalar_one()
    assert count == 5, "only the one good request wrote anything"


async def test_no_key_bad_key_and_operator_scope(world: World) -> None:
    anonymous = await world.ask(None, "{ me { keyId } }")
    assert anonymous["errors"][0]["message"] == "an API key is required: send Authorization: Bearer <key>"
    bad = await world.client.post(
        "/graphql", json={"query": "{ me { keyId } }"}, headers={"Authorization": "Bearer nope"}
    )
    assert (bad.status_code, bad.headers.get("content-type", "")[:10]) == (401, "text/plain")
    assert bad.text == "invalid or revoked API key"
    isp_on_operator = await world.ask("isp-a", "{ tenants { slug } }")
    assert "operator key" in isp_on_operator["errors"][0]["message"]
    operator_on_data = await world.ask("operator", PAGE, first=5)
    assert "ISP or reseller key" in operator_on_data["errors"][0]["message"]
    slugs = {t["slug"] for t in (await world.ask("operator", "{ tenants { slug } }"))["data"]["tenants"]}
    assert {world.tenants["a"].slug, world.tenants["b"].slug} <= slugs
    suspend = "mutation S($slug: String!) { suspendTenant(slug: $slug) { ... on Tenant { status } } }"
    assert (await world.ask("operator", suspend, slug=world.tenants["b"].slug))["data"]["suspendTenant"] == {
        "status": "suspended"
    }
    locked_out = await world.client.post(
        "/graphql", json={"query": "{ me { keyId } }"}, headers={"Authorization": f"Bearer {world.keys['isp-b']}"}
    )
    assert locked_out.status_code == 401
    invalid = await world.ask(
        "operator",
        'mutation { createTenant(input: {slug: "Bad Slug", name: "x"}) { ... on ValidationError { message } } }',
    )
    assert "may only hold lower-case letters" in invalid["data"]["createTenant"]["message"]


async def test_pages_follow_cursors_and_a_page_costs_a_bounded_number_of_statements(
    world: World, engine: AsyncEngine
) -> None:
    first = await world.ask("isp-a", PAGE, first=3)
    page = first["data"]["customers"]
    assert page["pageInfo"]["hasNextPage"] is True and len(page["edges"]) == 3
    rest = await world.ask("isp-a", PAGE, first=3, after=page["pageInfo"]["endCursor"])
    assert (
        len(rest["data"]["customers"]["edges"]) == 1 and rest["data"]["customers"]["pageInfo"]["hasNextPage"] is False
    )
    broken = await world.ask("isp-a", PAGE, first=3, after="bm90LWEtY3Vyc29y")
    assert "is not a cursor of this list" in broken["errors"][0]["message"]
    statements: list[str] = []
    transactions: list[object] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def begin(conn: Any) -> None:
        transactions.append(conn)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    event.listen(engine.sync_engine, "begin", begin)
    try:
        few = len(statements)
        await world.ask("isp-a", PAGE, first=1)
        one = len(statements) - few
        await world.ask("isp-a", PAGE, first=4)
        four = len(statements) - few - one
        began = len(transactions)
        await world.ask("isp-a", PAGE, first=4)
        units = len(transactions) - began
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        event.remove(engine.sync_engine, "begin", begin)
    assert one == four, f"a page of 4 took {four} statements, a page of 1 took {one}: something is per row"
    # The key (which brings the tenant's currency), the page, and its accounts, services
    # and last invoices.
    assert one <= 5, f"a page took {one} statements"
    # The key's lookup, and one unit of work for the page and all it asks of its rows (the
    # page's resolver fetches them and primes the loaders; none opens a unit of its own).
    assert units <= 2, f"a page opened {units} transactions"


async def test_alias_page_and_field_mistakes_are_refused_with_a_reason(world: World) -> None:
    nested = "{ " + "a: me { keyId } " * 16 + "}"
    aliases = await world.ask("isp-a", nested)
    assert "aliases" in aliases["errors"][0]["message"].lower()
    too_big = await world.ask("isp-a", PAGE, first=101)
    assert "first must be from 1 to 100" in too_big["errors"][0]["message"]
    typo = await world.ask("isp-a", "{ customers(first: 1) { edges { nod { name } } } }")
    assert "Cannot query field 'nod'" in typo["errors"][0]["message"]


async def test_a_nul_character_or_an_oversized_number_is_refused_with_the_reason(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.keys['isp-a']}"}
    query = "query($v: String!) { customer(ref: $v) { __typename } }"
    nul = await world.client.post("/graphql", json={"query": query, "variables": {"v": "a\x00b"}}, headers=headers)
    assert (nul.status_code, nul.text) == (400, "text in a request may not contain a NUL character (\\u0000)")
    inline = await world.client.post("/graphql", json={"query": '{ customer(ref: "a\\u0000") { __typename } }'},
                                     headers=headers)  # fmt: skip
    assert inline.status_code == 400
    big = "mutation { recordPayment(input: {customer: \"x\", amountMicros: 99999999999999999999, method: \"cash\", " \
          "idempotencyKey: \"k\"}) { __typename } }"  # fmt: skip
    answer = (await world.client.post("/graphql", json={"query": big}, headers=headers)).json()
    assert "out of range (64-bit)" in answer["errors"][0]["message"], answer
