"""A priced tenant for billing tests: plans, a 5 % US sales tax, an ISP realm, and helpers
to add customers with backdated services and usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bureau.platform.billing.usage import record_usage
from bureau.platform.catalog import plans, taxes, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.rating.tariff import GIGABYTE, HOUR, UsageRate
from bureau.platform.rating.usage import Meter, Usage
from bureau.platform.subscribers import customers, resellers, services
from bureau.tenants.routing import tenant_unit

DOLLAR = 1_000_000
PRICES_FROM = datetime(2026, 1, 1, tzinfo=UTC)
ADDRESS = customers.Address(country="US", state="CA", city="Springfield", postal_code="94000", lines=("1 Main St",))
PLANS: dict[str, tuple[str, tuple[PriceComponent, ...]]] = {
    "dsl-10": (
        "postpaid",
        (
            PriceComponent.signup_fee(15 * DOLLAR),
            PriceComponent.recurring(29_990_000),
            PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10 * DOLLAR, allowance=10 * GIGABYTE)),
        ),
    ),
    "box-monthly": ("prepaid", (PriceComponent.recurring(5 * DOLLAR),)),
    "dial-hourly": ("postpaid", (PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000)),)),
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Books:
    tenant: Any
    engine: Any
    box: SecretBox

    @property
    def realm(self) -> str:
        return f"isp-{self.tenant.slug.rpartition('_')[2]}.example"

    def unit(self) -> Any:
        return tenant_unit(self.engine, self.tenant.ref, actor="test")

    async def customer(
        self,
        name: str,
        plan: str,
        since: str,
        *,
        prepaid: bool = False,
        reseller: str | None = None,
        usage: Sequence[tuple[str, Usage]] = (),
        realm: str | None = None,
    ) -> customers.Customer:
        """A customer with one RADIUS login on `plan`, billable from `since`, and usage."""
        login = f"{name}@{realm or self.realm}"
        async with self.unit() as conn:
            found = await customers.create_customer(
                conn,
                code=login,
                name=name.title(),
                email=f"{name}@mail.example",
                address=ADDRESS,
                prepaid=prepaid,
                reseller=reseller,
            )
            service = await services.add_service(
                conn, self.box, customer=login, kind="radius_login", login=login, plan=plan, password="s3cret-pass"
            )
            await services.change_service_state(conn, service.id, "active", at=at(since))
            for number, (when, used) in enumerate(usage):
                await record_usage(conn, service.id, source=f"session-{number}", started_at=at(when), usage=used)
        return found


async def make_books(engine: Any, make_tenant: Any, prefix: str = "bill", name: str | None = None) -> Books:
    tenant = await make_tenant(prefix, name=name)
    books = Books(tenant, engine, SecretBox(SecretBox.generate_key(), key_id=1))
    async with books.unit() as conn:
        await plans.create_category(conn, "all", "All plans")
        for code, (billing, components) in PLANS.items():
            await plans.create_plan(conn, code, code.upper(), category="all", billing=billing)
            await versions.add_plan_version(conn, code, effective_from=PRICES_FROM, components=components)
        await taxes.create_tax_rate(
            conn,
            name="Sales tax",
            locale=taxes.Locale("US"),
            tax_class="standard",
            rate_bp=500,
            inclusive=False,
            effective_from=PRICES_FROM,
        )
        await resellers.add_realm(conn, books.realm)
    return books


@pytest.fixture
async def books(engine: Any, make_tenant: Any) -> Books:
    return await make_books(engine, make_tenant)
