"""The isolation matrix: every query and mutation of the schema, run by tenant B's admin
key against tenant A's objects, and by reseller north's key (in A) against reseller
south's and the ISP's own objects.

Each case expects one of:
- HIDDEN: answered as for an object that does not exist (NotFound, or no data);
- DENIED: refused by permission for this kind of key (so nothing can be reached);
- OWN: the operation acts only in the caller's own scope (its own tenant's catalogue,
  its own keys, its own report), so it may succeed there;
- LISTED: a list or report of the caller's own scope, which may hold the caller's own;
and in every case the answer carries none of the victim's marker strings (names, logins,
codes, the tenant's slug) and, unless the caller works in its own tenant (OWN by north),
nothing of tenant A changes. A test checks that every root field has a case, so a new
query or mutation cannot be added without deciding how it is isolated."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.graphql.schema import build_schema
from bureau.platform.billing.payments import record_payment
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.refunds import refund_payment
from bureau.platform.billing.run import bill_run
from bureau.platform.catalog import plans, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.nas.registry import add_nas
from bureau.platform.provisioning.targets import add_target
from bureau.platform.rating.tariff import HOUR, UsageRate
from bureau.platform.rating.usage import Meter
from bureau.platform.sessions.authorize import authorize
from bureau.platform.subscribers import resellers
from bureau.platform.subscribers.services import services_of
from bureau.platform.vouchers.batches import create_batch
from bureau.tenants import apikeys
from bureau.tenants.routing import schema_name
from tests.integration.platform.billing.conftest import PRICES_FROM, Books, at, make_books

SINCE = "2026-09-01T00:00:00"
TABLES = (
    "customers", "services", "invoices", "payments", "payment_allocations", "credit_notes", "refunds",
    "journal_entries", "audit_log", "resellers", "realms", "outbox", "voucher_batches", "vouchers",
    "export_targets", "radius_sessions", "dunning_steps", "bill_runs",
)  # fmt: skip
HIDDEN, DENIED, OWN, LISTED = "hidden", "denied", "own", "listed"
DAY = {"from": "2026-09-01", "to": "2026-10-01"}
INSTANT = {"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


@dataclass
class Victim:
    """What a caller must not reach."""

    customer: str  # a customer number
    service: str
    invoice: str
    reseller: str
    payment: str
    batch: str
    session: str
    nas: str
    realm: str
    target: str
    key: str  # an API key id
    slug: str
    markers: tuple[str, ...]  # strings only the victim's objects hold


Case = tuple[str, Callable[[Victim], dict[str, Any]], str, str]  # query, variables, for b-admin, for north


def v(**names: str) -> Callable[[Victim], dict[str, Any]]:
    """Variables taken from the victim: v(id="service") gives {"id": victim.service}."""
    return lambda victim: {var: getattr(victim, attr) for var, attr in names.items()}


def fixed(**values: Any) -> Callable[[Victim], dict[str, Any]]:
    return lambda victim: values


CASES: dict[str, Case] = {
    # ---- queries
    "tenants": ("{ r: tenants { slug } }", fixed(), DENIED, DENIED),
    "tenant": ("query($s: String!) { r: tenant(slug: $s) { __typename } }", v(s="slug"), DENIED, DENIED),
    "health": ("{ r: health { __typename } }", fixed(), DENIED, DENIED),
    "me": ("{ r: me { __typename } }", fixed(), OWN, OWN),
    "customers": ("{ r: customers(first: 100) { edges { node { number name email } } } }", fixed(), LISTED, LISTED),
    "customer": ("query($c: String!) { r: customer(ref: $c) { __typename } }", v(c="customer"), HIDDEN, HIDDEN),
    "invoices": ("query($c: String!) { r: invoices(customer: $c) { edges { node { number } } } }",
                 v(c="customer"), HIDDEN, HIDDEN),
    "invoice": ("query($n: String!) { r: invoice(number: $n) { __typename } }", v(n="invoice"), HIDDEN, HIDDEN),
    "refunds": ("{ r: refunds(first: 100) { edges { node { id reason"
                " payment { customer } } } } }", fixed(), LISTED, LISTED),
    "plans": ("{ r: plans(first: 100) { edges { node { code } } } }", fixed(), OWN, OWN),
    "plan": ('{ r: plan(code: "dsl-10") { __typename } }', fixed(), OWN, OWN),
    "categories": ("{ r: categories(first: 100) { edges { node { code } } } }", fixed(), OWN, OWN),
    "taxRates": ("{ r: taxRates(first: 100) { edges { node { name } } } }", fixed(), OWN, OWN),
    "subscriberClasses": ("{ r: subscriberClasses(first: 100) { edges { node { code } } } }", fixed(), OWN, OWN),
    "resellers": ("{ r: resellers(first: 100) { edges { node { code name } } } }", fixed(), LISTED, LISTED),
    "reseller": ("query($c: String!) { r: reseller(code: $c) { __typename } }", v(c="reseller"), HIDDEN, HIDDEN),
    "statement": ("query($c: String!, $from: DateTime!, $to: DateTime!) { r: statement(customer: $c, from: $from,"
                  ' to: $to, account: "1100") { __typename } }', lambda x: {"c": x.customer, **INSTANT},
                  HIDDEN, HIDDEN),
    "commissionStatement": ("query($from: DateTime!, $to: DateTime!) { r: commissionStatement(from: $from, to: $to)"
                            " { __typename } }", fixed(**INSTANT), DENIED, OWN),
    "sessions": ("{ r: sessions(first: 100) { edges { node { id login } } } }", fixed(), LISTED, LISTED),
    "apiKeys": ("{ r: apiKeys { keyId name } }", fixed(), LISTED, LISTED),
    "dunningSteps": ("{ r: dunningSteps { days } }", fixed(), OWN, OWN),
    "dunningCases": ("{ r: dunningCases(limit: 100) { customer } }", fixed(), LISTED, LISTED),
    "dunningEvents": ("query($c: String!) { r: dunningEvents(customer: $c, limit: 100) { __typename } }",
                      v(c="customer"), HIDDEN, DENIED),
    "voucherBatches": ("{ r: voucherBatches(first: 100) { edges { node { id name } } } }", fixed(), LISTED, LISTED),
    "voucherBatch": ("query($i: ID!) { r: voucherBatch(id: $i) { __typename } }", v(i="batch"), HIDDEN, HIDDEN),
    "journalEntries": ("query($c: String!) { r: journalEntries(first: 100, customer: $c) { edges { node { key } } } }",
                       v(c="customer"), HIDDEN, DENIED),
    "usage": ('query($c: String!) { r: usage(customer: $c, period: "2026-09") { __typename } }', v(c="customer"),
              HIDDEN, HIDDEN),
    "billRuns": ("{ r: billRuns(limit: 10) { period } }", fixed(), OWN, DENIED),
    "invoicePdfLink": ("query($n: String!) { r: invoicePdfLink(number: $n) { __typename } }", v(n="invoice"),
                       HIDDEN, HIDDEN),
    "nases": ("{ r: nases(first: 100) { edges { node { name address } } } }", fixed(), LISTED, DENIED),
    "realms": ("{ r: realms(first: 100) { edges { node { name reseller } } } }", fixed(), LISTED, LISTED),
    "provisioningTargets": ("{ r: provisioningTargets { name } }", fixed(), LISTED, DENIED),
    "provisioningTarget": ("query($n: String!) { r: provisioningTarget(name: $n) { __typename } }", v(n="target"),
                           HIDDEN, DENIED),
    "provisioningJobs": ("{ r: provisioningJobs(first: 100) { edges { node { id } } } }", fixed(), OWN, DENIED),
    "reconciliations": ("{ r: reconciliations(first: 100) { edges { node { id } } } }", fixed(), OWN, DENIED),
    "revenueReport": ("query($from: Date!, $to: Date!) { r: revenueReport(from: $from, to: $to, groupBy: RESELLER)"
                      " { __typename ... on RevenueReport { currencies { rows { key label } } } } }", fixed(**DAY),
                      OWN, LISTED),
    "receivablesAging": ('{ r: receivablesAging(asOf: "2026-12-01", top: 50) { __typename ... on ReceivablesAging'
                         " { currencies { topDebtors { customer name } } } } }", fixed(), LISTED, LISTED),
    "activeSessionsReport": ("{ r: activeSessionsReport { total } }", fixed(), OWN, OWN),
    "arpu": ("query($from: Date!, $to: Date!) { r: arpu(from: $from, to: $to) { __typename } }", fixed(**DAY),
             OWN, OWN),
    # ---- mutations
    "createTenant": ('mutation { r: createTenant(input: {slug: "intruder", name: "I"}) { __typename } }', fixed(),
                     DENIED, DENIED),
    "suspendTenant": ("mutation($s: String!) { r: suspendTenant(slug: $s) { __typename } }", v(s="slug"),
                      DENIED, DENIED),
    "resumeTenant": ("mutation($s: String!) { r: resumeTenant(slug: $s) { __typename } }", v(s="slug"),
                     DENIED, DENIED),
    "createCustomer": ('mutation($r: String!) { r: createCustomer(input: {code: "intruder", name: "I", email:'
                       ' "i@mail.example", address: {country: "US"}, reseller: $r}) { __typename } }',
                       v(r="reseller"), HIDDEN, HIDDEN),
    "addService": ('mutation($c: String!) { r: addService(input: {customer: $c, kind: "mailbox", login: "intruder",'
                   ' plan: "box-monthly"}) { __typename } }', v(c="customer"), HIDDEN, HIDDEN),
    "changeServiceState": ('mutation($i: ID!) { r: changeServiceState(id: $i, state: "cancelled") { __typename } }',
                           v(i="service"), HIDDEN, HIDDEN),
    "changePlan": ('mutation($i: ID!) { r: changePlan(id: $i, plan: "dial-hourly") { __typename } }',
                   v(i="service"), HIDDEN, HIDDEN),
    "resetPassword": ('mutation($i: ID!) { r: resetPassword(id: $i, password: "taken-over-1") { __typename } }',
                      v(i="service"), HIDDEN, HIDDEN),
    "recordPayment": ("mutation($c: String!) { r: recordPayment(input: {customer: $c, amountMicros: 1000000,"
                      ' method: "cash", idempotencyKey: "intrusion"}) { __typename } }', v(c="customer"),
                      HIDDEN, HIDDEN),
    "createCategory": ('mutation { r: createCategory(input: {code: "mine", name: "Mine"}) { __typename } }',
                       fixed(), OWN, DENIED),
    "createPlan": ('mutation { r: createPlan(input: {code: "mine", name: "Mine", category: "all", billing:'
                   ' "postpaid"}) { __typename } }', fixed(), OWN, DENIED),
    "addPlanVersion": ('mutation { r: addPlanVersion(input: {plan: "dsl-10", effectiveFrom: "2027-01-01T00:00:00Z",'
                       " components: []}) { __typename } }", fixed(), OWN, DENIED),
    "createTaxRate": ('mutation { r: createTaxRate(input: {name: "Mine", country: "US", rateBp: 100, inclusive:'
                      ' false, effectiveFrom: "2027-01-01T00:00:00Z"}) { __typename } }', fixed(), OWN, DENIED),
    "createSubscriberClass": ('mutation { r: createSubscriberClass(input: {code: "mine", name: "Mine"})'
                              " { __typename } }", fixed(), OWN, DENIED),
    "createReseller": ('mutation($r: String!) { r: createReseller(input: {code: "sub", name: "Sub", parent: $r})'
                       " { __typename } }", v(r="reseller"), HIDDEN, DENIED),
    "allowPlan": ('mutation($r: String!) { r: allowPlan(reseller: $r, plan: "dial-hourly") { __typename } }',
                  v(r="reseller"), HIDDEN, DENIED),
    "disallowPlan": ('mutation($r: String!) { r: disallowPlan(reseller: $r, plan: "dsl-10") { __typename } }',
                     v(r="reseller"), HIDDEN, DENIED),
    "disconnectSession": ("mutation($i: ID!) { r: disconnectSession(id: $i) { __typename } }", v(i="session"),
                          HIDDEN, HIDDEN),
    "createApiKey": ('mutation($s: String!, $r: String!) { r: createApiKey(input: {name: "intruder", scope:'
                     ' "reseller", tenant: $s, reseller: $r}) { __typename } }', v(s="slug", r="reseller"),
                     HIDDEN, DENIED),
    "revokeApiKey": ("mutation($k: String!) { r: revokeApiKey(keyId: $k) { __typename } }", v(k="key"),
                     HIDDEN, DENIED),
    "setDunningSteps": ('mutation { r: setDunningSteps(steps: [{days: 1, action: "suspend"}]) { __typename } }',
                        fixed(), OWN, DENIED),
    "createVoucherBatch": ('mutation($r: String!) { r: createVoucherBatch(input: {name: "intruder", valueMicros:'
                           ' 1000000, count: 1, expiresAt: "2030-01-01T00:00:00Z", reseller: $r}) { __typename } }',
                           v(r="reseller"), HIDDEN, DENIED),
    "sellVoucherBatch": ("mutation($i: ID!) { r: sellVoucherBatch(id: $i) { __typename } }", v(i="batch"),
                         HIDDEN, DENIED),
    "voidVoucherBatch": ("mutation($i: ID!) { r: voidVoucherBatch(id: $i) { __typename } }", v(i="batch"),
                         HIDDEN, DENIED),
    "redeemVoucher": ('mutation($c: String!) { r: redeemVoucher(input: {customer: $c, code: "AAAA-BBBB-CCCC-DDDD"})'
                      " { __typename } }", v(c="customer"), HIDDEN, HIDDEN),
    "recordAdjustment": ("mutation($c: String!) { r: recordAdjustment(input: {customer: $c, amountMicros: 1000000,"
                         ' reason: "intrusion", idempotencyKey: "intrusion"}) { __typename } }', v(c="customer"),
                         HIDDEN, HIDDEN),
    "startBillRun": ('mutation { r: startBillRun(period: "2026-10") { __typename } }', fixed(), OWN, DENIED),
    "issueCreditNote": ("mutation($n: String!) { r: issueCreditNote(input: {invoice: $n, line: 1, amountMicros:"
                        ' 1000000, reason: "intrusion"}) { __typename } }', v(n="invoice"), HIDDEN, HIDDEN),
    "voidInvoice": ('mutation($n: String!) { r: voidInvoice(number: $n, reason: "intrusion") { __typename } }',
                    v(n="invoice"), HIDDEN, DENIED),
    "allocatePayment": ("mutation($p: ID!, $n: String!) { r: allocatePayment(input: {payment: $p, invoice: $n,"
                        " amountMicros: 1000000}) { __typename } }", v(p="payment", n="invoice"), HIDDEN, HIDDEN),
    "refundPayment": ("mutation($p: ID!) { r: refundPayment(input: {payment: $p, amountMicros: 1000000, reason:"
                      ' "intrusion", idempotencyKey: "intrusion"}) { __typename } }', v(p="payment"),
                      HIDDEN, HIDDEN),
    "addNas": ('mutation($a: String!) { r: addNas(input: {name: "intruder", address: $a, secret: "0123456789"})'
               " { __typename } }", v(a="nas"), OWN, DENIED),
    "removeNas": ('mutation { r: removeNas(name: "victim-nas") { __typename } }', fixed(), HIDDEN, DENIED),
    "addRealm": ("mutation($n: String!) { r: addRealm(input: {name: $n}) { __typename } }", v(n="realm"),
                 OWN, DENIED),
    "removeRealm": ("mutation($n: String!) { r: removeRealm(name: $n) { __typename } }", v(n="realm"),
                    HIDDEN, DENIED),
    "addProvisioningTarget": ('mutation { r: addProvisioningTarget(input: {name: "mine", format: "unix"})'
                              " { __typename } }", fixed(), OWN, DENIED),
    "enableProvisioningTarget": ("mutation($n: String!) { r: enableProvisioningTarget(name: $n) { __typename } }",
                                 v(n="target"), HIDDEN, DENIED),
    "disableProvisioningTarget": ("mutation($n: String!) { r: disableProvisioningTarget(name: $n) { __typename } }",
                                  v(n="target"), HIDDEN, DENIED),
    "removeProvisioningTarget": ("mutation($n: String!) { r: removeProvisioningTarget(name: $n) { __typename } }",
                                 v(n="target"), HIDDEN, DENIED),
    "startProvisioning": ("mutation($n: String!) { r: startProvisioning(target: $n) { __typename } }",
                          v(n="target"), HIDDEN, DENIED),
    "startReconciliation": ("mutation { r: startReconciliation { __typename } }", fixed(), OWN, DENIED),
}  # fmt: skip
# Subscriptions are isolated by the same scope and tested over a real WebSocket.
ELSEWHERE = {"balanceChanges": "test_subscriptions.py", "sessionChanges": "test_subscriptions.py"}


def test_every_root_field_has_a_case() -> None:
    schema = build_schema()._schema
    fields = {
        name
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root
        for name in root.fields
    }
    assert fields - CASES.keys() - ELSEWHERE.keys() == set(), "root fields without an isolation case"
    assert CASES.keys() - fields == set(), "cases for fields that no longer exist"


async def _snapshot(engine: AsyncEngine, slug: str, tenant_id: int) -> dict[str, Any]:
    """Row counts and a digest of every row of tenant A's tables, and its shared rows."""
    found: dict[str, Any] = {}
    schema = schema_name(slug)
    async with engine.connect() as conn:
        for table in TABLES:
            digest = "count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            query = f'SELECT {digest} FROM "{schema}".{table} t'
            found[table] = tuple((await conn.execute(text(query))).one())
        shared = {
            "api_keys": "t.key_id, t.name, t.role, t.reseller_id, t.revoked_at",
            "nas_clients": "t",
            "realms": "t",
        }
        for table, columns in shared.items():  # an API key's last use changes as it is used: not compared
            query = f"SELECT count(*), md5(coalesce(string_agg(({columns})::text, '|' ORDER BY t::text), '')) FROM bureau_shared.{table} t WHERE tenant_id = :t"  # noqa: E501
            found[f"shared.{table}"] = tuple((await conn.execute(text(query), {"t": tenant_id})).one())
    return found


