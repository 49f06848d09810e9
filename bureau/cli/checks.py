"""`bureau ledger check` and `bureau audit …`: recompute and verify, per tenant."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.audit import chain
from bureau.platform.ledger.check import check_ledger
from bureau.tenants import lifecycle, routing

from ._common import actor, err, out, with_engine

ledger_app = typer.Typer(help="Check the double-entry ledger.", no_args_is_help=True)
audit_app = typer.Typer(help="Seal and verify the hash-chained audit log.", no_args_is_help=True)

TenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="One tenant slug (default: every tenant).")]


def _report(slug: str, ok: bool, summary: str, headline: str, problems: list[str]) -> int:
    """Print one tenant's check result; 1 when it found problems, else 0."""
    if ok:
        out.print(f"{slug}: ok ({summary})")
        return 0
    err.print(f"[red]{slug}: {headline}[/red]")
    for problem in problems:
        err.print(f"  {problem}")
    return 1


async def _targets(engine: AsyncEngine, slug: str | None) -> list[lifecycle.Tenant]:
    if slug:
        return [await lifecycle.get_tenant(engine, slug)]
    return await lifecycle.list_tenants(engine)


@ledger_app.command("check")
def check(tenant: TenantOpt = None) -> None:
    """Recompute every balance from postings and verify every entry; exit 1 on any difference."""

    async def job(engine: AsyncEngine) -> int:
        bad = 0
        for t in await _targets(engine, tenant):
            async with routing.tenant_unit(engine, t.ref) as conn:
                report = await check_ledger(conn)
            summary = f"{report.entries} entries, {report.accounts} accounts"
            bad += _report(t.slug, report.ok, summary, f"{len(report.problems)} problem(s)", report.problems)
        return bad

    if with_engine(job):
        raise typer.Exit(1)


@audit_app.command()
def seal(tenant: TenantOpt = None) -> None:
    """Chain the audit records written since the last seal."""

    async def job(engine: AsyncEngine) -> None:
        for t in await _targets(engine, tenant):
            async with routing.tenant_unit(engine, t.ref, actor=actor()) as conn:
                sealed = await chain.seal(conn)
            out.print(f"{t.slug}: sealed {sealed} record(s)")

    with_engine(job)


@audit_app.command()
def verify(tenant: TenantOpt = None) -> None:
    """Seal, then verify every record and link; exit 1 if any was changed or deleted."""

    async def job(engine: AsyncEngine) -> int:
        bad = 0
        for t in await _targets(engine, tenant):
            async with routing.tenant_unit(engine, t.ref, actor=actor()) as conn:
                await chain.seal(conn)
            async with routing.tenant_unit(engine, t.ref) as conn:
                report = await chain.verify(conn)
            summary = f"{report.checked} records, {report.unsealed} not yet sealed"
            bad += _report(t.slug, report.ok, summary, "audit log tampered with", report.problems)
        return bad

    if with_engine(job):
        raise typer.Exit(1)
