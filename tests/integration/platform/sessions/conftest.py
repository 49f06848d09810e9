"""A tenant with the demo's plans and a few funded subscribers, for session control."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bureau.platform.catalog import plans, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.ledger.entities import find_entity, isp_entity, query_account
from bureau.platform.ledger.posting import post_entry
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.rating.tariff import GIGABYTE, HOUR, UsageRate
from bureau.platform.rating.usage import Meter
from bureau.platform.subscribers import customers, resellers, services
from bureau.tenants.routing import tenant_unit

NAS = 7
FROM = datetime(2026, 1, 1, tzinfo=UTC)
ADDRESS = customers.Address(country="US")
PLANS = {
    "hourly": ("prepaid", (PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000)),)),
    "data": ("prepaid", (PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000)),)),
    "dsl": (
        "postpaid",
        (PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10_000_000, allowance=GIGABYTE)),),
    ),
}


@dataclass
class Network:
    tenant: Any
    engine: Any
    box: SecretBox

    @property
    def realm(self) -> str:
        return f"net-{self.tenant.slug.rpartition('_')[2]}.example"

    def unit(self) -> Any:
        return tenant_unit(self.engine, self.tenant.ref, actor="test")

    async def subscriber(self, name: str, plan: str, balance: int = 0, *, logins: int = 1) -> list[int]:
        """A customer with `logins` active RADIUS logins on `plan` and `balance` micro-units."""
        code = f"{name}@{self.realm}"
        async with self.unit() as conn:
            await customers.create_customer(
                conn,
                code=code,
                name=name,
                email=f"{name}@mail.example",
                address=ADDRESS,
                prepaid=PLANS[plan][0] == "prepaid",
            )
            ids = []
            for number in range(logins):
                login = code if number == 0 else f"{name}{number}@{self.realm}"
                service = await services.add_service(
                    conn, self.box, customer=code, kind="radius_login", login=login, plan=plan, password="pw-123456"
                )
                await services.change_service_state(conn, service.id, "active")
                ids.append(service.id)
            if balance:
                main = await query_account(conn, (await find_entity(conn, code)).id, "1000")
                opening = await query_account(conn, (await isp_entity(conn)).id, "3900")
                await post_entry(
                    conn,
                    NewEntry(
                        f"opening:{code}",
                        "Opening",
                        (debit(opening.id, balance, "USD"), credit(main.id, balance, "USD")),
                    ),
                )
        return ids

    async def balance(self, name: str, code: str) -> int:
        async with self.unit() as conn:
            entity = await find_entity(conn, f"{name}@{self.realm}")
            return (await query_account(conn, entity.id, code)).balance


@pytest.fixture
async def network(engine: Any, make_tenant: Any) -> Network:
    tenant = await make_tenant("sess")
    found = Network(tenant, engine, SecretBox(SecretBox.generate_key()))
    async with found.unit() as conn:
        await plans.create_category(conn, "all", "All")
        for code, (billing, components) in PLANS.items():
            await plans.create_plan(conn, code, code, category="all", billing=billing)
            await versions.add_plan_version(conn, code, effective_from=FROM, components=components)
        await resellers.add_realm(conn, found.realm)
    return found
