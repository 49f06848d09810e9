"""A tenant with plans and realms of its own for the subscriber tests, and the box that seals passwords."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bureau.platform.catalog.plans import create_category, create_plan
from bureau.platform.crypto.secretbox import SecretBox
from bureau.tenants.routing import tenant_unit

PLANS = ("dsl-10", "gold-10", "prepaid-hourly")


@dataclass
class Shop:
    tenant: Any
    engine: Any
    box: SecretBox

    @property
    def demo(self) -> str:
        """The ISP's realm: unique to this tenant, as the installation-wide realm registry
        gives every realm to one tenant only ("demo-1a2b3c4d.example")."""
        return self.realm("demo")

    @property
    def northnet(self) -> str:
        """Reseller NorthNet's realm, unique to this tenant too."""
        return self.realm("northnet")

    def realm(self, name: str) -> str:
        return f"{name}-{self.tenant.slug.rpartition('_')[2]}.example"

    def unit(self) -> Any:
        return tenant_unit(self.engine, self.tenant.ref, actor="test")


@pytest.fixture
async def shop(engine, make_tenant) -> Shop:
    tenant = await make_tenant("sub")
    found = Shop(tenant, engine, SecretBox(SecretBox.generate_key(), key_id=1))
    async with found.unit() as conn:
        await create_category(conn, "dsl", "DSL")
        for code in PLANS:
            await create_plan(conn, code, code.upper(), category="dsl", billing="postpaid")
    return found
