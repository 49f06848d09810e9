"""Through /graphql alone, on a priced tenant: a customer and a RADIUS service made,
activated, billed, an invoice paid with a retried (idempotent) payment, a service
suspended and resumed; a reseller key confined to its own; sound books after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.subscribers import resellers
from bureau.tenants import apikeys
from tests.integration.graphql.conftest import Api
from tests.integration.platform.billing.conftest import Books, at, make_books

NEW_CUSTOMER = """
mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
  __typename ... on Customer { number } ... on ValidationError { message } } }"""
ADD = """
mutation($input: AddServiceInput!) { addService(input: $input) {
  __typename ... on Service { id state login } ... on ValidationError { message } ... on NotFound { message }
  ... on PlanNotAllowed { message } } }"""
STATE = """
mutation($id: ID!, $state: String!) { changeServiceState(id: $id, state: $state) {
  __typename ... on Service { state } ... on NotFound { message } ... on ValidationError { message } } }"""
PAY = """
mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  __typename ... on Payment { id replayed amount { formatted } allocations { invoice amount { micros } } }
  ... on ValidationError { message } ... on NotFound { message } } }"""
INVOICES = """
query($status: String) { invoices(first: 10, status: $status) {
  edges { node { number customer status total { micros } open { micros } } } } }"""


@pytest.fixture
async def priced(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[tuple[Books, Api, Api, httpx.AsyncClient]]:
    books = await make_books(engine, make_tenant, "gqbill")
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="north", name="North", realms=(f"north.{books.realm}",))
        await resellers.allow_plan(conn, "north", "dsl-10")
    isp = await apikeys.create_api_key(engine, name="isp", scope="isp", tenant=books.tenant.slug, actor="test")
    north = await apikeys.create_api_key(
        engine, name="north", scope="reseller", tenant=books.tenant.slug, reseller="north", actor="test"
    )
    app = create_app(engine, box=books.box)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bureau.test") as client:
        yield books, Api(client, isp.token), Api(client, north.token), client


async def test_customer_service_bill_and_idempotent_payment_through_the_api(
    priced: tuple[Books, Api, Api, httpx.AsyncClient], assert_ledger_sound: Any
) -> None:
    books, isp, _, _ = priced
    address = {"country": "US", "state": "CA", "city": "Springfield"}
    made = await isp(NEW_CUSTOMER, input={"code": "erin", "name": "Erin", "email": "erin@mail.example",
                                          "address": address, "prepaid": False})  # fmt: skip
    number = made["createCustomer"]["number"]
    login = f"erin@{books.realm}"
    service = (await isp(ADD, input={"customer": number, "kind": "radius_login", "login": login, "plan": "dsl-10",
                                     "password": "erin-secret-1"}))["addService"]  # fmt: skip
    assert (service["__typename"], service["state"]) == ("Service", "pending")
    weak = await isp(ADD, input={"customer": number, "kind": "radius_login", "login": f"x{login}", "plan": "dsl-10",
                                 "password": ""})  # fmt: skip
    assert weak["addService"]["__typename"] == "ValidationError"
    async with books.unit() as conn:  # back-dated activation, so that a past month has something to bill
        from bureau.platform.subscribers.services import change_service_state

        await change_service_state(conn, int(service["id"]), "active", at=at("2026-09-01T00:00:00"))
    await bill_run(books.unit, parse_period("2026-09"), now=at("2026-10-01T01:00:00"))
    open_ = (await isp(INVOICES, status="open"))["invoices"]["edges"]
    assert [(e["node"]["customer"], e["node"]["open"]["micros"]) for e in open_] == [(number, 47_240_000)]
    last = "query($ref: String!) { customer(ref: $ref) { ... on Customer { lastInvoice { number status } } } }"
    assert (await isp(last, ref=number))["customer"]["lastInvoice"] == {"number": "INV-000001", "status": "open"}
    payment = {"customer": number, "amountMicros": 47_240_000, "method": "bank_transfer", "idempotencyKey": "tx-9"}
    first = (await isp(PAY, input=payment))["recordPayment"]
    retried = (await isp(PAY, input=payment))["recordPayment"]
    assert (first["replayed"], retried["replayed"], retried["id"]) == (False, True, first["id"])
    assert first["allocations"] == [{"invoice": "INV-000001", "amount": {"micros": 47_240_000}}]
    assert (await isp(INVOICES, status="open"))["invoices"]["edges"] == []
    changed = await isp(STATE, id=service["id"], state="suspended")
    assert changed["changeServiceState"] == {"__typename": "Service", "state": "suspended"}
    wrong = await isp(STATE, id=service["id"], state="pending")
    assert "cannot move from suspended to pending" in wrong["changeServiceState"]["message"]
    await assert_ledger_sound(books.tenant)


async def test_a_reseller_key_reaches_only_its_own_customers_services_and_invoices(
    priced: tuple[Books, Api, Api, httpx.AsyncClient], assert_ledger_sound: Any
) -> None:
    books, isp, north, _ = priced
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")  # the ISP's own customer
    await bill_run(books.unit, parse_period("2026-09"), now=at("2026-10-01T01:00:00"))
    one = "query($ref: String!) { customer(ref: $ref) { ... on Customer { services { id } } } }"
    bob_service = await isp(one, ref=bob.number)
    bob_id = bob_service["customer"]["services"][0]["id"]
    hidden = await north(STATE, id=bob_id, state="suspended")
    missing = await north(STATE, id="999999", state="suspended")
    assert hidden["changeServiceState"] == {"__typename": "NotFound", "message": f"no service has id {bob_id}"}
    assert missing["changeServiceState"] == {"__typename": "NotFound", "message": "no service has id 999999"}
    assert (await north(INVOICES))["invoices"]["edges"] == []
    pay = {"customer": bob.number, "amountMicros": 1_000_000, "method": "cash", "idempotencyKey": "n-1"}
    assert (await north(PAY, input=pay))["recordPayment"]["__typename"] == "NotFound"
    address = {"country": "US"}
    mine = await north(NEW_CUSTOMER, input={"code": "nora", "name": "Nora", "email": "n@mail.example",
                                            "address": address, "prepaid": False})  # fmt: skip
    nora = {"customer": mine["createCustomer"]["number"], "kind": "radius_login", "login": f"nora@north.{books.realm}"}
    added = await north(ADD, input=nora | {"plan": "dial-hourly", "password": "nora-pass-1"})
    assert added["addService"]["__typename"] == "PlanNotAllowed", added
    async with books.unit() as conn:
        from bureau.platform.subscribers.services import get_service

        assert (await get_service(conn, int(bob_id))).state.value == "active", "the hidden service was not touched"
    await assert_ledger_sound(books.tenant)
