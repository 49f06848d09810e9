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
