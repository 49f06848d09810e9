"""A month of a post-paid RADIUS customer through the API alone, with real components.

An operator key creates the ISP over /graphql and its admin key; that key sets up the
catalogue (a monthly charge and a per-minute rate), a realm, a NAS, a customer and a
RADIUS login activated from the first instant of last month, and pays ahead. A real
RADIUS server on loopback then accepts the login (PAP) and records a session whose
Event-Timestamps fall in last month, seen live through `sessions` and afterwards in
`usage`. Month-end is asked of the API and done by a real dramatiq worker on the
PostgreSQL broker; the invoice charges the month and the minutes, the payment made
ahead is applied to it, and an idempotent payment settles the rest. Sound books after.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import struct
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dramatiq
import httpx
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.radius import wire
from bureau.platform.radius.passwords import hide_password
from bureau.platform.settings import load_settings
from bureau.radius_proxy import attributes as a
from bureau.radius_proxy.server import RadiusServer
from bureau.tenants import apikeys, lifecycle
from bureau.workers import app as workers
from tests.integration.graphql.conftest import Api
from tests.integration.radius_proxy.conftest import SECRET, _Socket

# The NAS registry gives an address to one NAS in the whole installation and every test
# of a run shares one database: tests/integration/radius_proxy counts 127.0.1.1 upwards
# (and 127.0.2-4.x), so this module takes 127.0.1.250 downwards.
_hosts = itertools.count(250, -1)
FAST = workers.Limits(max_retries=0, min_backoff_ms=100, max_backoff_ms=200, pg_poll_interval_s=0.05, relay_sweep_s=0.3)

MONTHLY = 29_900_000  # 29.90 a month, in advance
PER_MINUTE = 20_000  # 0.02 a minute, charged in whole minutes
SESSION_SECONDS = 5_390  # 89 min 50 s: billed as 90 minutes
INTERIM_SECONDS = 1_800
OCTETS_IN, OCTETS_OUT = 12_345_678, 98_765_432  # at the Stop (the Interim: a third of each)
USAGE = -(-SESSION_SECONDS // 60) * PER_MINUTE  # 90 x 0.02 = 1.80
TOTAL = MONTHLY + USAGE  # 31.70, no tax rate in the tenant: no tax
AHEAD = 10_000_000  # paid before the month was billed
REST = TOTAL - AHEAD  # 21.70
PASSWORD = "carla-dials-in-7"

CREATE_TENANT = """mutation($input: CreateTenantInput!) { createTenant(input: $input) {
  __typename ... on Tenant { slug currency status } ... on ValidationError { message } } }"""
CREATE_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on NewApiKey { token key { scope role tenant } } ... on ValidationError { message }
  ... on NotFound { message } } }"""
CATEGORY = """mutation($input: CreateCategoryInput!) { createCategory(input: $input) {
  __typename ... on PlanCategory { code } ... on ValidationError { message } ... on NotFound { message } } }"""
PLAN = """mutation($input: CreatePlanInput!) { createPlan(input: $input) {
  __typename ... on Plan { code billing } ... on ValidationError { message } ... on NotFound { message } } }"""
VERSION = """mutation($input: AddPlanVersionInput!) { addPlanVersion(input: $input) {
  __typename ... on PlanVersion { version components { __typename
    ... on RecurringCharge { amount { micros } period }
    ... on UsageCharge { meter unitSize increment tiers { start price { micros } } } } }
  ... on ValidationError { message } ... on NotFound { message } } }"""
REALM = """mutation($input: AddRealmInput!) { addRealm(input: $input) {
  __typename ... on Realm { name reseller } ... on ValidationError { message } } }"""
NAS = """mutation($input: AddNasInput!) { addNas(input: $input) {
  __typename ... on Nas { name address } ... on ValidationError { message } } }"""
