"""The demo ISP of DESIGN.md §6 is made whole, and making it again changes nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.demo import seed_demo
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.ledger import entities
from bureau.platform.subscribers import resellers, services
from bureau.tenants import lifecycle, routing


async def test_the_demo_is_seeded_once_with_plans_reseller_rules_and_logins(
    engine: AsyncEngine, assert_ledger_sound
) -> None:
    box = SecretBox(SecretBox.generate_key())
    first = await seed_demo(engine, box)
    assert "tenant demo (Demo ISP, USD)" in first.created
    assert "reseller northnet may sell dsl-10" in first.created
    again = await seed_demo(engine, box)
    assert again.created == []

    tenant = await lifecycle.get_tenant(engine, "demo")
    async with routing.tenant_unit(engine, tenant.ref) as conn:
        alice = await services.find_service(conn, "radius_login", "alice@DEMO.example")
        bob = await services.find_service(conn, "radius_login", "bob@northnet.example")
        allowed = [plan.code for plan in await resellers.allowed_plans(conn, "northnet")]
        alice_main = await entities.query_account(
            conn, (await entities.find_entity(conn, "alice@demo.example")).id, "1000"
        )
        bob_entity = await entities.find_entity(conn, "bob@northnet.example")
    assert (alice.plan, alice.state) == ("prepaid-hourly", services.ServiceState.ACTIVE)
    assert (bob.plan, bob.state) == ("dsl-10", services.ServiceState.ACTIVE)
    assert allowed == ["dsl-10"]
    assert alice_main.balance == 10_000_000
    assert bob_entity.prepaid is False and bob_entity.reseller_id is not None
    await assert_ledger_sound(tenant)


async def test_the_demo_bill_run_gives_bob_a_sensible_first_invoice(engine: AsyncEngine, assert_ledger_sound) -> None:
    from datetime import UTC, date, datetime

    from bureau.platform.billing.invoices import invoice_document, list_invoices
    from bureau.platform.billing.period import last_closed
    from bureau.platform.billing.run import bill_run

    box = SecretBox(SecretBox.generate_key())
    await seed_demo(engine, box)
    tenant = await lifecycle.get_tenant(engine, "demo")
    month = last_closed(datetime.now(UTC))
    report = await bill_run(lambda: routing.tenant_unit(engine, tenant.ref), month)
    again = await bill_run(lambda: routing.tenant_unit(engine, tenant.ref), month)
    assert (report.invoices, report.skipped, again.invoices) == (1, [], 0)
    async with routing.tenant_unit(engine, tenant.ref) as conn:
        (invoice,) = await list_invoices(conn, period_start=month.start)
        doc = await invoice_document(conn, invoice.number)
    days = month.days - 9  # active from the 10th
    month_net = (29_990_000 * days + month.days // 2) // month.days // 10_000 * 10_000  # near enough to compare
    assert doc.seller.name == "NorthNet VISP"
    assert [line.description.rsplit(" (", 1)[0] for line in doc.lines] == [
        "DSL 10 sign-up fee",
        "DSL 10 monthly charge",
        "DSL 10: Data (upload and download), 12.5 GB used, 10 GB included",
    ]
    assert abs(doc.lines[1].net_micros - month_net) <= 10_000
    assert doc.lines[2].net_micros == 25_000_000
    assert doc.payments_received_micros == 20_000_000
    assert doc.balance_due_micros == doc.totals.gross_micros - 20_000_000
    assert doc.issue_date == month.end and doc.period_start == date(month.start.year, month.start.month, 1)
    assert invoice.paid_micros == 20_000_000  # the payment on account was applied to the new invoice
    await assert_ledger_sound(tenant)
