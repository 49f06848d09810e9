"""`bureau voucher …`: batches, redemption and expiry over a real database, as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import stat
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.ledger import entities
from bureau.platform.subscribers import customers
from bureau.platform.vouchers import batches
from bureau.tenants import lifecycle
from bureau.tenants.routing import tenant_unit

from .conftest import Cli, ok, refused, run_all

LedgerCheck = Callable[[lifecycle.Tenant], Any]


@pytest.fixture(scope="module")
async def isp(engine: AsyncEngine) -> lifecycle.Tenant:
    """One tenant for the module, with prepaid customer alice."""
    tenant = await lifecycle.create_tenant(
        engine, f"vou_{uuid.uuid4().hex[:8]}", name="Voucher ISP", currency="USD", actor="test"
    )
    async with tenant_unit(engine, tenant.ref, actor="test") as conn:
        await customers.create_customer(
            conn, code="alice", name="Alice", email="alice@example.com", address=customers.Address("US")
        )
    return tenant


async def main_balance(engine: AsyncEngine, tenant: lifecycle.Tenant, code: str) -> int:
    async with tenant_unit(engine, tenant.ref) as conn:
        entity = await entities.find_entity(conn, code)
        return (await entities.query_account(conn, entity.id, "1000")).balance


async def test_a_batch_is_created_into_private_files_sold_redeemed_printed_again_and_voided(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant, tmp_path: Path, assert_ledger_sound: LedgerCheck
) -> None:
    codes_csv, cards = tmp_path / "codes.csv", tmp_path / "cards.pdf"
    create = ("voucher", "batch", "create", "--name", "Summer 10", "--count", "3", "--expires", "2099-12-31")
    made, no_file = run_all(
        cli,
        (*create, "--value", "10.00", "--csv", str(codes_csv), "--pdf", str(cards), "--json"),
        (*create, "--value", "10.00"),
    )
    batch = json.loads(ok(made).stdout)
    assert batch == {
        "id": batch["id"],
        "name": "Summer 10",
        "value_micros": 10_000_000,
        "value": "10.00 USD",
        "currency": "USD",
        "count": 3,
        "expires_at": "2099-12-31T00:00:00+00:00",
        "reseller_entity_id": None,
        "status": "active",
        "sold_at": None,
        "sale_entry_id": None,
    }
    assert "--csv FILE and/or --pdf FILE" in refused(no_file)
    for path in (codes_csv, cards):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cards.read_bytes().startswith(b"%PDF")
    rows = list(csv.DictReader(io.StringIO(codes_csv.read_text())))
    assert [r["serial"] for r in rows] == [f"V{batch['id']}-00000{n}" for n in (1, 2, 3)]
    code = rows[0]["code"]
    assert code not in made.stdout + made.stderr

    unsold, overwrite = run_all(
        cli,
        ("voucher", "redeem", code, "--account", "alice"),
        (*create, "--value", "5.00", "--csv", str(codes_csv)),
    )
    assert "has not been sold yet" in refused(unsold)
    assert f"--csv {codes_csv} already exists" in refused(overwrite)

    sold = json.loads(ok(cli("voucher", "batch", "sell", str(batch["id"]), "--json")).stdout)
    assert sold["sold_at"] is not None and sold["sale_entry_id"] is not None

    redeemed = json.loads(ok(cli("voucher", "redeem", code.lower(), "--account", "alice", "--json")).stdout)
    assert (redeemed["serial"], redeemed["value_micros"], redeemed["replayed"]) == (
        rows[0]["serial"],
        10_000_000,
        False,
    )
    again, printed = run_all(
        cli,
        ("voucher", "redeem", code, "--account", "alice"),
        (
            "voucher",
            "batch",
            "export",
            str(batch["id"]),
            "--codes",
            str(codes_csv),
            "--pdf",
            str(tmp_path / "again.pdf"),
        ),
    )
    assert "already redeemed by this account: nothing new" in ok(again).stdout
    assert f"3 cards of batch {batch['id']}" in ok(printed).stdout
    assert (tmp_path / "again.pdf").read_bytes().startswith(b"%PDF")
    assert await main_balance(engine, isp, "alice") == 10_000_000

    voided = json.loads(ok(cli("voucher", "batch", "void", str(batch["id"]), "--json")).stdout)
    assert voided["status"] == "void"
    assert "was cancelled and cannot be redeemed" in refused(
        cli("voucher", "redeem", rows[1]["code"], "--account", "alice")
    )
    await assert_ledger_sound(isp)


async def test_expiry_turns_the_unredeemed_value_of_sold_batches_into_breakage(
    cli: Cli, engine: AsyncEngine, isp: lifecycle.Tenant, assert_ledger_sound: LedgerCheck
) -> None:
    async with tenant_unit(engine, isp.ref, actor="test") as conn:
        batch, _ = await batches.create_batch(
            conn, name="Short", value_micros=2_500_000, count=2, expires_at=datetime(2098, 1, 1, tzinfo=UTC)
        )
        await batches.sell_batch(conn, batch.id)
    report = json.loads(ok(cli("voucher", "expire", "--now", "2098-01-02", "--json")).stdout)
    assert report == {
        "at": "2098-01-02T00:00:00+00:00",
        "batches": 1,
        "vouchers": 2,
        "breakage_micros": 5_000_000,
        "breakage": "5.00 USD",
        "more": False,
    }
    assert "expired 0 voucher(s) of 0 batch(es)" in ok(cli("voucher", "expire", "--now", "2098-01-02")).stdout
    await assert_ledger_sound(isp)