@dataclass
class World:
    ask: Callable[[str, str, dict[str, Any]], Any]
    engine: AsyncEngine
    slug: str
    tenant_id: int


@pytest.fixture
async def world(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[tuple[World, Victim, Victim]]:
    a: Books = await make_books(engine, make_tenant, "isoa")
    b: Books = await make_books(engine, make_tenant, "isob")
    async with a.unit() as conn:
        await plans.create_plan(conn, "pre-hourly", "PRE-HOURLY", category="all", billing="prepaid")
        rate = PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000))
        await versions.add_plan_version(conn, "pre-hourly", effective_from=PRICES_FROM, components=(rate,))
        for code in ("north", "south"):
            await resellers.create_reseller(conn, code=code, name=f"Reseller{code}", realms=(f"{code}.{a.realm}",))
            await resellers.allow_plan(conn, code, "dsl-10")
            await resellers.allow_plan(conn, code, "pre-hourly")
    own = [await a.customer(name, "dsl-10", SINCE) for name in ("ownone", "owntwo", "ownthree")]
    south = await a.customer("southsam", "dsl-10", SINCE, reseller="south", realm=f"south.{a.realm}")
    await a.customer("northnick", "dsl-10", SINCE, reseller="north", realm=f"north.{a.realm}")
    prepaid = await a.customer(
        "southpia", "pre-hourly", SINCE, prepaid=True, reseller="south", realm=f"south.{a.realm}"
    )
    await b.customer("bea", "dsl-10", SINCE)
    for books in (a, b):
        await bill_run(books.unit, parse_period("2026-09"), now=at("2026-10-01T01:00:00"))
    async with a.unit() as conn:
        paid = {
            c.number: await record_payment(
                conn, customer=c.number, amount_micros=90_000_000, method="cash", idempotency_key=f"iso-{c.number}"
            )
            for c in (own[2], south, prepaid)
        }
        for number, payment in paid.items():  # something for the refunds list to hide
            await refund_payment(
                conn, payment_id=payment.id, amount_micros=1_000_000, reason=f"victimrefund {number}",
                idempotency_key=f"iso-refund-{number}",
            )  # fmt: skip
        batch, _ = await create_batch(
            conn, name="victimbatch", value_micros=5_000_000, count=2, expires_at=datetime.now(UTC) + timedelta(30),
            reseller_id=(await resellers.get_reseller(conn, "south")).entity_id,
        )  # fmt: skip
        await add_nas(conn, a.box, name="victim-nas", address="10.99.0.0/24", secret="victim-secret-1")
        await add_target(conn, "victimtarget", "unix", {"kinds": ["radius_login"]})
        (service,) = (await services_of(conn, [prepaid.id]))[prepaid.id]
        granted = await authorize(conn, service.id, 7, now=datetime.now(UTC) - timedelta(minutes=5))
        assert granted.accepted, granted
    sessions = await _ids(engine, a.tenant.slug, "radius_sessions")
    services = await _ids(engine, a.tenant.slug, "services")
    victim_key = await apikeys.create_api_key(engine, name="victimkey", scope="isp", tenant=a.tenant.slug, actor="t")
    keys = {
        "b-admin": await apikeys.create_api_key(engine, name="b", scope="isp", tenant=b.tenant.slug, actor="t"),
        "north": await apikeys.create_api_key(
            engine, name="n", scope="reseller", tenant=a.tenant.slug, reseller="north", actor="t"
        ),
    }
    a_markers = (a.tenant.slug, "Ownone", "Southsam", "Northnick", "Southpia", "victimbatch", "victim-nas",
                 "victimtarget", "victimkey", "Resellernorth", "Resellersouth", a.realm, "victimrefund")  # fmt: skip
    from_a = Victim(
        customer=own[2].number, service=str(max(services)), invoice="INV-000005", reseller="south",
        payment=str(paid[own[2].number].id), batch=str(batch.id), session=str(sessions[0]), nas="10.99.0.7",
        realm=f"south.{a.realm}", target="victimtarget", key=victim_key.key.key_id, slug=a.tenant.slug,
        markers=a_markers,
    )  # fmt: skip
    # north must not reach south's objects nor the ISP's own (its first customers).
    from_south = Victim(
        customer=south.number, service=str(services[0]), invoice="INV-000001", reseller="south",
        payment=str(paid[south.number].id), batch=str(batch.id), session=str(sessions[0]), nas="10.99.0.7",
        realm=f"south.{a.realm}", target="victimtarget", key=victim_key.key.key_id, slug=a.tenant.slug,
        markers=("Ownone", "Owntwo", "Southsam", "Southpia", "victimbatch", "victim-nas", "victimtarget", "victimkey",
                 "Resellersouth", f"south.{a.realm}", "victimrefund"),
    )  # fmt: skip
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine, box=a.box)), base_url="http://bureau.test"
    ) as client:

        async def ask(key: str, query: str, variables: dict[str, Any]) -> Any:
            headers = {"Authorization": f"Bearer {keys[key].token}"}
            answer = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
            assert answer.status_code == 200, answer.text
            return answer.json()

        yield World(ask, engine, a.tenant.slug, a.tenant.id), from_a, from_south


