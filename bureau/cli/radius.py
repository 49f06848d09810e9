"""`bureau radius` (the listeners), `bureau nas …` (RADIUS clients), `bureau session …`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.crypto.keys import radius_class_key, secret_box
from bureau.platform.db.engine import create_engine
from bureau.platform.ledger.entities import isp_entity
from bureau.platform.money import format_amount
from bureau.platform.nas import downstream, registry
from bureau.platform.sessions.control import live_sessions
from bureau.platform.settings import Settings, load_settings
from bureau.radius_proxy import gc_tuning
from bureau.radius_proxy.admin import SessionNotLive, disconnect_session
from bureau.radius_proxy.server import RadiusServer
from bureau.runtime import database_url
from bureau.tenants import lifecycle

from ._common import EXPECTED, fail, out, print_json, with_engine, with_tenant
from .customers import PasswordStdin, read_password

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]

nas_app = typer.Typer(help="The NAS (RADIUS clients) of a tenant.", no_args_is_help=True)
session_app = typer.Typer(help="RADIUS sessions.", no_args_is_help=True)


def radius_server(engine: AsyncEngine, settings: Settings) -> RadiusServer:
    return RadiusServer(
        engine,
        secret_box(settings),
        radius_class_key(settings),
        host=settings.radius_host,
        auth_port=settings.radius_auth_port,
        acct_port=settings.radius_acct_port,
        dictionaries=[Path(p) for p in settings.radius_dictionaries.split(":") if p],
    )


def radius() -> None:
    """Run the RADIUS authentication and accounting listeners (the database must be migrated)."""
    try:
        settings = load_settings()
        with database_url(settings) as url:
            asyncio.run(_run(url, settings))
    except EXPECTED as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        out.print("RADIUS stopped")


async def _run(url: str, settings: Settings) -> None:
    engine = create_engine(url)
    server = radius_server(engine, settings)
    await server.start()
    gc_tuning.quieten()
    out.print(
        f"RADIUS is up on {settings.radius_host}: auth {server.ports['auth']}, accounting {server.ports['acct']}; "
        f"{len(server.nas)} NAS known (Ctrl-C stops it)"
    )
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        await server.stop()
        await engine.dispose()


def _nas_dict(nas: registry.NasClient) -> dict[str, Any]:
    return {
        "name": nas.name,
        "address": nas.address,
        "nas_identifier": nas.nas_identifier,
        "type": nas.nas_type,
        "coa_port": nas.coa_port,
        "require_message_authenticator": nas.require_message_authenticator,
        "limit_proxy_state": nas.limit_proxy_state,
    }


@nas_app.command("add")
def nas_add(
    name: Annotated[str, typer.Argument(help="A name for the NAS, unique in the tenant.")],
    tenant: TenantOpt,
    address: Annotated[str, typer.Option(help="Its IP address, or a network such as 192.0.2.0/24.")],
    nas_type: Annotated[str, typer.Option("--type", help=f"One of {', '.join(registry.NAS_TYPES)}.")] = "other",
    nas_identifier: Annotated[str | None, typer.Option(help="The NAS-Identifier it sends, if any.")] = None,
    coa_port: Annotated[int, typer.Option(min=1, max=65535, help="Its CoA/Disconnect port.")] = 3799,
    legacy: Annotated[
        bool,
        typer.Option(
            "--legacy",
            help="Accept Access-Requests without Message-Authenticator (only if it has no Proxy-State). "
            "Weakens the BlastRADIUS defence: only for a NAS that cannot send it.",
        ),
    ] = False,
    secret_stdin: PasswordStdin = False,
    as_json: JsonFlag = False,
) -> None:
    """Register a NAS; its shared secret is read from a hidden prompt or stdin, never an argument."""
    secret = read_password(secret_stdin)

    async def job(conn: AsyncConnection) -> registry.NasClient:
        return await registry.add_nas(
            conn,
            secret_box(load_settings()),
            name=name,
            address=address,
            secret=secret,
            nas_identifier=nas_identifier,
            nas_type=nas_type,
            coa_port=coa_port,
            require_message_authenticator=not legacy,
            limit_proxy_state=True,
        )

    made = with_tenant(tenant, job)
    if as_json:
        print_json(_nas_dict(made))
        return
    out.print(f"NAS {made.name} at {made.address} registered (the running RADIUS server picks it up within 30 s)")


@nas_app.command("list")
def nas_list(tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """The tenant's NAS."""
    found = with_tenant(tenant, registry.list_nas)
    if as_json:
        print_json([_nas_dict(n) for n in found])
        return
    table = Table("name", "address", "type", "CoA port", "Message-Authenticator")
    for n in found:
        table.add_row(
            n.name, n.address, n.nas_type, str(n.coa_port), "required" if n.require_message_authenticator else "legacy"
        )
    out.print(table)


