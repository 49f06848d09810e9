"""A tenant with plans for the subscriber tests, and the box that seals passwords."""

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
