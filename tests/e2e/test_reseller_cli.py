"""`bureau reseller …`: resellers, their realms and plans over a real database, as a subprocess."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.catalog import plans
from bureau.platform.subscribers import resellers
from bureau.platform.subscribers.errors import NotFound
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit

from .conftest import Cli, ok, refused, run_all

# Realms are unique in the whole installation (the shared registry): one set per run.
TAG = uuid.uuid4().hex[:8]
NORTH_REALM = f"north-{TAG}.example"
EAST_REALM = f"east-{TAG}.example"
EAST2_REALM = f"east2-{TAG}.example"
ACME_REALM = f"acme-{TAG}.example"
LOST_REALM = f"lost-{TAG}.example"


@pytest.fixture(scope="module")
async def isp(engine: AsyncEngine) -> lifecycle.Tenant:
    """One tenant for the module, with the plans dsl-10 and gold and reseller eastnet."""
    tenant = await lifecycle.create_tenant(
        engine, f"res_{uuid.uuid4().hex[:8]}", name="Reseller ISP", currency="EUR", actor="test"
    )
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await plans.create_category(conn, "dsl", "DSL")
        await plans.create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
        await plans.create_plan(conn, "gold", "Gold", category="dsl", billing="postpaid")
        await resellers.create_reseller(conn, code="eastnet", name="EastNet", realms=[EAST_REALM])
    return tenant


async def test_a_reseller_is_created_with_branding_exact_commission_and_realm(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant
) -> None:
    made, bad_colour = run_all(
        cli,
        (
            "reseller", "create", "northnet", "--name", "NorthNet VISP", "--commission", "12.5",
            "--realm", NORTH_REALM.upper(), "--brand-name", "NorthNet", "--logo-url", "https://northnet.example/logo.png",
            "--primary-colour", "#0A7CFF", "--support-email", "help@northnet.example", "--support-phone", "+1 555 0100",
            "--json",
        ),
        ("reseller", "create", "westnet", "--name", "WestNet", "--primary-colour", "blue"),
    )  # fmt: skip
    info = json.loads(ok(made).stdout)
    assert info == {
        "id": info["id"],
        "entity_id": info["entity_id"],
        "code": "northnet",
        "name": "NorthNet VISP",
        "parent": None,
        "commission_bp": 1250,
        "branding": {
            "name": "NorthNet",
            "logo_url": "https://northnet.example/logo.png",
            "primary_colour": "#0a7cff",
            "secondary_colour": None,
            "support_email": "help@northnet.example",
            "support_phone": "+1 555 0100",
        },
        "realms": [NORTH_REALM],
        "allowed_plans": [],
    }
    assert refused(bad_colour) == "error: primary colour 'blue' must be a hex colour such as '#0a7cff'"

    async with tenant_unit(engine, isp.ref) as conn:
        stored = await resellers.get_reseller(conn, "northnet")
        realm = await resellers.get_realm(conn, NORTH_REALM)
        with pytest.raises(NotFound):
            await resellers.get_reseller(conn, "westnet")
    assert stored.commission_bp == 1250 and realm.reseller_id == stored.id


async def test_a_sub_reseller_may_sell_only_what_its_parent_sells(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant
) -> None:
    allowed, sub = run_all(
        cli,
        ("reseller", "allow", "eastnet", "dsl-10"),
        ("reseller", "create", "east-sub", "--name", "East Sub", "--parent", "eastnet"),
    )
    assert "reseller eastnet may now sell plan dsl-10" in ok(allowed).stdout
    ok(sub)

    not_sold, sub_allowed = run_all(
        cli, ("reseller", "allow", "east-sub", "gold"), ("reseller", "allow", "east-sub", "dsl-10")
    )
    assert refused(not_sold) == "error: plan 'gold' is not sold by reseller 'eastnet'; allowed: dsl-10"
    ok(sub_allowed)

    listed, shown = run_all(cli, ("reseller", "list", "--json"), ("reseller", "show", "east-sub"))
    by_code = {r["code"]: r for r in json.loads(ok(listed).stdout)}
    assert {"east-sub", "eastnet"} <= set(by_code) and list(by_code) == sorted(by_code)
    assert (by_code["east-sub"]["parent"], by_code["east-sub"]["allowed_plans"]) == ("eastnet", ["dsl-10"])
    text = ok(shown).stdout
    assert "East Sub (east-sub" in text and "parent: eastnet" in text and "plans: dsl-10" in text

    assert "reseller eastnet no longer sells plan dsl-10" in ok(cli("reseller", "disallow", "eastnet", "dsl-10")).stdout
    async with tenant_unit(engine, isp.ref) as conn:
        assert await resellers.allowed_plans(conn, "east-sub") == ()


async def test_a_realm_is_registered_for_a_reseller_or_the_isp_and_must_say_whose(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant
) -> None:
    own, theirs, neither, taken = run_all(
        cli,
        ("reseller", "add-realm", ACME_REALM, "--isp"),
        ("reseller", "add-realm", EAST2_REALM, "--reseller", "eastnet", "--strip-realm"),
        ("reseller", "add-realm", LOST_REALM),
        ("reseller", "add-realm", EAST_REALM, "--isp"),
    )
    assert f"realm {ACME_REALM} registered for the ISP" in ok(own).stdout
    assert f"realm {EAST2_REALM} registered for reseller eastnet" in ok(theirs).stdout
    assert "--reseller CODE, or --isp" in refused(neither)
    assert f"realm '{EAST_REALM}' is already registered" in refused(taken)

    async with tenant_unit(engine, isp.ref) as conn:
        assert (await resellers.get_realm(conn, ACME_REALM)).reseller_id is None
        east2 = await resellers.get_realm(conn, EAST2_REALM)
    assert east2.strip_realm and east2.reseller_id is not None
