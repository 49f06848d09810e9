"""`bureau up --demo`: the documented demo ISP of DESIGN.md §6, made idempotently.

What exists so far: tenant `demo` (USD), reseller `northnet`, and the subscribers
alice (prepaid, 10.00), carol (prepaid, 5.00) and bob (post-paid, sold by northnet),
with opening balances posted as journal entries. Running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.ledger import entities
from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.errors import EntityNotFound
from bureau.platform.ledger.posting import post_entry
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.money import parse_decimal_micros
from bureau.tenants import lifecycle, routing

SLUG = "demo"
NAME = "Demo ISP"
CURRENCY = "USD"
RESELLER = ("northnet", "NorthNet VISP", "northnet.example")
SUBSCRIBERS = (
    # code, name, prepaid, opening balance, sold by
    ("alice@demo.example", "Alice", True, "10.00", None),
    ("carol@demo.example", "Carol", True, "5.00", None),
    ("bob@northnet.example", "Bob", False, "0", "northnet"),
)


@dataclass
class DemoReport:
    tenant: str = SLUG
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


async def seed_demo(engine: AsyncEngine) -> DemoReport:
    report = DemoReport()
    try:
        tenant = await lifecycle.get_tenant(engine, SLUG)
        report.existing.append(f"tenant {SLUG}")
    except lifecycle.TenantNotFound:
        tenant = await lifecycle.create_tenant(engine, SLUG, name=NAME, currency=CURRENCY, actor="demo")
        report.created.append(f"tenant {SLUG} ({NAME}, {CURRENCY})")
    async with routing.tenant_unit(engine, tenant.ref, actor="demo") as conn:
        code, name, realm = RESELLER
        reseller = await _entity(conn, report, code, kind=EntityKind.RESELLER, name=name, attributes={"realm": realm})
        isp = await entities.isp_entity(conn)
        opening = await entities.query_account(conn, isp.id, "3900")
        for code, name, prepaid, amount, sold_by in SUBSCRIBERS:
            subscriber = await _entity(
                conn,
                report,
                code,
                kind=EntityKind.SUBSCRIBER,
                name=name,
                prepaid=prepaid,
                reseller_id=reseller.id if sold_by else None,
                parent_id=reseller.id if sold_by else None,
            )
            micros = parse_decimal_micros(amount)
            if micros:
                main = await entities.query_account(conn, subscriber.id, "1000")
                posted = await post_entry(
                    conn,
                    NewEntry(
                        f"demo:opening:{code}",
                        f"Opening balance of {code}",
                        (debit(opening.id, micros, CURRENCY), credit(main.id, micros, CURRENCY)),
                    ),
                )
                if not posted.replayed:
                    report.created.append(f"opening balance {amount} {CURRENCY} for {code}")
    return report


async def _entity(
    conn: AsyncConnection, report: DemoReport, code: str, *, kind: EntityKind, name: str, **fields: object
) -> entities.Entity:
    try:
        found = await entities.find_entity(conn, code)
        report.existing.append(f"{kind.value} {code}")
        return found
    except EntityNotFound:
        made = await entities.create_entity(conn, kind=kind, code=code, name=name, currency=CURRENCY, **fields)  # type: ignore[arg-type]
        report.created.append(f"{kind.value} {code}")
        return made
