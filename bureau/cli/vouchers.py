"""`bureau voucher …`: prepaid voucher batches, redemption and expiry (docs/vouchers.md).

A batch's codes exist only while it is created (only digests are stored), so `batch
create` writes them to --csv and/or --pdf files before the batch is committed: if a
file cannot be written, no batch is made. `batch export` prints cards again later from
that CSV.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.ledger.entities import isp_entity
from bureau.platform.money import format_amount
from bureau.platform.subscribers.customers import get_customer
from bureau.platform.subscribers.resellers import get_reseller
from bureau.platform.vouchers import batches, redeem
from bureau.platform.vouchers.batches import Batch, IssuedCode

from ._common import actor, amount_micros, fail, instant, out, print_json, with_tenant

app = typer.Typer(help="Prepaid vouchers: batches, redemption and expiry.", no_args_is_help=True)
batch_app = typer.Typer(help="Create, sell, void and print voucher batches.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
BatchArg = Annotated[int, typer.Argument(help="Batch id (printed when it was created).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]

MAX_CODES_FILE_BYTES = 16 * 1024 * 1024  # a CSV of the largest batch is about 6 MB


def _batch_dict(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "name": batch.name,
        "value_micros": batch.value_micros,
        "value": format_amount(batch.value_micros, batch.currency),
        "currency": batch.currency,
        "count": batch.count,
        "expires_at": batch.expires_at.isoformat(),
        "reseller_entity_id": batch.reseller_id,
        "status": batch.status,
        "sold_at": batch.sold_at.isoformat() if batch.sold_at else None,
        "sale_entry_id": batch.sale_entry_id,
    }


def _print_batch(verb: str, batch: Batch, as_json: bool) -> None:
    if as_json:
        print_json(_batch_dict(batch))
        return
    sold = f"sold {batch.sold_at.date().isoformat()}" if batch.sold_at else "not sold"
    out.print(
        f"{verb} batch {batch.id} ({batch.name}): {batch.count} x {format_amount(batch.value_micros, batch.currency)}, "
        f"expires {batch.expires_at.isoformat()}, {batch.status}, {sold}",
        markup=False,
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file only its owner can read (it holds codes worth money); never overwrite."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}; nothing was made")


def _check_new(path: Path | None, option: str) -> None:
    if path is None:
        return
    if path.exists():
        fail(f"{option} {path} already exists; choose a new file (codes are never overwritten)")
    if not path.parent.is_dir():
        fail(f"{option} {path}: folder {path.parent} does not exist")


def _render(codes: list[IssuedCode], batch: Batch, csv_file: Path | None, pdf_file: Path | None) -> None:
    from bureau.platform.vouchers import export  # fpdf: loaded only by the commands that print

    if csv_file is not None:
        _write_private(csv_file, export.export_batch_csv(codes, batch).encode())
    if pdf_file is not None:
        _write_private(pdf_file, export.export_batch_pdf(codes, batch))


@batch_app.command("create")
def batch_create(
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Printed on the cards, e.g. 'Summer 10'.")],
    value: Annotated[str, typer.Option(help="Value of each voucher in the tenant's currency, e.g. 10.00.")],
    count: Annotated[int, typer.Option(help="How many vouchers (1 to 100000).")],
    expires: Annotated[str, typer.Option(help="Expiry (2027-12-31 is midnight UTC, or an ISO time).")],
    reseller: Annotated[str | None, typer.Option(help="Code of the reseller the batch is for.")] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write serials and codes to this new CSV file.")
    ] = None,
    pdf_file: Annotated[Path | None, typer.Option("--pdf", help="Write printable cards to this new PDF file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a batch and write its codes (shown this once) to --csv and/or --pdf; nothing is posted until sold."""
    if csv_file is None and pdf_file is None:
        fail("give --csv FILE and/or --pdf FILE: the codes exist only now and are never shown again")
    _check_new(csv_file, "--csv")
    _check_new(pdf_file, "--pdf")
    value_micros = amount_micros(value, "--value")
    expires_at = instant(expires, "--expires")

    async def job(conn: AsyncConnection) -> Batch:
        seller = (await get_reseller(conn, reseller)).entity_id if reseller is not None else None
        batch, codes = await batches.create_batch(
            conn, name=name, value_micros=value_micros, count=count, expires_at=expires_at, reseller_id=seller
        )
        _render(codes, batch, csv_file, pdf_file)  # before the commit: no file, no batch
        return batch

    try:
        batch = with_tenant(tenant, job)
    except BaseException:
        for path in (csv_file, pdf_file):  # written for a batch that was rolled back
            if path is not None and path.exists():
                path.unlink()
        raise
    _print_batch("created", batch, as_json)
    if not as_json:
        written = " and ".join(str(p) for p in (csv_file, pdf_file) if p is not None)
        out.print(f"codes written to {written}; keep them safe, they are not stored", markup=False)


