"""`bureau apikey …`: API keys for the GraphQL API (docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from bureau.tenants import apikeys

from ._common import actor, out, print_json, with_engine

app = typer.Typer(help="API keys for the GraphQL API: create, list, revoke.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]


def _as_dict(key: apikeys.ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scope": key.scope.value,
        "role": key.role.value,
        "tenant": key.tenant,
        "reseller_id": key.reseller_id,
        "created_by": key.created_by,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@app.command()
def create(
    name: Annotated[str, typer.Option(help="What uses the key, e.g. 'billing system'.")],
    scope: Annotated[str, typer.Option(help="operator, isp or reseller.")],
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant slug (isp and reseller keys).")] = None,
    reseller: Annotated[str | None, typer.Option(help="Reseller code (reseller keys).")] = None,
    role: Annotated[str, typer.Option(help="admin, care, finance or read_only.")] = "admin",
    as_json: JsonFlag = False,
) -> None:
    """Make a key. The key itself is printed once and stored only as a digest: keep it."""
    made = with_engine(
        lambda e: apikeys.create_api_key(
            e, name=name, scope=scope, role=role, tenant=tenant, reseller=reseller, actor=actor()
        )
    )
    if as_json:
        print_json(_as_dict(made.key) | {"token": made.token})
        return
    where = f" of tenant {made.key.tenant}" if made.key.tenant else ""
    out.print(f"{made.key.scope.value} key {made.key.key_id} ({made.key.role.value}){where}:")
    out.print(made.token, soft_wrap=True)
    out.print("Send it as `Authorization: Bearer <key>`. It is not shown again.")


@app.command("list")
def list_(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant's keys.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Keys, newest first (never the keys themselves)."""
    keys = with_engine(lambda e: apikeys.list_api_keys(e, tenant=tenant))
    if as_json:
        print_json([_as_dict(k) for k in keys])
        return
    table = Table("key id", "name", "scope", "role", "tenant", "last used", "revoked")
    for k in keys:
        table.add_row(
            k.key_id,
            k.name,
            k.scope.value,
            k.role.value,
            k.tenant or "",
            k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never",
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        )
    out.print(table)


@app.command()
def revoke(key_id: Annotated[str, typer.Argument(help="The key id `bureau apikey list` shows.")]) -> None:
    """Revoke a key: the next request with it is refused."""
    key = with_engine(lambda e: apikeys.revoke_api_key(e, key_id, actor=actor()))
    out.print(f"key {key.key_id} ({key.name}) revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
