"""`bureau bill-run` as an operator runs it: killed with SIGKILL part-way and run again, it
issues exactly the invoices an uninterrupted run issues; invoices render as JSON and PDF."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.billing.invoices import invoice_document, list_invoices
from bureau.platform.billing.tables import bill_runs
from bureau.platform.billing.usage import record_usage
from bureau.platform.catalog import plans, taxes, versions
from bureau.platform.catalog.components import PriceComponent
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.invoicing.render import invoice_json
from bureau.platform.ledger.check import check_ledger
from bureau.platform.rating.tariff import GIGABYTE, UsageRate
from bureau.platform.rating.usage import Meter, Usage
from bureau.platform.subscribers import customers, services
from bureau.tenants.routing import tenant_unit

from .conftest import bureau_env

CUSTOMERS = 80
FROM = datetime(2026, 1, 1, tzinfo=UTC)
ADDRESS = customers.Address(country="US", state="CA", city="Springfield")


async def _priced_tenant(engine: AsyncEngine, make_tenant: Any) -> Any:
    tenant = await make_tenant("killed", name="Twin ISP")
    box = SecretBox(SecretBox.generate_key())
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await plans.create_category(conn, "dsl", "DSL")
        await plans.create_plan(conn, "dsl", "DSL", category="dsl", billing="postpaid")
        rate = UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 2_000_000, allowance=5 * GIGABYTE)
        components = (PriceComponent.recurring(19_990_000), PriceComponent.usage(rate))
        await versions.add_plan_version(conn, "dsl", effective_from=FROM, components=components)
        await taxes.create_tax_rate(
            conn,
            name="Tax",
            locale=taxes.Locale("US"),
            tax_class="standard",
            rate_bp=725,
            inclusive=False,
            effective_from=FROM,
        )
        for number in range(CUSTOMERS):
            await customers.create_customer(
                conn,
                code=f"c{number}",
                name=f"Customer {number}",
                email=f"c{number}@mail.example",
                address=ADDRESS,
                prepaid=False,
            )
            service = await services.add_service(
                conn, box, customer=f"c{number}", kind="mailbox", login=f"c{number}", plan="dsl"
            )
            start = datetime(2026, 9 + number % 2, 1 + number % 28, tzinfo=UTC)
            await services.change_service_state(conn, service.id, "active", at=start)
            used = Usage(octets_out=(number * 7 % 13) * GIGABYTE // 2)
            await record_usage(conn, service.id, source="s", started_at=datetime(2026, 10, 29, tzinfo=UTC), usage=used)
    return tenant


async def _documents(engine: AsyncEngine, tenant: Any) -> list[dict[str, Any]]:
    async with tenant_unit(engine, tenant.ref) as conn:
        found = sorted(await list_invoices(conn, limit=1000), key=lambda i: i.number)
        return [invoice_json(await invoice_document(conn, i.number)) for i in found]


async def _run_row(engine: AsyncEngine, tenant: Any) -> Any:
    async with tenant_unit(engine, tenant.ref) as conn:
        return (await conn.execute(select(bill_runs.c.status, bill_runs.c.invoices))).first()


async def test_sigkilled_bill_run_resumes_to_the_invoices_of_an_uninterrupted_one(
    engine: AsyncEngine, make_tenant: Any, database_url: str, run_bureau: Any, tmp_path: Path
) -> None:
    whole = await _priced_tenant(engine, make_tenant)
    killed = await _priced_tenant(engine, make_tenant)
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(tmp_path)}
    args = ("bill-run", "--period", "2026-10", "--batch-size", "1", "--json")
    done = run_bureau(*args, "--tenant", whole.slug, env=env, check=True)
    assert json.loads(done.stdout)["invoices"] == CUSTOMERS

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bureau",
        *args,
        "--tenant",
        killed.slug,
        env=bureau_env(**env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    row = None
    while time.monotonic() < deadline:
        row = await _run_row(engine, killed)
        if row is not None and row.invoices >= 5:
            break
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(process.wait(), timeout=30)
    row = await _run_row(engine, killed)
    assert row is not None and row.status == "running" and 5 <= row.invoices < CUSTOMERS, row

    resumed = run_bureau(*args, "--tenant", killed.slug, env=env, check=True)
    assert json.loads(resumed.stdout)["resumed"] is True
    assert await _documents(engine, killed) == await _documents(engine, whole)
    for tenant in (whole, killed):
        async with tenant_unit(engine, tenant.ref) as conn:
            report = await check_ledger(conn)
        assert report.ok, report.problems


async def test_invoice_show_renders_json_and_pdf(
    engine: AsyncEngine, make_tenant: Any, database_url: str, run_bureau: Any, tmp_path: Path
) -> None:
    tenant = await _priced_tenant(engine, make_tenant)
    env = {"BUREAU_DATABASE_URL": database_url, "BUREAU_DATA_DIR": str(tmp_path)}
    run_bureau("bill-run", "--tenant", tenant.slug, "--period", "2026-10", env=env, check=True)
    shown = run_bureau(
        "invoice",
        "show",
        "--tenant",
        tenant.slug,
        "INV-000003",
        "--json",
        "--pdf",
        str(tmp_path / "i.pdf"),
        env=env,
        check=True,
    )
    document = json.loads(shown.stdout)
    assert document["number"] == "INV-000003" and document["seller"]["name"] == "Twin ISP"
    assert (tmp_path / "i.pdf").read_bytes().startswith(b"%PDF-")
    refused = run_bureau("bill-run", "--tenant", tenant.slug, "--period", "2099-01", env=env)
    assert refused.returncode == 2 and "still ahead" in refused.stderr
    missing = run_bureau("invoice", "show", "--tenant", tenant.slug, "INV-999999", env=env)
    assert missing.returncode == 2 and "no invoice has number 'INV-999999'" in missing.stderr