CUSTOMER = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
  __typename ... on Customer { number prepaid } ... on ValidationError { message } } }"""
SERVICE = """mutation($input: AddServiceInput!) { addService(input: $input) {
  __typename ... on Service { id state login plan } ... on ValidationError { message } ... on NotFound { message }
  ... on PlanNotAllowed { message } } }"""
STATE = """mutation($id: ID!, $state: String!, $at: DateTime) { changeServiceState(id: $id, state: $state, at: $at) {
  __typename ... on Service { state } ... on ValidationError { message } ... on NotFound { message } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  __typename ... on Payment { id kind replayed amount { micros } unallocated { micros }
    allocations { invoice amount { micros } } }
  ... on ValidationError { message } ... on NotFound { message } } }"""
BALANCES = """query($ref: String!) { customer(ref: $ref) { ... on Customer {
  balance { micros } accounts { code balance } lastInvoice { number status } } } }"""
SESSIONS = """query($login: String) { sessions(login: $login) { edges { node {
  login state acctSessionId startedAt seconds octetsIn octetsOut } } } }"""
USAGE_OF = """query($customer: String!, $period: String!) { usage(customer: $customer, period: $period) {
  __typename ... on Usage { period seconds octetsIn octetsOut records services { login seconds records } }
  ... on ValidationError { message } ... on NotFound { message } } }"""
START_RUN = """mutation($period: String!) { startBillRun(period: $period) {
  __typename ... on BillRunQueued { period } ... on ValidationError { message } } }"""
RUNS = "{ billRuns { period status invoices skipped } }"
INVOICES = """query($customer: String, $status: String) { invoices(customer: $customer, status: $status) {
  nodes { number customer periodStart periodEnd net { micros } tax { micros } total { micros } open { micros }
  balanceDue { micros } status lines { description quantity unit net { micros } } } } }"""
INVOICE = """query($number: String!) { invoice(number: $number) {
  __typename ... on Invoice { number total { micros } open { micros } status } ... on NotFound { message } } }"""
ENTRIES = """query($customer: String!, $prefix: String!) { journalEntries(customer: $customer, keyPrefix: $prefix) {
  nodes { key postings { account owner side amount } } } }"""
PDF_LINK = """query($number: String!) { invoicePdfLink(number: $number) {
  __typename ... on InvoicePdfLink { url } ... on NotFound { message } } }"""
STATEMENT = """query($customer: String!, $from: DateTime!, $to: DateTime!) {
  statement(customer: $customer, from: $from, to: $to, account: "1100") { __typename
    ... on Statement { opening { micros } closing { micros } lines { description amount { micros } } }
    ... on ValidationError { message } ... on NotFound { message } } }"""


def _month_before(now: datetime) -> tuple[datetime, datetime]:
    """The first instants of the previous UTC month and of this one."""
    this = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (this - timedelta(days=1)).replace(day=1), this


def _uint(value: int) -> bytes:
    return struct.pack("!I", value)


class _Nas:
    """The test's NAS: a UDP socket on its own loopback address, talking to the server."""

    def __init__(self, server: RadiusServer, socket: _Socket) -> None:
        self.server, self.socket = server, socket

    async def ask(self, kind: str, datagram: bytes) -> wire.RawPacket:
        assert self.socket.transport is not None
        self.socket.transport.sendto(datagram, ("127.0.0.1", self.server.ports[kind]))
        data, _ = await asyncio.wait_for(self.socket.inbox.get(), 5)
        reply = wire.parse(data)
        assert wire.response_ok(reply, datagram[4:20], SECRET), "a reply signed with the NAS's secret"
        return reply

    async def pap(self, identifier: int, login: str, password: str) -> wire.RawPacket:
        vector = os.urandom(16)
        hidden = hide_password(password.encode(), SECRET, vector)
        listed = [(a.MESSAGE_AUTHENTICATOR, bytes(16)), (a.USER_NAME, login.encode()), (a.USER_PASSWORD, hidden)]
        data = wire.build(1, identifier, vector, wire.encode_attributes(listed))
        signature = wire.message_authenticator(data, SECRET)
        return await self.ask("auth", data[:22] + signature + data[38:])

    async def account(self, identifier: int, attributes: list[tuple[int, bytes]]) -> wire.RawPacket:
        return await self.ask("acct", wire.sign_request(4, identifier, attributes, SECRET))


async def _open_isp(client: httpx.AsyncClient, operator_token: str, slug: str) -> Api:
    """Step 1: the operator creates the ISP, then its admin key, both through the API."""
    ops = Api(client, operator_token)
    made = (await ops(CREATE_TENANT, input={"slug": slug, "name": "End-to-end ISP"}))["createTenant"]
    assert made == {"__typename": "Tenant", "slug": slug, "currency": "USD", "status": "active"}
    key = (await ops(CREATE_KEY, input={"name": "isp admin", "scope": "isp", "tenant": slug}))["createApiKey"]
    assert key["key"] == {"scope": "isp", "role": "admin", "tenant": slug}, key
    return Api(client, key["token"])


