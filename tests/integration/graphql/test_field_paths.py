"""Every ValidationError names the field at fault: bad input to the mutations people use
most, each answered with the path of the one field that was wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.tenants import apikeys
from tests.integration.graphql.conftest import Api
from tests.integration.platform.billing.conftest import Books, make_books

ANSWER = "__typename ... on ValidationError { message fields { path message } }"
CUSTOMER = {"code": "zed", "name": "Zed", "email": "zed@mail.example", "address": {"country": "US"}}
CASES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("createCustomer", "CreateCustomerInput", CUSTOMER | {"email": "not-an-address"}, ["input", "email"]),
    ("createCustomer", "CreateCustomerInput", CUSTOMER | {"address": {"country": "Narnia"}},
     ["input", "address", "country"]),
    ("createCustomer", "CreateCustomerInput", CUSTOMER | {"phone": "call me"}, ["input", "phone"]),
    ("createCustomer", "CreateCustomerInput", CUSTOMER | {"creditLimitMicros": -5}, ["input", "creditLimitMicros"]),
    ("addService", "AddServiceInput", {"customer": "bob@EXAMPLE", "kind": "teleport", "login": "x", "plan": "dsl-10"},
     ["input", "kind"]),
    ("recordPayment", "RecordPaymentInput", {"customer": "bob@EXAMPLE", "amountMicros": 1, "method": "cash",
     "idempotencyKey": "k1"}, ["input", "amountMicros"]),
    ("recordPayment", "RecordPaymentInput", {"customer": "bob@EXAMPLE", "amountMicros": 1_000_000,
     "method": "barter", "idempotencyKey": "k2"}, ["input", "method"]),
    ("createPlan", "CreatePlanInput", {"code": "Not A Code!", "name": "X", "category": "all", "billing": "postpaid"},
     ["input", "code"]),
    ("createPlan", "CreatePlanInput", {"code": "newplan", "name": "X", "category": "all", "billing": "sometimes"},
     ["input", "billing"]),
    ("createTaxRate", "CreateTaxRateInput", {"name": "T", "country": "US", "rateBp": -1, "inclusive": False,
     "effectiveFrom": "2027-01-01T00:00:00Z"}, ["input", "rateBp"]),
    ("createReseller", "CreateResellerInput", {"code": "r1", "name": "R", "commissionBp": 20000},
     ["input", "commissionBp"]),
    ("recordAdjustment", "RecordAdjustmentInput", {"customer": "bob@EXAMPLE", "amountMicros": 1_000_000,
     "reason": "", "idempotencyKey": "k3"}, ["input", "reason"]),
]  # fmt: skip


@pytest.fixture
async def api(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[tuple[Api, Books]]:
    books = await make_books(engine, make_tenant, "gqpath")
    await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    key = await apikeys.create_api_key(engine, name="a", scope="isp", tenant=books.tenant.slug, actor="test")
    transport = httpx.ASGITransport(app=create_app(engine, box=books.box))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:
        yield Api(client, key.token), books


async def test_each_refused_input_names_its_field(api: tuple[Api, Books], assert_ledger_sound: Any) -> None:
    client, books = api
    wrong = []
    for mutation, input_type, given, path in CASES:
        given = {k: (v.replace("EXAMPLE", books.realm) if isinstance(v, str) else v) for k, v in given.items()}
        query = f"mutation($input: {input_type}!) {{ r: {mutation}(input: $input) {{ {ANSWER} }} }}"
        answer = (await client(query, input=given))["r"]
        if answer["__typename"] != "ValidationError" or [f["path"] for f in answer["fields"]] != [path]:
            wrong.append(f"{mutation} {given}: {answer}")
    assert not wrong, "\n".join(wrong)
    await assert_ledger_sound(books.tenant)
