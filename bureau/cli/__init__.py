"""The `bureau` command: the operator's entry point (thin: parse, call, print)."""

from __future__ import annotations

import typer

import bureau

from . import (
    account,
    apikey,
    billing,
    catalog,
    checks,
    customers,
    dunning,
    importing,
    provisioning,
    radius,
    resellers,
    server,
    tenant,
    vouchers,
    worker,
)
from ._common import out, with_engine

app = typer.Typer(
    name="bureau",
    help=(
        "Bureau: hosted billing, provisioning and RADIUS for ISPs and their resellers.\n\n"
        "Configuration comes from BUREAU_* environment variables (see the README). "
        "Without BUREAU_DATABASE_URL every command uses the embedded PostgreSQL in BUREAU_DATA_DIR."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.command()(server.up)
app.command()(server.serve)
app.add_typer(tenant.app, name="tenant")
app.add_typer(account.app, name="account")
app.add_typer(apikey.app, name="apikey")
app.add_typer(checks.ledger_app, name="ledger")
app.add_typer(checks.audit_app, name="audit")
app.add_typer(importing.app, name="import")
app.add_typer(catalog.plan_app, name="plan")
app.add_typer(catalog.tax_app, name="tax")
app.add_typer(catalog.class_app, name="class")
app.add_typer(resellers.app, name="reseller")
app.add_typer(customers.customer_app, name="customer")
app.add_typer(customers.service_app, name="service")
app.add_typer(vouchers.app, name="voucher")
app.command("bill-run")(billing.run)
app.add_typer(billing.invoice_app, name="invoice")
app.add_typer(billing.payment_app, name="payment")
app.command("credit-note")(billing.credit_note)
app.command("adjust")(billing.adjust)
app.add_typer(billing.usage_app, name="usage")
app.add_typer(dunning.app, name="dunning")
app.command("radius")(radius.radius)
app.add_typer(radius.nas_app, name="nas")
app.add_typer(radius.session_app, name="session")
app.add_typer(radius.proxy_app, name="realm-proxy")
app.add_typer(worker.app, name="worker")
app.add_typer(provisioning.app, name="target")
app.command("provision")(provisioning.provision)
app.command("reconcile")(provisioning.reconcile)


@app.command()
def migrate() -> None:
    """Bring the shared schema and every tenant schema to the newest revision."""
    from bureau.tenants.migrate import migrate_all

    report = with_engine(migrate_all, migrated=False)
    out.print(f"shared schema at {report.shared}")
    out.print(f"tenants migrated: {len(report.migrated)}, already up to date: {len(report.up_to_date)}")
    for slug, problem in report.failed.items():
        out.print(f"[red]tenant {slug} failed:[/red] {problem}")
    if report.failed:
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print Bureau's version."""
    out.print(bureau.__version__)


def main() -> None:
    app()
