"""`bureau dunning …`: the dunning policy, a run by hand, open cases and events (docs/billing.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.billing import dunning
from bureau.platform.billing.dunning_policy import Action, Step
from bureau.platform.ledger.entities import isp_entity
from bureau.platform.money import format_amount
from bureau.platform.scheduling import time_zone
from bureau.platform.subscribers.customers import get_customer
from bureau.tenants import lifecycle, routing

from ._common import actor, amount_micros, fail, out, print_json, with_engine, with_tenant

app = typer.Typer(help="Dunning: reminders and suspension for overdue invoices.", no_args_is_help=True)

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]
STEP_HELP = (
    'Steps as DAYS:ACTION[:MINIMUM], comma-separated, e.g. "7:remind,14:remind,21:suspend:20.00"; '
    'ACTION is remind or suspend; "" turns dunning off.'
)


def parse_steps(text: str) -> list[Step]:
    """The steps of `--set` (see STEP_HELP); a clear message for each kind of mistake."""
    steps = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        fields = part.split(":")
        if len(fields) not in (2, 3) or not fields[0].strip().isdigit():
            fail(f"--set: {part!r} is not DAYS:ACTION[:MINIMUM] such as 21:suspend:20.00")
        try:
            action = Action(fields[1].strip())
        except ValueError:
            fail(f"--set: {part!r}: the action must be remind or suspend")
        minimum = amount_micros(fields[2], "--set") if len(fields) == 3 else 0
        steps.append(Step(int(fields[0]), action, minimum))
    return steps


def _step_dict(step: Step) -> dict[str, Any]:
    return {"days": step.days, "action": step.action.value, "min_overdue_micros": step.min_overdue_micros}


@app.command()
def steps(
    tenant: TenantOpt,
    set_: Annotated[str | None, typer.Option("--set", help=STEP_HELP)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the tenant's dunning steps, or replace them with --set."""
    wanted = parse_steps(set_) if set_ is not None else None

    async def job(conn: AsyncConnection) -> tuple[tuple[Step, ...], str]:
        currency = (await isp_entity(conn)).currency
        if wanted is not None:
            return await dunning.set_steps(conn, wanted), currency
        return await dunning.steps_of(conn), currency

    found, currency = with_tenant(tenant, job)
    if as_json:
        print_json([_step_dict(s) for s in found])
        return
    if not found:
        out.print("no dunning steps: overdue invoices lead to no reminder or suspension")
        return
    table = Table("days overdue", "action", "when at least")
    for step in found:
        table.add_row(str(step.days), step.action.value, format_amount(step.min_overdue_micros, currency))
    out.print(table)


def _local_today(found: lifecycle.Tenant) -> date:
    return datetime.now(time_zone(found.time_zone)).date()


@app.command()
def run(
    tenant: TenantOpt,
    on: Annotated[
        str | None,
        typer.Option("--date", help="Run as on this date (YYYY-MM-DD); default: today in the tenant's zone."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Take the dunning steps due now (the daily job does this at 09:00 in the tenant's
    time zone). Safe to run again: each step is taken once per customer."""
    try:
        chosen = date.fromisoformat(on) if on is not None else None
    except ValueError:
        fail(f"--date: {on!r} is not a date such as 2026-12-02")

    async def job(engine: AsyncEngine) -> dunning.DunningRun:
        found = await lifecycle.get_tenant(engine, tenant)

        def unit() -> Any:
            return routing.tenant_unit(engine, found.ref, actor=actor())

        return await dunning.run_dunning(unit, chosen or _local_today(found))

    result = with_engine(job)
    if as_json:
        print_json(
            {
                "date": result.on_date.isoformat(),
                "reviewed": result.reviewed,
                "reminded": result.reminded,
                "suspended": result.suspended,
                "restored": result.restored,
            }
        )
        return
    out.print(
        f"dunning {tenant} on {result.on_date}: {result.reviewed} customers reviewed, {result.reminded} reminded, "
        f"{result.suspended} suspended, {result.restored} restored"
    )


@app.command("list")
def list_(
    tenant: TenantOpt,
    limit: Annotated[int, typer.Option(min=1, max=dunning.MAX_LISTED)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Customers in dunning, the furthest along first, with what is overdue today."""

    async def job(engine: AsyncEngine) -> tuple[list[dunning.Case], str]:
        found = await lifecycle.get_tenant(engine, tenant)
        async with routing.tenant_unit(engine, found.ref, actor=actor()) as conn:
            cases = await dunning.open_cases(conn, _local_today(found), limit=limit)
            return cases, (await isp_entity(conn)).currency

    cases, currency = with_engine(job)
    if as_json:
        print_json(
            [
                {
                    "customer": c.customer,
                    "name": c.name,
                    "level": c.level,
                    "suspended": c.suspended,
                    "opened_on": c.opened_on.isoformat(),
                    "days_overdue": c.overdue.days,
                    "overdue_micros": c.overdue.micros,
                }
                for c in cases
            ]
        )
        return
    table = Table("customer", "name", "step", "suspended", "since", "days overdue", "overdue")
    for c in cases:
        table.add_row(
            c.customer,
            c.name,
            str(c.level),
            "yes" if c.suspended else "no",
            c.opened_on.isoformat(),
            str(c.overdue.days),
            format_amount(c.overdue.micros, currency),
        )
    out.print(table)


@app.command()
def events(
    tenant: TenantOpt,
    customer: Annotated[str | None, typer.Option(help="Customer number, code or login.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=dunning.MAX_LISTED)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Reminders, suspensions and restorations, newest first, with the notice as recorded."""

    async def job(conn: AsyncConnection) -> tuple[list[dunning.Event], str]:
        owner = await get_customer(conn, customer) if customer else None
        found = await dunning.events_of(conn, customer_id=owner.id if owner else None, limit=limit)
        return found, (await isp_entity(conn)).currency

    found, currency = with_tenant(tenant, job)
    if as_json:
        print_json(
            [
                {
                    "id": e.id,
                    "customer": e.customer,
                    "action": e.action,
                    "step_days": e.step_days,
                    "date": e.on_date.isoformat(),
                    "days_overdue": e.days_overdue,
                    "overdue_micros": e.overdue_micros,
                    "notice": e.document,
                }
                for e in found
            ]
        )
        return
    table = Table("date", "customer", "action", "step", "days overdue", "overdue", "services")
    for e in found:
        table.add_row(
            e.on_date.isoformat(),
            e.customer,
            e.action,
            "" if e.step_days is None else str(e.step_days),
            str(e.days_overdue),
            format_amount(e.overdue_micros, currency),
            ", ".join(e.document.get("services", ())),
        )
    out.print(table)
