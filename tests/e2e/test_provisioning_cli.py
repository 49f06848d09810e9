"""`bureau target …`, `bureau provision` and `bureau reconcile` over a real database, as a subprocess."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.catalog.plans import create_category, create_plan
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.subscribers import customers, resellers, services
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit

from .conftest import Cli, ok, refused


@pytest.fixture(scope="module")
async def isp(engine: AsyncEngine) -> lifecycle.Tenant:
    """One tenant with alice's active RADIUS login."""
    tenant = await lifecycle.create_tenant(
        engine, f"prv_{uuid.uuid4().hex[:8]}", name="Provisioned ISP", currency="USD", actor="test"
    )
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await create_category(conn, "dsl", "DSL")
        await create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
        await resellers.add_realm(conn, realm(tenant))
        await customers.create_customer(
            conn, code="alice", name="Alice", email="alice@example.com", address=customers.Address("US")
        )
        service = await services.add_service(
            conn, SecretBox(SecretBox.generate_key()), customer="alice", kind="radius_login",
            login=f"alice@{realm(tenant)}", plan="dsl-10", password="s3cret-Pass",
        )  # fmt: skip
        await services.change_service_state(conn, service.id, "active")
    return tenant


def realm(tenant: lifecycle.Tenant) -> str:
    return f"{tenant.slug.replace('_', '-')}.example"


def test_a_target_is_configured_exported_and_reconciled_from_the_command_line(
    cli: Cli, isp: lifecycle.Tenant, data_dir: Path
) -> None:
    assert "unknown export format 'ldif'; known: bind, bsd" in refused(cli("target", "add", "x", "--format", "ldif"))
    assert "--options: not JSON" in refused(cli("target", "add", "x", "--format", "unix", "--options", "{gid"))
    assert "must be a relative path" in refused(cli("target", "add", "x", "--format", "unix", "--folder", "../etc"))
    ok(cli("target", "add", "radius", "--format", "radius_users"))
    assert ok(cli("target", "list")).stdout.split()[:4] == ["radius", "radius_users", "radius/", "enabled"]

    users = data_dir / "exports" / isp.slug / "radius" / "users"
    dry = ok(cli("provision", "--dry-run")).stdout
    assert "would change" in dry and f'+"alice@{realm(isp)}"' in dry
    assert not users.exists(), "a dry run writes nothing"
    assert "radius: 1 accounts; users" in ok(cli("provision")).stdout
    assert f'"alice@{realm(isp)}"' in users.read_text()

    users.write_text(users.read_text() + '"mallory"\tCleartext-Password := "x"\n')
    found = cli("reconcile")
    assert found.returncode == 1, (found.stdout, found.stderr)
    assert "radius: 1 finding(s)" in found.stdout and "unbilled: mallory" in found.stdout
    assert "fixed" in ok(cli("reconcile", "--fix")).stdout
    assert "mallory" not in users.read_text()
    assert "radius: matches billing" in ok(cli("reconcile")).stdout
    stored = ok(cli("reconcile", "--last")).stdout
    assert "radius at " in stored and "0 missing, 0 unbilled, 0 differing" in stored