async def _sell_metered_dial_up(isp: Api, slug: str, address: str, last_month: datetime) -> tuple[str, str]:
    """Step 2: the catalogue, a realm, the NAS, a post-paid customer and a RADIUS login
    active from the first instant of last month. Returns (customer number, login)."""
    assert (await isp(CATEGORY, input={"code": "dial", "name": "Dial-up"}))["createCategory"]["code"] == "dial"
    plan = {"code": "metered", "name": "Metered", "category": "dial", "billing": "postpaid"}
    assert (await isp(PLAN, input=plan))["createPlan"] == {
        "__typename": "Plan",
        "code": "metered",
        "billing": "postpaid",
    }
    components = [
        {"recurring": {"amountMicros": MONTHLY}},
        {"usage": {"meter": "seconds", "unitSize": 60, "priceMicros": PER_MINUTE, "increment": 60}},
    ]
    version = {"plan": "metered", "effectiveFrom": last_month.isoformat(), "components": components}
    assert (await isp(VERSION, input=version))["addPlanVersion"] == {
        "__typename": "PlanVersion",
        "version": 1,
        "components": [
            {"__typename": "RecurringCharge", "amount": {"micros": MONTHLY}, "period": "month"},
            {
                "__typename": "UsageCharge",
                "meter": "seconds",
                "unitSize": 60,
                "increment": 60,
                "tiers": [{"start": 0, "price": {"micros": PER_MINUTE}}],
            },
        ],
    }
    realm = f"{slug.replace('_', '-')}.example"
    added = (await isp(REALM, input={"name": realm}))["addRealm"]
    assert added == {"__typename": "Realm", "name": realm, "reseller": None}
    nas = {"name": "bras-1", "address": f"{address}/32", "secret": SECRET.decode(), "nasType": "other"}
    assert (await isp(NAS, input=nas))["addNas"] == {"__typename": "Nas", "name": "bras-1", "address": f"{address}/32"}
    customer = {
        "code": "carla",
        "name": "Carla Example",
        "email": "carla@mail.example",
        "address": {"country": "US", "state": "CA", "city": "Springfield"},
        "prepaid": False,
    }
    made = (await isp(CUSTOMER, input=customer))["createCustomer"]
    assert (made["__typename"], made["prepaid"]) == ("Customer", False), made
    login = f"carla@{realm}"
    service = {"customer": made["number"], "kind": "radius_login", "login": login, "plan": "metered"}
    added = (await isp(SERVICE, input=service | {"password": PASSWORD}))["addService"]
    assert (added["__typename"], added["state"], added["login"]) == ("Service", "pending", login)
    active = await isp(STATE, id=added["id"], state="active", at=last_month.isoformat())
    assert active["changeServiceState"] == {"__typename": "Service", "state": "active"}
    return made["number"], login


