"""`bureau tenant …`: the operator's tenant lifecycle commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.tenants import lifecycle, migrate, routing

from ._common import actor, out, print_json, with_engine

app = typer.Typer(help="Create, list, show, suspend and resume client ISPs (tenants).", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _as_dict(tenant: lifecycle.Tenant) -> dict[str, Any]:
    return {
        "id": tenant.id,
        "slug": tenant.slug,
        "name": tenant.name,
        "currency": tenant.currency,
        "status": tenant.status,
        "schema": tenant.schema,
        "time_zone": tenant.time_zone,
        "created_at": tenant.created_at.isoformat(),
    }


@app.command()
def create(
    slug: Annotated[str, typer.Argument(help="Lower-case letters, digits and _; becomes schema tenant_<slug>.")],
    name: Annotated[str, typer.Option(help="The ISP's name, as shown on invoices.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code of the tenant's currency, e.g. USD.")] = "USD",
    time_zone: Annotated[str, typer.Option(help="IANA time zone of its scheduled jobs, e.g. Europe/Berlin.")] = "UTC",
    as_json: JsonFlag = False,
) -> None:
    """Create a tenant: its schema, migrations and the ISP's chart of accounts, all or nothing."""
    tenant = with_engine(
        lambda e: lifecycle.create_tenant(e, slug, name=name, currency=currency, actor=actor(), time_zone=time_zone)
    )
    if as_json:
        print_json(_as_dict(tenant))
    else:
        out.print(
            f"created tenant [bold]{tenant.slug}[/bold] ({tenant.name}, {tenant.currency}) in schema {tenant.schema}"
        )


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """List every tenant."""
    tenants = with_engine(lifecycle.list_tenants)
    if as_json:
        print_json([_as_dict(t) for t in tenants])
        return
    table = Table("slug", "name", "currency", "status", "schema")
    for t in tenants:
        table.add_row(t.slug, t.name, t.currency, t.status, t.schema)
    out.print(table if tenants else "no tenants yet: create one with `bureau tenant create SLUG --name …`")


@app.command()
def show(slug: str, as_json: JsonFlag = False) -> None:
    """Show one tenant, with its schema revision."""

    async def job(engine: AsyncEngine) -> dict[str, Any]:
        tenant = await lifecycle.get_tenant(engine, slug)
        async with routing.tenant_unit(engine, tenant.ref) as conn:
            revision = await migrate.current_revision(conn, slug)
        return {**_as_dict(tenant), "revision": revision, "head": migrate.head_revision("tenant")}

    info = with_engine(job)
    if as_json:
        print_json(info)
        return
    for key, value in info.items():
        out.print(f"{key:>10}: {value}")


@app.command()
def suspend(slug: str) -> None:
    """Suspend a tenant (audited in its own log)."""
    tenant = with_engine(lambda e: lifecycle.suspend_tenant(e, slug, actor=actor()))
    out.print(f"tenant {tenant.slug} is {tenant.status}")


@app.command()
def resume(slug: str) -> None:
    """Resume a suspended tenant."""
    tenant = with_engine(lambda e: lifecycle.resume_tenant(e, slug, actor=actor()))
    out.print(f"tenant {tenant.slug} is {tenant.status}")


@app.command("time-zone")
def time_zone(slug: str, zone: Annotated[str, typer.Argument(help="IANA name, e.g. Europe/Berlin or UTC.")]) -> None:
    """Set the time zone the tenant's scheduled jobs (nightly reconciliation, month-end) run in."""
    tenant = with_engine(lambda e: lifecycle.set_time_zone(e, slug, zone, actor=actor()))
    out.print(f"tenant {tenant.slug}: scheduled jobs run on {tenant.time_zone} time")
