"""The isolation matrix: every operation that names an object is run by tenant B's key
against tenant A's objects, and by a reseller's key against another reseller's and the
ISP's own objects. Each must answer exactly as for an object that does not exist (or
with nothing), and neither tenant's database may change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.subscribers import resellers
from bureau.tenants import apikeys
from bureau.tenants.routing import schema_name
from tests.integration.platform.billing.conftest import Books, at, make_books

SINCE = "2026-09-01T00:00:00"
TABLES = ("customers", "services", "invoices", "payments", "journal_entries", "audit_log", "resellers", "outbox")
PERIOD = {"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


@dataclass
class Victim:
    customer: str  # a customer number in tenant A that no caller under test may see
    service: str  # a service id
    invoice: str  # an invoice number
    reseller: str  # a reseller code


OPERATIONS: list[tuple[str, str, Any]] = [
    ("customer", "query($v: String!) { r: customer(ref: $v) { __typename } }", lambda v: v.customer),
    ("statement", "query($v: String!, $from: DateTime!, $to: DateTime!) "
                  "{ r: statement(customer: $v, from: $from, to: $to) { __typename } }", lambda v: v.customer),
    ("invoice", "query($v: String!) { r: invoice(number: $v) { __typename } }", lambda v: v.invoice),
    ("reseller", "query($v: String!) { r: reseller(code: $v) { __typename } }", lambda v: v.reseller),
    ("addService", "mutation($v: String!) { r: addService(input: {customer: $v, kind: \"mailbox\", "
                   "login: \"intruder\", plan: \"box-monthly\"}) { __typename } }", lambda v: v.customer),
    ("changeServiceState", "mutation($v: ID!) { r: changeServiceState(id: $v, state: \"cancelled\") "
                           "{ __typename } }", lambda v: v.service),
    ("changePlan", "mutation($v: ID!) { r: changePlan(id: $v, plan: \"dial-hourly\") { __typename } }",
     lambda v: v.service),
    ("resetPassword", "mutation($v: ID!) { r: resetPassword(id: $v, password: \"taken-over-1\") { __typename } }",
     lambda v: v.service),
    ("recordPayment", "mutation($v: String!) { r: recordPayment(input: {customer: $v, amountMicros: 1000000, "
                      "method: \"cash\", idempotencyKey: \"intrusion\"}) { __typename } }", lambda v: v.customer),
    ("createCustomer", "mutation($v: String!) { r: createCustomer(input: {code: \"intruder\", name: \"I\", "
                       "email: \"i@mail.example\", address: {country: \"US\"}, reseller: $v}) { __typename } }",
     lambda v: v.reseller),
]  # fmt: skip
LISTS: list[tuple[str, str, Any]] = [
    ("invoices", "query($v: String!) { r: invoices(customer: $v) { edges { cursor } } }", lambda v: v.customer),
]


async def _snapshot(engine: AsyncEngine, slugs: list[str]) -> dict[str, int | str]:
    found: dict[str, int | str] = {}
    async with engine.connect() as conn:
        for slug in slugs:
            schema = schema_name(slug)
            for table in TABLES:
                found[f"{slug}.{table}"] = (
                    await conn.execute(text(f'SELECT count(*) FROM "{schema}".{table}'))
                ).scalar_one()
            for name, column in (("states", "id || state || plan_id"), ("passwords", "md5(password_hash)")):
                query = f"SELECT string_agg({column}, ',' ORDER BY id) FROM \"{schema}\".services"
                found[f"{slug}.{name}"] = (await conn.execute(text(query))).scalar_one() or ""
    return found


@dataclass
class Matrix:
    ask: Any
    keys: dict[str, str]
    slugs: list[str]
    engine: AsyncEngine


@pytest.fixture
async def matrix(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[tuple[Matrix, Victim, Victim]]:
    a: Books = await make_books(engine, make_tenant, "isoa")
    b: Books = await make_books(engine, make_tenant, "isob")
    async with a.unit() as conn:
        for code in ("north", "south"):
            await resellers.create_reseller(conn, code=code, name=code.title(), realms=(f"{code}.{a.realm}",))
            await resellers.allow_plan(conn, code, "dsl-10")
    for name in ("own1", "own2", "own3"):  # tenant A holds more than B, so A's ids are past B's
        await a.customer(name, "dsl-10", SINCE)
    south = await a.customer("sam", "dsl-10", SINCE, reseller="south", realm=f"south.{a.realm}")
    await a.customer("nick", "dsl-10", SINCE, reseller="north", realm=f"north.{a.realm}")
    await b.customer("bea", "dsl-10", SINCE)
    for books in (a, b):
        await bill_run(books.unit, parse_period("2026-09"), now=at("2026-10-01T01:00:00"))
    keys = {
        "b-admin": await apikeys.create_api_key(engine, name="b", scope="isp", tenant=b.tenant.slug, actor="t"),
        "north": await apikeys.create_api_key(
            engine, name="n", scope="reseller", tenant=a.tenant.slug, reseller="north", actor="t"
        ),
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine, box=a.box)), base_url="http://bureau.test"
    ) as client:

        async def ask(key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {keys[key].token}"}
            answer = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
            return dict(answer.json())

        services = await _service_ids(engine, a.tenant.slug)
        # What B's key must not reach: A's last customer, service and invoice (beyond B's own ids).
        from_a = Victim(customer="C000005", service=str(max(services)), invoice="INV-000005", reseller="north")
        # What north's key must not reach: south's customer and the ISP's own (first) ones.
        from_south = Victim(customer=south.number, service=str(services[3]), invoice="INV-000004", reseller="south")
        world = Matrix(ask, {k: v.token for k, v in keys.items()}, [a.tenant.slug, b.tenant.slug], engine)
        yield world, from_a, from_south


async def _service_ids(engine: AsyncEngine, slug: str) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f'SELECT id FROM "{schema_name(slug)}".services ORDER BY id'))
        return [row.id for row in rows]


# One world for the whole matrix (two priced tenants and their bill runs take seconds to
# build); each case still checks its own answer and that nothing changed, and names
# itself when it fails.
CALLERS = ("b-admin", "north")


async def test_another_tenant_s_or_reseller_s_object_is_not_there(matrix: tuple[Matrix, Victim, Victim]) -> None:
    world, from_a, from_south = matrix
    failures = []
    for caller in CALLERS:
        for name, query, target in OPERATIONS:
            victim = from_a if caller == "b-admin" else from_south
            if caller == "b-admin" and name in ("reseller", "createCustomer"):
                victim = Victim(victim.customer, victim.service, victim.invoice, "north")  # B has no reseller so
            before = await _snapshot(world.engine, world.slugs)
            answer = await world.ask(caller, query, {"v": target(victim)} | (PERIOD if "statement" in query else {}))
            found = None if "errors" in answer else answer["data"]["r"]["__typename"]
            if found != "NotFound":
                failures.append(f"{name} by {caller}: {answer}")
            elif await _snapshot(world.engine, world.slugs) != before:
                failures.append(f"{name} by {caller} changed something")
        for name, query, target in LISTS:
            victim = from_a if caller == "b-admin" else from_south
            answer = await world.ask(caller, query, {"v": target(victim)})
            if answer.get("data", {}).get("r", {}).get("edges") != []:
                failures.append(f"{name} by {caller}: {answer}")
    assert not failures, "\n".join(failures)
