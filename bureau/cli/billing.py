"""`bureau bill-run`, `bureau invoice …`, `bureau payment …`, `bureau credit-note`,
`bureau adjust`, `bureau usage record`: the billing cycle from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.billing import credits, invoices, payments
from bureau.platform.billing.errors import BillingError
from bureau.platform.billing.period import Period, last_closed, parse_period
from bureau.platform.billing.run import DEFAULT_BATCH, MAX_BATCH, BillRunReport, bill_run
from bureau.platform.billing.usage import record_usage, usage_of
from bureau.platform.ledger.entities import isp_entity
from bureau.platform.money import format_amount
from bureau.platform.subscribers.customers import get_customer
from bureau.platform.subscribers.services import ServiceKind, find_service
from bureau.tenants import lifecycle, routing

from ._common import actor, amount_micros, fail, instant, out, print_json, with_engine, with_tenant

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]

invoice_app = typer.Typer(help="List, show and render invoices.", no_args_is_help=True)
payment_app = typer.Typer(help="Record payments and prepaid top-ups.", no_args_is_help=True)
usage_app = typer.Typer(help="Record post-paid usage.", no_args_is_help=True)


def _money(micros: int, currency: str) -> dict[str, Any]:
    return {"micros": micros, "formatted": format_amount(micros, currency)}


def run(
    tenant: TenantOpt,
    period: Annotated[
        str | None, typer.Option("--period", "-p", help="Month to bill, YYYY-MM; default: the last month that is over.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=MAX_BATCH, help="Customers per transaction.")
    ] = DEFAULT_BATCH,
    as_json: JsonFlag = False,
) -> None:
    """Bill a month: one invoice per customer with charges. Safe to run again, and to
    re-run after an interruption: it continues where it stopped and issues nothing twice."""
    chosen = parse_or_fail(period)

    async def job(engine: AsyncEngine) -> tuple[BillRunReport, str]:
        found = await lifecycle.get_tenant(engine, tenant)

        def unit() -> Any:
            return routing.tenant_unit(engine, found.ref, actor=actor())

        if as_json:
            return await bill_run(unit, chosen, batch_size=batch_size), found.currency
        with Progress(
            TextColumn(f"billing {tenant} {chosen.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=out,
            transient=False,
        ) as bar:
            task = bar.add_task("customers", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return await bill_run(unit, chosen, batch_size=batch_size, progress=progress), found.currency

    report, currency = with_engine(job)
    if as_json:
        print_json(
            {
                "tenant": tenant,
                "period": report.period,
                "invoices": report.invoices,
                "customers": report.customers,
                "total": _money(report.gross_micros, currency),
                "resumed": report.resumed,
                "new_pass": report.new_pass,
                "skipped": [{"customer": number, "reason": why} for number, why in report.skipped],
            }
        )
    else:
        how = (
            " (resumed an interrupted run)"
            if report.resumed
            else " (a new pass over a finished run)"
            if report.new_pass
            else ""
        )
        out.print(
            f"period {report.period}{how}: {report.invoices} invoice(s) issued, "
            f"{format_amount(report.gross_micros, currency)} in all; {len(report.skipped)} customer(s) skipped"
        )
        for number, why in report.skipped:
            out.print(f"  [yellow]skipped[/yellow] {number}: {why}")
    if report.skipped:
        raise typer.Exit(1)


def parse_or_fail(period: str | None) -> Period:
    try:
        return parse_period(period) if period is not None else last_closed(datetime.now(UTC))
    except BillingError as exc:
        fail(str(exc))


def _invoice_dict(invoice: invoices.Invoice) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "customer": invoice.customer_number,
        "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(),
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "gross": _money(invoice.gross_micros, invoice.currency),
        "open": _money(invoice.open_micros, invoice.currency),
        "balance_due": _money(invoice.balance_due_micros, invoice.currency),
        "status": invoice.status,
    }


@invoice_app.command("list")
def list_(
    tenant: TenantOpt,
    customer: Annotated[str | None, typer.Option(help="Customer number, code or login.")] = None,
    period: Annotated[str | None, typer.Option(help="Billing period, YYYY-MM.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=invoices.MAX_LIST)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Invoices, newest first."""
    chosen = parse_or_fail(period) if period else None

    async def job(conn: AsyncConnection) -> list[invoices.Invoice]:
        owner = await get_customer(conn, customer) if customer else None
        return await invoices.list_invoices(
            conn,
            customer_id=owner.id if owner else None,
            period_start=chosen.start if chosen else None,
            limit=limit,
        )

    found = with_tenant(tenant, job)
    if as_json:
        print_json([_invoice_dict(i) for i in found])
        return
    table = Table("number", "customer", "period", "total", "open", "balance due", "status")
    for i in found:
        table.add_row(
            i.number,
            i.customer_number,
            i.period_start.strftime("%Y-%m"),
            format_amount(i.gross_micros, i.currency),
            format_amount(i.open_micros, i.currency),
            format_amount(i.balance_due_micros, i.currency),
            i.status,
        )
    out.print(table)


