"""Through /graphql alone, on a priced tenant: adjustments (a charge, a credit, a retried
key) in the journal with balanced postings, who may list and who may adjust, usage per
service in a period, and another tenant's key that finds none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.rating.usage import Usage
from bureau.platform.subscribers import resellers
from bureau.tenants import apikeys
from tests.integration.graphql.conftest import Api
from tests.integration.platform.billing.conftest import Books, make_books

ADJUST = """
mutation($input: RecordAdjustmentInput!) { recordAdjustment(input: $input) {
  __typename ... on Adjustment { id customer amount { micros formatted } reason entryId replayed }
  ... on ValidationError { message } ... on NotFound { message } } }"""
JOURNAL = """
query($first: Int, $after: String, $customer: String, $from: DateTime, $to: DateTime, $keyPrefix: String) {
  journalEntries(first: $first, after: $after, customer: $customer, from: $from, to: $to, keyPrefix: $keyPrefix) {
    edges { cursor node { id key description postedAt
      postings { account accountName owner ownerKind side amount unit money { micros currency } formatted } } }
    pageInfo { hasNextPage endCursor } } }"""
USAGE = """
query($customer: String!, $period: String!) { usage(customer: $customer, period: $period) {
  __typename ... on Usage { customer period seconds octetsIn octetsOut records
    services { service login seconds octetsIn octetsOut records } }
  ... on ValidationError { message } ... on NotFound { message } } }"""
MONEY_ROLE = "this needs an ISP or reseller key with the admin or finance role (Authorization: Bearer <key>)"
ISP_ONLY = "this needs an ISP key (Authorization: Bearer <key>)"
GB = 1_000_000_000


@dataclass
class World:
    books: Books
    keys: dict[str, Api]  # isp (admin), finance, read, north (a reseller), other (tenant B)


@pytest.fixture
async def world(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[World]:
    books = await make_books(engine, make_tenant, "gqjrnl")
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="north", name="North", realms=(f"north.{books.realm}",))
        await resellers.allow_plan(conn, "north", "dsl-10")
    other = await make_books(engine, make_tenant, "gqjrnlb")
    slug = books.tenant.slug

    async def key(name: str, scope: str, role: str = "admin", tenant: str = slug, reseller: str | None = None) -> str:
        made = await apikeys.create_api_key(
            engine, name=name, scope=scope, role=role, tenant=tenant, reseller=reseller, actor="test"
        )
        return made.token

    tokens = {
        "isp": await key("isp", "isp"),
        "finance": await key("finance", "isp", "finance"),
        "read": await key("read", "isp", "read_only"),
        "north": await key("north", "reseller", reseller="north"),
        "other": await key("other", "isp", tenant=other.tenant.slug),
    }
    app = create_app(engine, box=books.box)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bureau.test") as client:
        yield World(books, {name: Api(client, token) for name, token in tokens.items()})


def _balanced(entry: dict[str, Any]) -> bool:
    """Debits equal credits in every unit of the entry."""
    units = {p["unit"] for p in entry["postings"]}
    return all(
        sum(p["amount"] for p in entry["postings"] if p["unit"] == unit and p["side"] == "debit")
        == sum(p["amount"] for p in entry["postings"] if p["unit"] == unit and p["side"] == "credit")
        for unit in units
    )


async def test_adjustments_are_journal_entries_of_the_customer_and_a_retry_posts_once(
    world: World, assert_ledger_sound: Any
) -> None:
    isp, finance = world.keys["isp"], world.keys["finance"]
    bob = await world.books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await world.books.customer("dan", "dsl-10", "2026-09-01T00:00:00")  # an entry of his must not show for bob
    charge = {"customer": bob.number, "amountMicros": 5_000_000, "reason": "late fee", "idempotencyKey": "adj-1"}
    first = (await isp(ADJUST, input=charge))["recordAdjustment"]
    assert first["__typename"] == "Adjustment", first
    assert (first["customer"], first["amount"], first["replayed"]) == (
        bob.number,
        {"micros": 5_000_000, "formatted": "5.00 USD"},
        False,
    )
    retried = (await finance(ADJUST, input=charge))["recordAdjustment"]
    assert (retried["id"], retried["entryId"], retried["replayed"]) == (first["id"], first["entryId"], True)
    credit = charge | {"amountMicros": -2_500_000, "reason": "outage", "idempotencyKey": "adj-2"}
    assert (await finance(ADJUST, input=credit))["recordAdjustment"]["replayed"] is False
    dan = charge | {"customer": f"dan@{world.books.realm}", "idempotencyKey": "adj-dan"}
    assert (await isp(ADJUST, input=dan))["recordAdjustment"]["__typename"] == "Adjustment"
    reused = (await isp(ADJUST, input=charge | {"amountMicros": 7_000_000}))["recordAdjustment"]
    assert reused["__typename"] == "ValidationError" and "already used" in reused["message"], reused
    fraction = (await isp(ADJUST, input=charge | {"amountMicros": 1, "idempotencyKey": "adj-3"}))["recordAdjustment"]
    assert fraction["__typename"] == "ValidationError" and "minor units" in fraction["message"], fraction

    page = (await isp(JOURNAL, customer=bob.number))["journalEntries"]
    entries = [edge["node"] for edge in page["edges"]]
    assert [e["key"] for e in entries] == ["adjustment:adj-2", "adjustment:adj-1"], "newest first, bob's only"
    assert entries[1]["id"] == first["entryId"] and page["pageInfo"]["hasNextPage"] is False
    assert all(_balanced(e) for e in entries)
    postings = {(p["owner"], p["account"], p["side"], p["amount"]) for p in entries[1]["postings"]}
    assert postings == {(bob.code, "1100", "debit", 5_000_000), ("isp", "4900", "credit", 5_000_000)}
    assert entries[0]["postings"][0]["money"]["currency"] == "USD"
    assert "outage" in entries[0]["description"]

    once = (await isp(JOURNAL, keyPrefix="adjustment:adj-1"))["journalEntries"]["edges"]
    assert [edge["node"]["key"] for edge in once] == ["adjustment:adj-1"], "the retry posted nothing"
    everything = (await isp(JOURNAL, first=100))["journalEntries"]["edges"]
    assert sum(1 for edge in everything if edge["node"]["key"] == "adjustment:adj-1") == 1
    assert all(_balanced(edge["node"]) for edge in everything)

    one = (await isp(JOURNAL, first=1, customer=bob.number))["journalEntries"]
    assert one["pageInfo"]["hasNextPage"] is True
    rest = (await isp(JOURNAL, first=1, customer=bob.number, after=one["pageInfo"]["endCursor"]))["journalEntries"]
    assert [e["node"]["key"] for e in rest["edges"]] == ["adjustment:adj-1"]
    assert rest["pageInfo"]["hasNextPage"] is False
    later = (await isp(JOURNAL, customer=bob.number, **{"from": "2999-01-01T00:00:00Z"}))["journalEntries"]
    assert later["edges"] == []
    before = (await isp(JOURNAL, customer=bob.number, to="2999-01-01T00:00:00"))["journalEntries"]
    assert len(before["edges"]) == 2
    assert (await isp(JOURNAL, customer="C999999"))["journalEntries"]["edges"] == []
    assert "cursor" in await isp.refused(JOURNAL, after="bm90LWEtY3Vyc29y")
    assert "end after it starts" in await isp.refused(
        JOURNAL, **{"from": "2026-10-02T00:00:00Z"}, to="2026-10-01T00:00:00Z"
    )
    await assert_ledger_sound(world.books.tenant)


async def test_who_may_list_the_journal_and_who_may_adjust(world: World, assert_ledger_sound: Any) -> None:
    read, north = world.keys["read"], world.keys["north"]
    bob = await world.books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    nora = await world.books.customer(
        "nora", "dsl-10", "2026-09-01T00:00:00", realm=f"north.{world.books.realm}", reseller="north"
    )
    assert nora.reseller == "north"
    charge = {"customer": bob.number, "amountMicros": 1_000_000, "reason": "fee", "idempotencyKey": "k-1"}
    assert await read.refused(ADJUST, input=charge) == MONEY_ROLE
    assert (await read(JOURNAL))["journalEntries"]["edges"] == [], "a read-only ISP key lists the journal"
    assert await north.refused(JOURNAL) == ISP_ONLY
    assert (await north(ADJUST, input=charge))["recordAdjustment"]["__typename"] == "NotFound", "not its customer"
    own = (await north(ADJUST, input=charge | {"customer": nora.number}))["recordAdjustment"]
    assert (own["__typename"], own["customer"]) == ("Adjustment", nora.number)
    keys = [edge["node"]["key"] for edge in (await read(JOURNAL))["journalEntries"]["edges"]]
    assert keys == ["adjustment:k-1"]
    prepaid = await world.books.customer("pat", "box-monthly", "2026-09-01T00:00:00", prepaid=True)
    broke = await world.keys["isp"](ADJUST, input=charge | {"customer": prepaid.number, "idempotencyKey": "k-2"})
    assert broke["recordAdjustment"]["__typename"] == "ValidationError", "a prepaid balance never goes below zero"
    await assert_ledger_sound(world.books.tenant)


async def test_usage_per_service_in_a_period(world: World) -> None:
    isp, north = world.keys["isp"], world.keys["north"]
    used = [
        ("2026-09-30T23:59:00", Usage(seconds=60, octets_in=1, octets_out=2)),  # the month before
        ("2026-10-01T00:00:00", Usage(seconds=3_600, octets_in=GB, octets_out=4 * GB)),
        ("2026-10-31T23:00:00", Usage(seconds=1_800, octets_in=GB // 2, octets_out=GB)),
        ("2026-11-01T00:00:00", Usage(seconds=5, octets_in=5, octets_out=5)),  # the month after
    ]
    bob = await world.books.customer("bob", "dsl-10", "2026-09-01T00:00:00", usage=used)
    found = (await isp(USAGE, customer=bob.number, period="2026-10"))["usage"]
    login = f"bob@{world.books.realm}"
    totals = {"seconds": 5_400, "octetsIn": GB + GB // 2, "octetsOut": 5 * GB, "records": 2}
    assert found == {"__typename": "Usage", "customer": bob.number, "period": "2026-10", **totals,
                     "services": [{"service": found["services"][0]["service"], "login": login, **totals}]}  # fmt: skip
    by_login = (await isp(USAGE, customer=login, period="2026-09"))["usage"]
    assert (by_login["seconds"], by_login["records"]) == (60, 1)
    quiet = (await isp(USAGE, customer=bob.number, period="2027-01"))["usage"]
    assert (quiet["records"], quiet["services"][0]["records"], quiet["services"][0]["octetsOut"]) == (0, 0, 0)
    bad = (await isp(USAGE, customer=bob.number, period="2026-13"))["usage"]
    assert bad["__typename"] == "ValidationError" and "YYYY-MM" in bad["message"], bad
    assert (await isp(USAGE, customer="C999999", period="2026-10"))["usage"]["__typename"] == "NotFound"
    assert (await north(USAGE, customer=bob.number, period="2026-10"))["usage"]["__typename"] == "NotFound"
    assert (await world.keys["read"](USAGE, customer=bob.number, period="2026-10"))["usage"]["records"] == 2


async def test_another_tenant_finds_neither_usage_nor_customer_to_adjust(
    world: World, assert_ledger_sound: Any
) -> None:
    other = world.keys["other"]
    bob = await world.books.customer("bob", "dsl-10", "2026-09-01T00:00:00", usage=[("2026-10-02T00:00:00", Usage())])
    for ref in (bob.number, bob.code):
        seen = (await other(USAGE, customer=ref, period="2026-10"))["usage"]
        assert seen["__typename"] == "NotFound", seen
        charge = {"customer": ref, "amountMicros": 1_000_000, "reason": "fee", "idempotencyKey": f"x-{ref}"}
        assert (await other(ADJUST, input=charge))["recordAdjustment"]["__typename"] == "NotFound"
        assert (await other(JOURNAL, customer=ref))["journalEntries"]["edges"] == []
    assert (await world.keys["isp"](JOURNAL))["journalEntries"]["edges"] == [], "nothing was posted in tenant A"
    await assert_ledger_sound(world.books.tenant)