async def _ids(engine: AsyncEngine, slug: str, table: str) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f'SELECT id FROM "{schema_name(slug)}".{table} ORDER BY id'))
        return [row.id for row in rows]


def _outcome(answer: dict[str, Any]) -> str:
    """What the answer amounts to: denied (a permission refusal), hidden (NotFound or
    nothing), or answered (data of some kind)."""
    errors = answer.get("errors") or []
    data = (answer.get("data") or {}).get("r")
    if errors and data is None:
        return DENIED if any("this needs" in e["message"] or "operator key" in e["message"] for e in errors) else HIDDEN
    if isinstance(data, dict) and data.get("__typename") == "NotFound":
        return HIDDEN
    if data is None or data == [] or (isinstance(data, dict) and data.get("edges") == []):
        return HIDDEN
    return "answered"


async def test_no_caller_reaches_another_tenant_s_or_reseller_s_objects(world: tuple[World, Victim, Victim]) -> None:
    w, from_a, from_south = world
    failures = []
    for caller, victim, column in (("b-admin", from_a, 2), ("north", from_south, 3)):
        for field, case in CASES.items():
            query, variables, expected = case[0], case[1], case[column]
            before = await _snapshot(w.engine, w.slug, w.tenant_id)
            answer = await w.ask(caller, query, variables(victim))
            found = _outcome(answer)
            said = json.dumps(answer)
            leaked = [m for m in victim.markers if m in said]
            if leaked:
                failures.append(f"{field} by {caller} shows {leaked}: {said[:300]}")
            if expected in (HIDDEN, DENIED) and found != expected:
                failures.append(f"{field} by {caller}: expected {expected}, got {found}: {said[:300]}")
            if (caller == "b-admin" or expected != OWN) and await _snapshot(w.engine, w.slug, w.tenant_id) != before:
                failures.append(f"{field} by {caller} changed tenant A")
    assert not failures, "\n".join(failures)