@invoice_app.command()
def show(
    tenant: TenantOpt,
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. INV-000001.")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Also write the invoice as a PDF to this file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """An invoice as issued: lines, tax, totals and balance due (JSON with --json)."""

    async def job(conn: AsyncConnection) -> Any:
        return await invoices.invoice_document(conn, number)

    doc = with_tenant(tenant, job)
    # fpdf loads only for this command: every other command starts a third of a second sooner
    from bureau.platform.invoicing.render import invoice_json, invoice_pdf

    if pdf is not None:
        pdf.write_bytes(invoice_pdf(doc))
    if as_json:
        print_json(invoice_json(doc))
        return
    c = doc.currency
    out.print(f"[bold]{doc.seller.name}[/bold] — invoice {doc.number}, {doc.period_start} to {doc.period_last_day}")
    out.print(f"to {doc.customer.name} ({doc.customer.account_code}); issued {doc.issue_date}, due {doc.due_date}")
    table = Table("description", "qty", "net", "tax", "gross")
    for line in doc.lines:
        table.add_row(
            line.description,
            f"{line.quantity} {line.unit}".strip(),
            format_amount(line.net_micros, c),
            format_amount(line.tax_micros, c),
            format_amount(line.gross_micros, c),
        )
    out.print(table)
    out.print(
        f"total {format_amount(doc.totals.gross_micros, c)} (tax {format_amount(doc.totals.tax_micros, c)}); "
        f"opening balance {format_amount(doc.opening_balance_micros, c)}, payments and credits "
        f"{format_amount(doc.payments_received_micros, c)}, balance due {format_amount(doc.balance_due_micros, c)}"
    )
    if pdf is not None:
        out.print(f"PDF written to {pdf}")


@payment_app.command("record")
def record(
    tenant: TenantOpt,
    customer: Annotated[str, typer.Option(help="Customer number, code or login.")],
    amount: Annotated[str, typer.Option(help="Amount received, e.g. 47.24.")],
    method: Annotated[str, typer.Option(help="cash, cheque, bank_transfer or card.")],
    key: Annotated[str, typer.Option(help="Idempotency key: the same key never records twice (e.g. the bank ref).")],
    reference: Annotated[str | None, typer.Option(help="Cheque number, bank reference, receipt…")] = None,
    invoice: Annotated[
        list[str] | None, typer.Option(help="Invoice to settle (repeatable); default: oldest open.")
    ] = None,
    received: Annotated[str | None, typer.Option(help="When it was received (ISO date/time); default now.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a payment (post-paid: allocated to invoices) or a top-up (prepaid)."""
    micros = amount_micros(amount, "--amount")
    when = instant(received, "--received") if received else None

    async def job(conn: AsyncConnection) -> tuple[payments.Payment, str]:
        currency = (await isp_entity(conn)).currency
        return await payments.record_payment(
            conn,
            customer=customer,
            amount_micros=micros,
            method=method,
            idempotency_key=key,
            received_at=when,
            reference=reference,
            invoice_numbers=invoice or (),
        ), currency

    paid, currency = with_tenant(tenant, job)
    if as_json:
        print_json(
            {
                "id": paid.id,
                "customer": paid.customer,
                "kind": paid.kind,
                "method": paid.method.value,
                "amount_micros": paid.amount_micros,
                "unallocated_micros": paid.unallocated_micros,
                "replayed": paid.replayed,
                "allocations": [
                    {"invoice": a.invoice, "amount_micros": a.amount_micros, "commission_micros": a.commission_micros}
                    for a in paid.allocations
                ],
            }
        )
        return
    what = "top-up" if paid.kind == "topup" else "payment"
    again = " (already recorded under this key)" if paid.replayed else ""
    shown = format_amount(paid.amount_micros, currency)
    out.print(f"{what} {paid.id} of {shown} by {paid.method.value} for {paid.customer}{again}")
    for a in paid.allocations:
        out.print(f"  settles {format_amount(a.amount_micros, currency)} of {a.invoice}")
    if paid.unallocated_micros:
        out.print(f"  {format_amount(paid.unallocated_micros, currency)} stays on account for later invoices")


def credit_note(
    tenant: TenantOpt,
    invoice: Annotated[str, typer.Option(help="Invoice number.")],
    line: Annotated[int, typer.Option(min=1, help="Line number on the invoice (1 is the first).")],
    amount: Annotated[str, typer.Option(help="Net amount to take back, e.g. 10.00; tax follows in proportion.")],
    reason: Annotated[str, typer.Option(help="Why, as the customer will read it.")],
    as_json: JsonFlag = False,
) -> None:
    """Issue a credit note against one line of an invoice."""
    micros = amount_micros(amount, "--amount")

    async def job(conn: AsyncConnection) -> tuple[credits.CreditNote, str]:
        currency = (await isp_entity(conn)).currency
        return await credits.issue_credit_note(
            conn, invoice=invoice, line=line, amount_micros=micros, reason=reason
        ), currency

    note, currency = with_tenant(tenant, job)
    if as_json:
        print_json(
            {
                "number": note.number,
                "invoice": note.invoice,
                "line": note.line,
                "net_micros": note.net_micros,
                "tax_micros": note.tax_micros,
                "gross_micros": note.gross_micros,
            }
        )
        return
    out.print(
        f"credit note {note.number} on {note.invoice} line {note.line}: net {format_amount(note.net_micros, currency)}"
        f" + tax {format_amount(note.tax_micros, currency)} = {format_amount(note.gross_micros, currency)}"
    )


def adjust(
    tenant: TenantOpt,
    customer: Annotated[str, typer.Option(help="Customer number, code or login.")],
    amount: Annotated[str, typer.Option(help="Amount, e.g. 5.00 to charge or -5.00 to credit.")],
    reason: Annotated[str, typer.Option(help="Why, as the customer will read it.")],
    key: Annotated[str, typer.Option(help="Idempotency key.")],
) -> None:
    """Charge (positive) or credit (negative) a customer's balance."""
    negative = amount.strip().startswith("-")
    micros = amount_micros(amount.strip().removeprefix("-"), "--amount")

    async def job(conn: AsyncConnection) -> credits.Adjustment:
        return await credits.adjust_balance(
            conn, customer=customer, amount_micros=-micros if negative else micros, reason=reason, idempotency_key=key
        )

    made = with_tenant(tenant, job)
    again = " (already recorded under this key)" if made.replayed else ""
    out.print(f"adjustment {made.id} of {amount} on {made.customer}{again}")


@usage_app.command("record")
def usage_record(
    tenant: TenantOpt,
    login: Annotated[str, typer.Option(help="The service's RADIUS login.")],
    source: Annotated[str, typer.Option(help="Where it comes from (session id, file line); idempotent on it.")],
    at: Annotated[str, typer.Option(help="When the usage started (ISO date/time).")],
    seconds: Annotated[int, typer.Option(min=0)] = 0,
    octets_in: Annotated[int, typer.Option(min=0, help="Uploaded octets.")] = 0,
    octets_out: Annotated[int, typer.Option(min=0, help="Downloaded octets.")] = 0,
) -> None:
    """Record post-paid usage of a RADIUS login (the bill run charges it)."""
    when = instant(at, "--at")
    used = usage_of(seconds, octets_in, octets_out, {})

    async def job(conn: AsyncConnection) -> Any:
        service = await find_service(conn, ServiceKind.RADIUS_LOGIN, login)
        return await record_usage(conn, service.id, source=source, started_at=when, usage=used)

    recorded = with_tenant(tenant, job)
    out.print(f"usage record {recorded.id}{' (already recorded)' if recorded.replayed else ''}")