async def _dial_in(isp: Api, server: RadiusServer, address: str, login: str, began: datetime) -> None:
    """Step 4: Access-Request (PAP) accepted, then Start, Interim-Update and Stop dated by
    Event-Timestamp from `began` on; the open session is seen through the API."""
    _, socket = await asyncio.get_running_loop().create_datagram_endpoint(_Socket, local_addr=(address, 0))
    try:
        nas = _Nas(server, socket)
        accept = await nas.pap(1, login, PASSWORD)
        assert accept.code == 2, accept
        klass = accept.first(a.CLASS)
        assert klass is not None
        common = [(a.USER_NAME, login.encode()), (a.ACCT_SESSION_ID, b"e2e-1"), (a.CLASS, klass)]

        def report(status: int, seconds: int, octets_in: int, octets_out: int) -> list[tuple[int, bytes]]:
            stamp = int((began + timedelta(seconds=seconds)).timestamp())
            return [
                *common,
                (a.ACCT_STATUS_TYPE, _uint(status)),
                (a.ACCT_SESSION_TIME, _uint(seconds)),
                (a.ACCT_INPUT_OCTETS, _uint(octets_in)),
                (a.ACCT_OUTPUT_OCTETS, _uint(octets_out)),
                (a.EVENT_TIMESTAMP, _uint(stamp)),
            ]

        assert (await nas.account(2, report(1, 0, 0, 0))).code == 5
        assert (await nas.account(3, report(3, INTERIM_SECONDS, OCTETS_IN // 3, OCTETS_OUT // 3))).code == 5
        live = (await isp(SESSIONS, login=login))["sessions"]["edges"]
        assert [e["node"] for e in live] == [
            {
                "login": login,
                "state": "open",
                "acctSessionId": "e2e-1",
                "startedAt": began.isoformat(),
                "seconds": INTERIM_SECONDS,
                "octetsIn": OCTETS_IN // 3,
                "octetsOut": OCTETS_OUT // 3,
            }
        ]
        stop = [*report(2, SESSION_SECONDS, OCTETS_IN, OCTETS_OUT), (a.ACCT_TERMINATE_CAUSE, _uint(1))]
        assert (await nas.account(4, stop)).code == 5
    finally:
        if socket.transport is not None:
            socket.transport.close()
    assert (await isp(SESSIONS, login=login))["sessions"]["edges"] == []


async def _bill_with_a_worker(isp: Api, period: str, database_url: str, tmp_path: Path) -> None:
    """Step 5: startBillRun through the API, a dramatiq worker on the PostgreSQL broker
    does it; billRuns followed until finished."""
    queued = (await isp(START_RUN, period=period))["startBillRun"]
    assert queued == {"__typename": "BillRunQueued", "period": period}
    settings = load_settings(exports_dir=tmp_path, data_dir=tmp_path / "data")
    broker = workers.build(None, database_url, limits=FAST, settings=settings)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while (runs := (await isp(RUNS))["billRuns"]) != [
            {"period": period, "status": "finished", "invoices": 1, "skipped": 0}
        ]:
            assert time.monotonic() < deadline, f"the bill run did not finish: {runs}"
            await asyncio.sleep(0.2)
    finally:
        worker.stop(timeout=10_000)
        broker.close()


def _receivable(customer: dict[str, Any]) -> int:
    return int({account["code"]: account["balance"] for account in customer["accounts"]}["1100"])


async def test_plan_customer_radius_usage_month_end_and_payment_through_the_api(
    engine: AsyncEngine, database_url: str, tmp_path: Path, assert_ledger_sound: Any
) -> None:
    now = datetime.now(UTC)
    last_month, this_month = _month_before(now)
    period, current = last_month.strftime("%Y-%m"), this_month.strftime("%Y-%m")
    slug, address = f"e2e_{uuid.uuid4().hex[:8]}", f"127.0.1.{next(_hosts)}"
    box = SecretBox(SecretBox.generate_key())
    operator = await apikeys.create_api_key(engine, name="e2e operator", scope="operator", actor="test")
    transport = httpx.ASGITransport(app=create_app(engine, box=box))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as client:
        isp = await _open_isp(client, operator.token, slug)
        number, login = await _sell_metered_dial_up(isp, slug, address, last_month)

        # 3. Paying ahead: a post-paid payment with nothing to settle stays on account, a
        # credit on the receivable (1100); the main balance (1000) is for prepaid funds.
        before = (await isp(BALANCES, ref=number))["customer"]
        assert (before["balance"], _receivable(before), before["lastInvoice"]) == ({"micros": 0}, 0, None)
        ahead = {"customer": number, "amountMicros": AHEAD, "method": "cash", "idempotencyKey": f"{slug}-ahead"}
        paid = (await isp(PAY, input=ahead))["recordPayment"]
        assert paid | {"id": None} == {
            "__typename": "Payment",
            "id": None,
            "kind": "payment",
            "replayed": False,
            "amount": {"micros": AHEAD},
            "unallocated": {"micros": AHEAD},
            "allocations": [],
        }
        after = (await isp(BALANCES, ref=number))["customer"]
        assert (after["balance"], _receivable(after)) == ({"micros": 0}, -AHEAD)

        # 4. RADIUS over UDP on loopback, the server started once the NAS is registered. The
        # NAS dates each event (Event-Timestamp, RFC 2869 5.3) and accounting honours it:
        # the session ran on the 11th of last month, so its usage belongs to that month.
        server = RadiusServer(engine, box, b"k" * 32, auth_port=0, acct_port=0)
        await server.start()
        try:
            await _dial_in(isp, server, address, login, began=last_month + timedelta(days=10, hours=8))
        finally:
            await server.stop()
        used = (await isp(USAGE_OF, customer=number, period=period))["usage"]
        assert used == {
            "__typename": "Usage",
            "period": period,
            "seconds": SESSION_SECONDS,
            "octetsIn": OCTETS_IN,
            "octetsOut": OCTETS_OUT,
            "records": 2,  # the Interim-Update's counters, then the Stop's increase
            "services": [{"login": login, "seconds": SESSION_SECONDS, "records": 2}],
        }
        this = (await isp(USAGE_OF, customer=number, period=current))["usage"]
        assert (this["seconds"], this["records"]) == (0, 0), "dated by Event-Timestamp, not by arrival"

        # 5. Month-end.
        await _bill_with_a_worker(isp, period, database_url, tmp_path)
        (invoice,) = (await isp(INVOICES, customer=number))["invoices"]["nodes"]
        assert invoice == {
            "number": "INV-000001",
            "customer": number,
            "periodStart": last_month.date().isoformat(),
            "periodEnd": this_month.date().isoformat(),
            "net": {"micros": TOTAL},
            "tax": {"micros": 0},
            "total": {"micros": TOTAL},
            "open": {"micros": REST},  # the payment made ahead was applied as the invoice was issued
            "balanceDue": {"micros": REST},
            "status": "open",
            "lines": [
                {
                    "description": f"Metered monthly charge ({login})",
                    "quantity": "1",
                    "unit": "month",
                    "net": {"micros": MONTHLY},
                },
                {
                    "description": f"Metered: Time online, 89.833 minute used ({login})",
                    "quantity": "89.833",
                    "unit": "minute",
                    "net": {"micros": USAGE},
                },
            ],
        }
        replay = (await isp(PAY, input=ahead))["recordPayment"]
        assert (replay["replayed"], replay["id"], replay["unallocated"]) == (True, paid["id"], {"micros": 0})
        # The lines are also in its journal entry (revenue by kind: 4010 recurring, 4000
        # usage; owed on 1100, used on 9000 against 9900)...
        (entry,) = (await isp(ENTRIES, customer=number, prefix=f"invoice:{period}:"))["journalEntries"]["nodes"]
        postings = {(p["side"], p["account"], p["owner"]): p["amount"] for p in entry["postings"]}
        assert postings == {
            ("credit", "4010", "isp"): MONTHLY,
            ("credit", "4000", "isp"): USAGE,
            ("debit", "1100", "carla"): TOTAL,
            ("debit", "9000", "carla"): TOTAL,
            ("credit", "9900", "isp"): TOTAL,
        }, entry
        # ... and on the PDF behind the invoice's link.
        link = (await isp(PDF_LINK, number="INV-000001"))["invoicePdfLink"]
        pdf = await client.get(link["url"])
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "Metered monthly charge" in text and "Time online, 89.833 minute used" in text, text

        # 6. Paying the rest, sent twice with one idempotency key.
        rest = {"customer": number, "amountMicros": REST, "method": "bank_transfer", "idempotencyKey": f"{slug}-inv"}
        first = (await isp(PAY, input=rest | {"invoices": ["INV-000001"]}))["recordPayment"]
        second = (await isp(PAY, input=rest | {"invoices": ["INV-000001"]}))["recordPayment"]
        assert (first["replayed"], second["replayed"], second["id"]) == (False, True, first["id"])
        assert first["allocations"] == [{"invoice": "INV-000001", "amount": {"micros": REST}}]
        assert first["unallocated"] == second["unallocated"] == {"micros": 0}
        settled = (await isp(INVOICE, number="INV-000001"))["invoice"]
        assert settled == {
            "__typename": "Invoice",
            "number": "INV-000001",
            "total": {"micros": TOTAL},
            "open": {"micros": 0},
            "status": "paid",
        }
        assert (await isp(INVOICES, customer=number, status="open"))["invoices"]["nodes"] == []
        final = (await isp(BALANCES, ref=number))["customer"]
        assert (_receivable(final), final["lastInvoice"]) == (0, {"number": "INV-000001", "status": "paid"})
        window = {"from": last_month.isoformat(), "to": (now + timedelta(days=1)).isoformat()}
        statement = (await isp(STATEMENT, customer=number, **window))["statement"]
        assert (statement["opening"], statement["closing"]) == ({"micros": 0}, {"micros": 0}), statement
        assert [line["amount"]["micros"] for line in statement["lines"]] == [-AHEAD, TOTAL, -REST]

    # 7. Sound books.
    await assert_ledger_sound(await lifecycle.get_tenant(engine, slug))
