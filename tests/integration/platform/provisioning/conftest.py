"""A tenant with a realm, customers and services in every state, for the provisioning tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bureau.platform.catalog.plans import create_category, create_plan
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.subscribers.customers import Address, create_customer
from bureau.platform.subscribers.resellers import add_realm
from bureau.platform.subscribers.services import add_service, change_service_state
from bureau.tenants.routing import tenant_unit

PASSWORD = "Tr0ub4dor&3"


@dataclass
class Isp:
    tenant: Any
    engine: Any
    box: SecretBox
    realm: str
    ids: dict[str, int]  # service ids by login

    def unit(self) -> Any:
        return tenant_unit(self.engine, self.tenant.ref, actor="test")


@pytest.fixture
async def isp(engine, make_tenant) -> Isp:
    """alice (active) and dave (suspended) RADIUS logins, erin's cancelled one, frank's
    pending one, alice's mailbox and domain."""
    tenant = await make_tenant("prov")
    realm = f"isp-{tenant.slug.rpartition('_')[2]}.example"
    found = Isp(tenant, engine, SecretBox(SecretBox.generate_key(), key_id=1), realm, {})
    async with found.unit() as conn:
        await create_category(conn, "dsl", "DSL")
        await create_plan(conn, "dsl-10", "DSL 10", category="dsl", billing="postpaid")
        await add_realm(conn, realm)
        for code, name in (("alice", "Alice Smith"), ("dave", "Dave: Jones"), ("erin", "Erin"), ("frank", "Frank")):
            await create_customer(conn, code=code, name=name, email=f"{code}@example.com", address=Address("US"))
        for code, state in (("alice", "active"), ("dave", "suspended"), ("erin", "cancelled"), ("frank", "pending")):
            login = f"{code}@{realm}"
            service = await add_service(
                conn, found.box, customer=code, kind="radius_login", login=login, plan="dsl-10", password=PASSWORD
            )
            found.ids[login] = service.id
            if state in ("active", "suspended"):
                await change_service_state(conn, service.id, "active")
            if state != "active" and state != "pending":
                await change_service_state(conn, service.id, state)
        for kind, login in (("mailbox", f"alice@{realm}"), ("domain", f"alice-shop-{tenant.id}.example")):
            service = await add_service(conn, found.box, customer="alice", kind=kind, login=login, plan="dsl-10")
            found.ids[f"{kind}:{login}"] = service.id
            await change_service_state(conn, service.id, "active")
    return found