@nas_app.command("remove")
def nas_remove(name: Annotated[str, typer.Argument()], tenant: TenantOpt) -> None:
    """Remove a NAS: its datagrams are dropped from then on."""

    async def job(conn: AsyncConnection) -> None:
        await registry.remove_nas(conn, name)

    with_tenant(tenant, job)
    out.print(f"NAS {name} removed")


@session_app.command("list")
def session_list(
    tenant: TenantOpt,
    login: Annotated[str | None, typer.Option(help="Only this RADIUS login's sessions.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Sessions online now."""

    async def job(conn: AsyncConnection) -> Any:
        return await live_sessions(conn, login=login), (await isp_entity(conn)).currency

    found, currency = with_tenant(tenant, job)
    if as_json:
        print_json(
            [
                {
                    "id": s.id,
                    "login": s.login,
                    "state": s.state,
                    "acct_session_id": s.acct_session_id,
                    "started_at": s.started_at.isoformat() if s.started_at else None,
                    "seconds": s.seconds,
                    "octets_in": s.octets_in,
                    "octets_out": s.octets_out,
                    "charged_micros": s.charged_micros,
                    "reserved_micros": s.reserved_micros,
                    "disconnect_requested": s.disconnect_requested,
                }
                for s in found
            ]
        )
        return
    table = Table("id", "login", "state", "session", "seconds", "octets in/out", "charged", "reserved")
    for s in found:
        table.add_row(
            str(s.id),
            s.login,
            s.state,
            s.acct_session_id or "",
            str(s.seconds),
            f"{s.octets_in}/{s.octets_out}",
            format_amount(s.charged_micros, currency, precise=True),
            format_amount(s.reserved_micros, currency, precise=True),
        )
    out.print(table)


@session_app.command("disconnect")
def session_disconnect(
    session_id: Annotated[int, typer.Argument(help="The session's id (bureau session list).")],
    tenant: TenantOpt,
) -> None:
    """Ask the NAS to end a session (RFC 5176 Disconnect-Request); exit 1 unless it acknowledges."""

    async def job(engine: AsyncEngine) -> str:
        found = await lifecycle.get_tenant(engine, tenant)
        try:
            return await disconnect_session(engine, secret_box(load_settings()), found.ref, session_id)
        except SessionNotLive as exc:
            fail(str(exc))

    answer = with_engine(job)
    out.print(f"session {session_id}: the NAS answered {answer}")
    if answer != "ack":
        raise typer.Exit(1)


proxy_app = typer.Typer(help="Realms proxied to an ISP's own RADIUS servers (wholesale).", no_args_is_help=True)


@proxy_app.command("add")
def proxy_add(
    realm: Annotated[str, typer.Argument(help="A realm of the tenant, e.g. acme.example.")],
    tenant: TenantOpt,
    host: Annotated[str, typer.Option(help="The downstream server's IP address.")],
    auth_port: Annotated[int, typer.Option(min=1, max=65535)] = 1812,
    acct_port: Annotated[int, typer.Option(min=1, max=65535)] = 1813,
    secret_stdin: PasswordStdin = False,
) -> None:
    """Add a downstream server for a realm (tried in the order added); secret from a prompt or stdin."""
    secret = read_password(secret_stdin)

    async def job(conn: AsyncConnection) -> downstream.Downstream:
        return await downstream.add_downstream(
            conn, secret_box(load_settings()), realm=realm, host=host, secret=secret, auth_port=auth_port,
            acct_port=acct_port,
        )  # fmt: skip

    made = with_tenant(tenant, job)
    out.print(
        f"realm {made.realm}: server {made.position + 1} is {made.host} (auth {made.auth_port}, acct {made.acct_port})"
    )


@proxy_app.command("list")
def proxy_list(realm: Annotated[str, typer.Argument()], tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """A realm's downstream servers, in failover order."""

    async def job(conn: AsyncConnection) -> list[downstream.Downstream]:
        return await downstream.list_downstream(conn, realm)

    found = with_tenant(tenant, job)
    rows = [{"host": d.host, "auth_port": d.auth_port, "acct_port": d.acct_port, "position": d.position} for d in found]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        out.print(f"{row['position']}: {row['host']} auth {row['auth_port']} acct {row['acct_port']}")


@proxy_app.command("remove")
def proxy_remove(
    realm: Annotated[str, typer.Argument()], tenant: TenantOpt, host: Annotated[str, typer.Option()]
) -> None:
    """Stop proxying a realm to one server."""

    async def job(conn: AsyncConnection) -> None:
        await downstream.remove_downstream(conn, realm, host)

    with_tenant(tenant, job)
    out.print(f"realm {realm}: {host} removed")
