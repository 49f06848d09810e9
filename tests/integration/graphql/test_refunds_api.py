"""The refunds list through /graphql, on one tenant (in EUR) for the whole module: newest
first with the payment and the amount in the tenant's currency; filters by customer (any
reference) and by payment; keyset pages that follow their cursors; a reseller key that
sees its subtree's refunds only and answers a sibling's or the ISP's customer exactly like
a missing one; bad cursors and page sizes refused with a message that says what to pass.
The books stay sound after the world is made and after a refund made through the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.graphql.pagination import cursor
from bureau.platform.billing.payments import record_payment
from bureau.platform.billing.refunds import refund_payment
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.ledger.check import check_ledger
from bureau.platform.subscribers import customers, resellers
from bureau.tenants import apikeys, lifecycle
from bureau.tenants.routing import tenant_unit
from tests.integration.graphql.conftest import Api, key_maker, served
from tests.integration.platform.billing.conftest import ADDRESS

EURO = 1_000_000
NODE = """id reason createdAt replayed amount { micros currency formatted }
  payment { id customer kind method amount { micros } unallocated { micros } }"""
REFUNDS = f"""
query($first: Int, $after: String, $customer: String, $payment: ID) {{
  refunds(first: $first, after: $after, customer: $customer, payment: $payment) {{
    edges {{ cursor node {{ {NODE} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
REFUND = """
mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  __typename ... on Refund { id replayed amount { micros } } } }"""
SIGNATURE = '{ __type(name: "Query") { fields { name args { name defaultValue } } } }'
EMPTY = {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


@dataclass
class World:
    tenant: lifecycle.Tenant
    isp: Api  # an ISP admin key
    finance: Api
    reader: Api  # an ISP key with the read_only role: reads refunds as it reads invoices
    north: Api  # a reseller key of "north", whose subtree holds "north-sub"
    operator: Api
    people: dict[str, customers.Customer]  # bob, kim: the ISP's; nora: north; nico: north-sub; sam: south
    paid: dict[str, str]  # payment ids by name
    refunds: list[str] = field(default_factory=list)  # every refund's id, oldest first (tests may add)


# (name, reseller, prepaid, payment method, amount paid in euros)
PEOPLE = (
    ("bob", None, False, "bank_transfer", 100),
    ("bob2", None, False, "cash", 50),  # bob's second payment
    ("nora", "north", False, "card", 40),
    ("nico", "north-sub", False, "cheque", 30),
    ("sam", "south", False, "cash", 20),
    ("kim", None, True, "cash", 25),
)
# (payment, euros, reason), in the order they are made: each customer's refunds interleave.
REFUNDED = (
    ("bob", 10, "bob paid twice"),
    ("nora", 4, "nora moved"),
    ("bob", 5, "bob overpaid"),
    ("bob2", 7, "bob cash back"),
    ("nico", 3, "nico closed"),
    ("sam", 2, "sam closed"),
    ("kim", 5, "kim left"),
)


@pytest.fixture(scope="module")
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    slug = f"gqref_{uuid.uuid4().hex[:8]}"
    tenant = await lifecycle.create_tenant(engine, slug, name=slug, currency="EUR", actor="test")
    people: dict[str, customers.Customer] = {}
    paid: dict[str, str] = {}
    made: list[str] = []
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await resellers.create_reseller(conn, code="north", name="North")
        await resellers.create_reseller(conn, code="north-sub", name="North sub", parent="north")
        await resellers.create_reseller(conn, code="south", name="South")
        for name, seller, prepaid, method, euros in PEOPLE:
            owner = people["bob"] if name == "bob2" else None
            if owner is None:
                owner = await customers.create_customer(
                    conn, code=f"{name}@refunds.example", name=name.title(), email=f"{name}@mail.example",
                    address=ADDRESS, reseller=seller, prepaid=prepaid,
                )  # fmt: skip
                people[name] = owner
            payment = await record_payment(
                conn, customer=owner.number, amount_micros=euros * EURO, method=method, idempotency_key=f"pay-{name}"
            )
            paid[name] = str(payment.id)
        for number, (payment_of, euros, reason) in enumerate(REFUNDED):
            refund = await refund_payment(
                conn,
                payment_id=int(paid[payment_of]),
                amount_micros=euros * EURO,
                reason=reason,
                idempotency_key=f"refund-{number}",
            )
            made.append(str(refund.id))
        books = await check_ledger(conn)
    assert books.ok, books.problems

    key = key_maker(engine, slug)
    operator = await apikeys.create_api_key(engine, name="ops", scope="operator", actor="test")
    async with served(engine, SecretBox(SecretBox.generate_key())) as client:
        yield World(
            tenant,
            isp=Api(client, await key("admin")),
            finance=Api(client, await key("finance")),
            reader=Api(client, await key("read_only")),
            north=Api(client, await key("admin", "reseller", reseller="north")),
            operator=Api(client, operator.token),
            people=people,
            paid=paid,
            refunds=made,
        )


async def listed(api: Api, **variables: Any) -> dict[str, Any]:
    page: dict[str, Any] = (await api(REFUNDS, **variables))["refunds"]
    return page


def ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def newest_first(world: World, *which: int) -> list[str]:
    """The ids of the refunds made as REFUNDED[i] for each i given, newest first."""
    return [world.refunds[i] for i in sorted(which, reverse=True)]


async def test_refunds_are_listed_newest_first_with_their_payment_in_the_tenant_currency(world: World) -> None:
    page = await listed(world.reader, first=100)
    assert ids(page) == world.refunds[::-1]
    assert page["pageInfo"] == {"hasNextPage": False, "endCursor": page["edges"][-1]["cursor"]}
    first = next(edge["node"] for edge in page["edges"] if edge["node"]["id"] == world.refunds[0])
    assert first["reason"] == "bob paid twice"
    assert first["amount"] == {"micros": 10 * EURO, "currency": "EUR", "formatted": "10.00 EUR"}
    assert first["replayed"] is False
    assert first["payment"] == {
        "id": world.paid["bob"],
        "customer": world.people["bob"].number,
        "kind": "payment",
        "method": "bank_transfer",
        "amount": {"micros": 100 * EURO},
        "unallocated": {"micros": 85 * EURO},  # as it stands now: both of its refunds taken
    }
    assert datetime.fromisoformat(first["createdAt"]).tzinfo is not None
    kim = next(edge["node"] for edge in page["edges"] if edge["node"]["id"] == world.refunds[6])
    assert (kim["payment"]["kind"], kim["payment"]["method"]) == ("topup", "cash")
    assert ids(await listed(world.isp)) == world.refunds[::-1]  # an ISP admin sees the same
    arguments = (await world.reader(SIGNATURE))["__type"]["fields"]
    refunds = next(f for f in arguments if f["name"] == "refunds")
    assert {a["name"]: a["defaultValue"] for a in refunds["args"]} == {
        "first": "20",
        "after": "null",
        "customer": "null",
        "payment": "null",
    }


async def test_refunds_are_filtered_by_customer_and_by_payment(world: World) -> None:
    bob = world.people["bob"]
    bobs = newest_first(world, 0, 2, 3)
    for ref in (bob.number, bob.code):  # a number or a code, as every customer argument takes
        assert ids(await listed(world.reader, customer=ref)) == bobs
    assert ids(await listed(world.reader, payment=world.paid["bob"])) == newest_first(world, 0, 2)
    assert ids(await listed(world.reader, payment=world.paid["bob2"], customer=bob.number)) == newest_first(world, 3)
    assert ids(await listed(world.reader, customer=world.people["nora"].number)) == newest_first(world, 1)
    assert ids(await listed(world.reader, customer=world.people["sam"].number)) == newest_first(world, 5)
    # a payment of another customer, and customers or payments that do not exist: nothing
    assert await listed(world.reader, payment=world.paid["nora"], customer=bob.number) == EMPTY
    for missing in ({"customer": "C999999"}, {"customer": "nobody@nowhere.example"}, {"payment": "999999"}):
        assert await listed(world.reader, **missing) == EMPTY, missing
    assert await listed(world.reader, payment="abc") == EMPTY


async def test_pages_follow_their_cursors_to_the_end(world: World) -> None:
    seen: list[str] = []
    after = None
    for _ in range(len(world.refunds)):
        page = await listed(world.reader, first=3, after=after)
        seen += ids(page)
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == world.refunds[::-1]  # every refund once, in order, and no empty last page
    assert await listed(world.reader, first=3, after=page["edges"][-1]["cursor"]) == EMPTY

    bob = world.people["bob"].number
    one = await listed(world.reader, first=2, customer=bob)
    assert (ids(one), one["pageInfo"]["hasNextPage"]) == (newest_first(world, 2, 3), True)
    two = await listed(world.reader, first=2, customer=bob, after=one["pageInfo"]["endCursor"])
    assert (ids(two), two["pageInfo"]["hasNextPage"]) == (newest_first(world, 0), False)


async def test_a_reseller_key_sees_its_subtree_only_and_others_customers_as_missing(world: World) -> None:
    ours = newest_first(world, 1, 4)  # nora's (north) and nico's (north-sub)
    page = await listed(world.north, first=100)
    assert ids(page) == ours
    assert {edge["node"]["payment"]["customer"] for edge in page["edges"]} == {
        world.people["nora"].number,
        world.people["nico"].number,
    }
    assert ids(await listed(world.north, customer=world.people["nico"].number)) == newest_first(world, 4)
    assert ids(await listed(world.north, payment=world.paid["nora"])) == newest_first(world, 1)
    missing = await listed(world.north, customer="C999999")
    assert missing == EMPTY
    for foreign in (world.people["sam"], world.people["bob"]):  # a sibling reseller's, the ISP's own
        for ref in (foreign.number, foreign.code):
            assert await listed(world.north, customer=ref) == missing, ref
    for payment in ("sam", "bob", "kim"):
        assert await listed(world.north, payment=world.paid[payment]) == missing, payment
    first = await listed(world.north, first=1)
    rest = await listed(world.north, first=100, after=first["pageInfo"]["endCursor"])
    assert ids(first) + ids(rest) == ours  # a cursor carries no scope: the next page is still north's


async def test_bad_cursors_and_page_sizes_are_refused_with_what_to_pass(world: World) -> None:
    for bad in ("garbage", "!!!", cursor("invoice", 5), cursor("refund", 5)[:-2] + "x"):
        message = await world.reader.refused(REFUNDS, after=bad)
        assert message == f"cursor {bad!r} is not a cursor of this list; pass an endCursor it returned", bad
    for first in (0, 101):
        assert await world.reader.refused(REFUNDS, first=first) == f"first must be from 1 to 100, got {first}"
    assert "ISP or reseller key" in await world.operator.refused(REFUNDS)


async def test_a_refund_made_through_the_api_is_listed_first_and_the_books_stay_sound(
    world: World, assert_ledger_sound: Any
) -> None:
    kim = world.people["kim"]
    ask = {"payment": world.paid["kim"], "amountMicros": 2 * EURO, "reason": "kim again", "idempotencyKey": "api-1"}
    made = (await world.finance(REFUND, input=ask))["refundPayment"]
    assert made["__typename"] == "Refund", made
    world.refunds.append(made["id"])
    again = (await world.isp(REFUND, input=ask))["refundPayment"]
    assert (again["id"], again["replayed"]) == (made["id"], True)
    page = await listed(world.reader, first=1, customer=kim.number)
    assert ids(page) == [made["id"]]
    node = page["edges"][0]["node"]
    assert (node["reason"], node["amount"]["micros"], node["replayed"]) == ("kim again", 2 * EURO, False)
    assert ids(await listed(world.reader, customer=kim.number)) == [made["id"], world.refunds[6]]  # once, not twice
    assert ids(await listed(world.reader, first=100)) == world.refunds[::-1]
    await assert_ledger_sound(world.tenant)