def read_codes(path: Path, batch_id: int) -> list[IssuedCode]:
    """The serials and codes of a CSV written by `batch create` for batch `batch_id`."""
    if not path.is_file():
        fail(f"{path}: no such file")
    if path.stat().st_size > MAX_CODES_FILE_BYTES:
        fail(f"{path} is larger than {MAX_CODES_FILE_BYTES // (1024 * 1024)} MB; it is not a batch's CSV")
    prefix = batches.serial_for(batch_id, 0).rsplit("-", 1)[0] + "-"
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        fail(f"{path} is not the CSV `voucher batch create --csv` wrote ({exc})")
    if not rows or not {"serial", "code"} <= set(rows[0]):
        fail(f"{path} has no serial and code columns; give the CSV that `voucher batch create --csv` wrote")
    codes = [IssuedCode(row["serial"], row["code"]) for row in rows]
    strangers = [c.serial for c in codes if not c.serial.startswith(prefix)]
    if strangers:
        fail(f"{path}: serial {strangers[0]} is not of batch {batch_id} (its serials start {prefix})")
    return codes


@batch_app.command("export")
def batch_export(
    batch_id: BatchArg,
    tenant: TenantOpt,
    codes_file: Annotated[Path, typer.Option("--codes", help="The CSV `batch create --csv` wrote.")],
    pdf_file: Annotated[Path, typer.Option("--pdf", help="Write printable cards to this new PDF file.")],
) -> None:
    """Print a batch's cards again from the CSV written when it was created (codes are not stored)."""
    _check_new(pdf_file, "--pdf")
    codes = read_codes(codes_file, batch_id)
    batch = with_tenant(tenant, lambda conn: batches.get_batch(conn, batch_id))
    _render(codes, batch, None, pdf_file)
    out.print(f"{len(codes)} cards of batch {batch.id} written to {pdf_file}", markup=False)


@batch_app.command("sell")
def batch_sell(batch_id: BatchArg, tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """Record the sale of a whole batch: its value becomes voucher liability (once)."""
    _print_batch("sold", with_tenant(tenant, lambda conn: batches.sell_batch(conn, batch_id)), as_json)


@batch_app.command("void")
def batch_void(batch_id: BatchArg, tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """Void a batch: unredeemed vouchers stop working (a sold batch's rest is refunded)."""
    _print_batch("voided", with_tenant(tenant, lambda conn: batches.void_batch(conn, batch_id)), as_json)


@app.command("redeem")
def redeem_(
    code: Annotated[
        str, typer.Argument(help="The voucher code, e.g. ABCD-EFGH-JKLM-NPQR (any case, dashes optional).")
    ],
    tenant: TenantOpt,
    account: Annotated[str, typer.Option(help="Customer number, account code or login to credit.")],
    as_json: JsonFlag = False,
) -> None:
    """Redeem a voucher onto a customer's main balance (a refusal is counted for throttling)."""

    async def job(conn: AsyncConnection) -> redeem.Redemption | redeem.Refused:
        customer = await get_customer(conn, account)
        return await redeem.redeem_voucher(conn, code, customer.entity_id, source=actor())

    result = with_tenant(tenant, job)  # committed either way: a refused attempt is kept
    if isinstance(result, redeem.Refused):
        fail(str(result.error))
    if as_json:
        print_json(
            {
                "serial": result.serial,
                "batch_id": result.batch_id,
                "entity_id": result.entity_id,
                "value_micros": result.value_micros,
                "value": format_amount(result.value_micros, result.currency),
                "currency": result.currency,
                "entry_id": result.entry_id,
                "redeemed_at": result.redeemed_at.isoformat(),
                "replayed": result.replayed,
            }
        )
        return
    again = " (already redeemed by this account: nothing new)" if result.replayed else ""
    out.print(
        f"redeemed voucher {result.serial}: {format_amount(result.value_micros, result.currency)} "
        f"onto {account}, entry {result.entry_id}{again}",
        markup=False,
    )


@app.command("expire")
def expire(
    tenant: TenantOpt,
    now: Annotated[str | None, typer.Option("--now", help="Expire as of this time (default now).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Expire unredeemed vouchers past their expiry; a sold batch's rest is breakage revenue."""
    when = instant(now, "--now") if now else datetime.now(UTC)

    async def job(conn: AsyncConnection) -> tuple[batches.ExpiryReport, str]:
        return await batches.expire_vouchers(conn, when), (await isp_entity(conn)).currency

    report, currency = with_tenant(tenant, job)
    if as_json:
        print_json(
            {
                "at": when.isoformat(),
                "batches": report.batches,
                "vouchers": report.vouchers,
                "breakage_micros": report.breakage_micros,
                "breakage": format_amount(report.breakage_micros, currency),
                "more": report.more,
            }
        )
        return
    out.print(
        f"expired {report.vouchers} voucher(s) of {report.batches} batch(es); "
        f"breakage {format_amount(report.breakage_micros, currency)}",
        markup=False,
    )
    if report.more:
        out.print("more batches are due: run `bureau voucher expire` again", markup=False)
