"""`bureau reseller …`: VISP resellers, their branding, realms and the plans they may sell."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.ledger.chart import EntityKind
from bureau.platform.ledger.tables import entities
from bureau.platform.subscribers import resellers
from bureau.platform.subscribers.tables import realms

from ._common import fail, out, percent_bp, print_json, with_tenant

app = typer.Typer(
    help="Create and show resellers (VISPs), their realms and the plans they may sell.", no_args_is_help=True
)

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
CodeArg = Annotated[str, typer.Argument(help="Reseller code, e.g. northnet.")]
PlanArg = Annotated[str, typer.Argument(help="Plan code.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]

MAX_RESELLERS_LISTED = 500


def _percent(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d} %"


def _reseller_dict(
    reseller: resellers.Reseller,
    parent: str | None,
    allowed: tuple[str, ...],
    realm_names: tuple[str, ...],
) -> dict[str, Any]:
    return {
        "id": reseller.id,
        "entity_id": reseller.entity_id,
        "code": reseller.code,
        "name": reseller.name,
        "parent": parent,
        "commission_bp": reseller.commission_bp,
        "branding": asdict(reseller.branding),
        "realms": list(realm_names),
        "allowed_plans": list(allowed),
    }


async def _details(conn: AsyncConnection, code: str) -> dict[str, Any]:
    reseller = await resellers.get_reseller(conn, code)
    parent = (await resellers.get_reseller_by_id(conn, reseller.parent_id)).code if reseller.parent_id else None
    allowed = tuple(p.code for p in await resellers.allowed_plans(conn, code))
    # No realm list in the subscriber services yet: read the reseller's realms directly.
    names = await conn.scalars(
        select(realms.c.realm).where(realms.c.reseller_id == reseller.id).order_by(realms.c.realm)
    )
    return _reseller_dict(reseller, parent, allowed, tuple(names))


def _print(info: dict[str, Any]) -> None:
    out.print(f"[bold]{escape(info['name'])}[/bold] ({info['code']}, reseller id {info['id']})")
    rows = {
        "parent": info["parent"] or "— (sells under the ISP)",
        "commission": _percent(info["commission_bp"]),
        "realms": ", ".join(info["realms"]) or "none",
        "plans": ", ".join(info["allowed_plans"]) or "none yet (`bureau reseller allow`)",
        **{f"brand {k.replace('_', ' ')}": v for k, v in info["branding"].items() if v is not None},
    }
    for key, value in rows.items():
        out.print(f"{key:>22}: {value}", markup=False)


@app.command()
def create(
    code: CodeArg,
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="The reseller's legal or trading name.")],
    parent: Annotated[str | None, typer.Option(help="Parent reseller's code, for a sub-reseller.")] = None,
    commission: Annotated[str, typer.Option(help="Commission in percent, e.g. 10 or 12.5 (exact).")] = "0",
    realm: Annotated[
        list[str] | None, typer.Option(help="A realm of its logins, e.g. northnet.example (repeat).")
    ] = None,
    strip_realm: Annotated[bool, typer.Option(help="Strip the realm before authenticating its logins.")] = False,
    brand_name: Annotated[str | None, typer.Option(help="Name shown on its portal and invoices.")] = None,
    logo_url: Annotated[str | None, typer.Option(help="https:// address of its logo.")] = None,
    primary_colour: Annotated[str | None, typer.Option(help="Hex colour, e.g. #0a7cff.")] = None,
    secondary_colour: Annotated[str | None, typer.Option(help="Hex colour.")] = None,
    support_email: Annotated[str | None, typer.Option(help="Support address shown to its subscribers.")] = None,
    support_phone: Annotated[str | None, typer.Option(help="Support phone shown to its subscribers.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a reseller: its books (chart of accounts), branding, commission and realms."""
    commission_bp = percent_bp(commission, "--commission")
    branding = resellers.Branding(
        name=brand_name,
        logo_url=logo_url,
        primary_colour=primary_colour,
        secondary_colour=secondary_colour,
        support_email=support_email,
        support_phone=support_phone,
    )

    async def job(conn: AsyncConnection) -> dict[str, Any]:
        await resellers.create_reseller(
            conn,
            code=code,
            name=name,
            parent=parent,
            branding=branding,
            commission_bp=commission_bp,
            realms=realm or (),
            strip_realm=strip_realm,
        )
        return await _details(conn, code)

    info = with_tenant(tenant, job)
    if as_json:
        print_json(info)
        return
    out.print(f"created reseller {code}", markup=False)
    _print(info)


@app.command()
def show(code: CodeArg, tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """Show a reseller: parent, commission, branding, realms and the plans it may sell."""
    info = with_tenant(tenant, lambda conn: _details(conn, code))
    if as_json:
        print_json(info)
    else:
        _print(info)


@app.command("list")
def list_(tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """List the tenant's resellers by code."""

    async def job(conn: AsyncConnection) -> list[dict[str, Any]]:
        # No list service for resellers yet: their ledger entities, bounded, then each one.
        codes = await conn.scalars(
            select(entities.c.code)
            .where(entities.c.kind == EntityKind.RESELLER.value)
            .order_by(entities.c.code)
            .limit(MAX_RESELLERS_LISTED)
        )
        return [await _details(conn, code) for code in codes.all()]

    found = with_tenant(tenant, job)
    if as_json:
        print_json(found)
        return
    table = Table("code", "name", "parent", "commission", "realms", "plans")
    for r in found:
        table.add_row(
            r["code"],
            escape(r["name"]),
            r["parent"] or "",
            _percent(r["commission_bp"]),
            ", ".join(r["realms"]),
            ", ".join(r["allowed_plans"]),
        )
    out.print(table if found else "no resellers yet: create one with `bureau reseller create CODE --name …`")


@app.command()
def allow(code: CodeArg, plan: PlanArg, tenant: TenantOpt) -> None:
    """Let a reseller sell a plan (a sub-reseller only what its parent sells)."""
    changed = with_tenant(tenant, lambda conn: resellers.allow_plan(conn, code, plan))
    out.print(f"reseller {code} {'may now sell' if changed else 'could already sell'} plan {plan}", markup=False)


@app.command()
def disallow(code: CodeArg, plan: PlanArg, tenant: TenantOpt) -> None:
    """Stop a reseller, and every sub-reseller below it, selling a plan (existing services keep it)."""
    changed = with_tenant(tenant, lambda conn: resellers.disallow_plan(conn, code, plan))
    out.print(f"reseller {code} {'no longer sells' if changed else 'did not sell'} plan {plan}", markup=False)


@app.command("add-realm")
def add_realm(
    realm: Annotated[str, typer.Argument(help="Realm, e.g. northnet.example (the part after @ in logins).")],
    tenant: TenantOpt,
    reseller: Annotated[str | None, typer.Option(help="Code of the reseller the realm belongs to.")] = None,
    isp: Annotated[bool, typer.Option("--isp", help="The realm belongs to the ISP itself.")] = False,
    strip_realm: Annotated[bool, typer.Option(help="Strip the realm before authenticating its logins.")] = False,
) -> None:
    """Register a realm for a reseller (--reseller CODE) or for the ISP itself (--isp)."""
    if (reseller is None) == (not isp):
        fail("say whose realm it is: --reseller CODE, or --isp for the ISP's own customers (one of them)")
    added = with_tenant(
        tenant, lambda conn: resellers.add_realm(conn, realm, reseller=reseller, strip_realm=strip_realm)
    )
    owner = f"reseller {reseller}" if reseller else "the ISP"
    out.print(f"realm {added.realm} registered for {owner}", markup=False)
