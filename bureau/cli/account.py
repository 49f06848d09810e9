"""`bureau account …`: an entity's accounts, balances and statements."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.ledger import entities, statement
from bureau.platform.ledger.chart import SESSIONS
from bureau.platform.money import format_amount
from bureau.tenants import lifecycle, routing

from ._common import fail, out, print_json, with_engine

app = typer.Typer(help="Show an entity's accounts, balances and statements.", no_args_is_help=True)

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
RefArg = Annotated[str, typer.Argument(help="Entity id or code (e.g. 42, isp, northnet, alice@demo.example).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]


def _shown(micros: int, unit: str) -> str:
    return f"{micros} {SESSIONS.lower()}" if unit == SESSIONS else format_amount(micros, unit, precise=True)


def _account_dict(a: entities.AccountBalance) -> dict[str, Any]:
    return {
        "id": a.id,
        "code": a.code,
        "name": a.name,
        "unit": a.unit,
        "side": a.side,
        "balance_micros" if a.unit != SESSIONS else "balance_count": a.balance,
        "balance": _shown(a.balance, a.unit),
        "floor": a.floor,
    }


@app.command()
def show(ref: RefArg, tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """Print an entity's accounts and balances."""

    async def job(engine: AsyncEngine) -> tuple[entities.Entity, list[entities.AccountBalance]]:
        found = await lifecycle.get_tenant(engine, tenant)
        async with routing.tenant_unit(engine, found.ref) as conn:
            entity = await entities.find_entity(conn, ref)
            return entity, await entities.list_accounts(conn, entity.id)

    entity, accounts = with_engine(job)
    if as_json:
        print_json(
            {
                "tenant": tenant,
                "entity": {
                    "id": entity.id,
                    "kind": entity.kind.value,
                    "code": entity.code,
                    "name": entity.name,
                    "status": entity.status,
                    "prepaid": entity.prepaid,
                    "currency": entity.currency,
                    "parent_id": entity.parent_id,
                    "reseller_id": entity.reseller_id,
                },
                "accounts": [_account_dict(a) for a in accounts],
            }
        )
        return
    kind = f"{entity.kind.value}, {'prepaid' if entity.prepaid else 'post-paid'}, {entity.status}"
    out.print(f"[bold]{entity.name}[/bold] ({entity.code}, id {entity.id}; {kind})")
    table = Table("code", "account", "balance", "unit")
    for a in accounts:
        table.add_row(a.code, a.name, _shown(a.balance, a.unit).split(" ")[0], a.unit)
    out.print(table)


def _day(text: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError:
        fail(f"{option} {text!r} is not a date such as 2026-11-01")


@app.command("statement")
def statement_(
    ref: RefArg,
    tenant: TenantOpt,
    code: Annotated[str, typer.Option("--account", "-a", help="Account code, e.g. 1000.")] = "1000",
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")] = "1970-01-01",
    end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive (default today).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Statement of account: opening balance, entries, closing balance."""
    since = _day(start, "--from")
    until = _day(end, "--to") if end else datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    until += timedelta(days=1)

    async def job(engine: AsyncEngine) -> statement.Statement:
        found = await lifecycle.get_tenant(engine, tenant)
        async with routing.tenant_unit(engine, found.ref) as conn:
            entity = await entities.find_entity(conn, ref)
            account = await entities.query_account(conn, entity.id, code)
            return await statement.statement_of_account(conn, account.id, since, until)

    stmt = with_engine(job)
    unit = stmt.account.unit
    if as_json:
        print_json(
            {
                "account": _account_dict(stmt.account),
                "from": since.isoformat(),
                "to": until.isoformat(),
                "opening": stmt.opening,
                "closing": stmt.closing,
                "truncated": stmt.truncated,
                "lines": [
                    {
                        "entry_id": line.entry_id,
                        "posted_at": line.posted_at.isoformat(),
                        "description": line.description,
                        "amount": line.amount,
                        "balance": line.balance,
                    }
                    for line in stmt.lines
                ],
            }
        )
        return
    out.print(f"Statement of {stmt.account.code} {stmt.account.name}, {since.date()} to {until.date()} (exclusive)")
    table = Table("date", "entry", "description", "amount", "balance")
    table.add_row("", "", "opening balance", "", _shown(stmt.opening, unit))
    for line in stmt.lines:
        table.add_row(
            line.posted_at.strftime("%Y-%m-%d %H:%M"),
            str(line.entry_id),
            line.description,
            _shown(line.amount, unit),
            _shown(line.balance, unit),
        )
    table.add_row("", "", "closing balance", "", _shown(stmt.closing, unit))
    out.print(table)
