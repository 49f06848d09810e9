"""`bureau target …` and `bureau provision`: export targets and exporting to them (docs/provisioning.md)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.crypto.keys import secret_box
from bureau.platform.provisioning import export, targets
from bureau.platform.provisioning import reconcile as reconciliation
from bureau.platform.provisioning.targets import Target
from bureau.platform.settings import exports_root, load_settings

from ._common import fail, out, print_json, with_tenant

app = typer.Typer(help="Export targets: where a tenant's services are provisioned.", no_args_is_help=True)

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
NameArg = Annotated[str, typer.Argument(help="Target name (lower-case letters, digits, _ and -).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]
SHOWN_FINDINGS = 20


def _target_dict(target: Target) -> dict[str, Any]:
    return {
        "name": target.name,
        "format": target.format,
        "options": dict(target.options),
        "folder": target.folder,
        "enabled": target.enabled,
        "on_unbilled": target.on_unbilled.value,
    }


def _options(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--options: not JSON ({exc.msg} at character {exc.pos})")
    if not isinstance(value, dict):
        fail("--options: must be a JSON object such as '{\"gid\": 100}'")
    return value


def _read_secret() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail("--secret-stdin: no secret on standard input (one line)")
    return line


@app.command("add")
def add(
    name: NameArg,
    tenant: TenantOpt,
    format_name: Annotated[
        str,
        typer.Option(
            "--format",
            help="Files: unix, bsd, erpcd, radius_users, sendmail, qmail, postfix, bind; "
            "synchronised: ldap, radius_sql, command, webhook.",
        ),
    ],
    options: Annotated[str, typer.Option(help="The format's options as a JSON object.")] = "{}",
    folder: Annotated[
        str | None, typer.Option(help="Folder under the tenant's exports root (default: the name).")
    ] = None,
    on_unbilled: Annotated[str, typer.Option(help="remove or flag accounts billing does not know.")] = "remove",
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin", help="Read the target's secret (bind password, webhook signing key) from stdin."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Configure an export target."""
    parsed = _options(options)
    secret = _read_secret() if secret_stdin else None
    box = secret_box(load_settings()) if secret is not None else None
    target = with_tenant(
        tenant,
        lambda conn: targets.add_target(
            conn, name, format_name, parsed, folder=folder, on_unbilled=on_unbilled, secret=secret, box=box
        ),
    )
    if as_json:
        print_json(_target_dict(target))
    else:
        out.print(f"target {target.name} ({target.format}) writes to {target.folder}/")


@app.command("list")
def list_(tenant: TenantOpt, as_json: JsonFlag = False) -> None:
    """The tenant's export targets."""
    found = with_tenant(tenant, targets.list_targets)
    if as_json:
        print_json([_target_dict(t) for t in found])
        return
    for t in found:
        state = "enabled" if t.enabled else "disabled"
        out.print(f"{t.name}\t{t.format}\t{t.folder}/\t{state}\ton unbilled: {t.on_unbilled.value}")


@app.command("enable")
def enable(name: NameArg, tenant: TenantOpt) -> None:
    """Export to this target again."""
    with_tenant(tenant, lambda conn: targets.set_target_enabled(conn, name, True))
    out.print(f"target {name} enabled")


@app.command("disable")
def disable(name: NameArg, tenant: TenantOpt) -> None:
    """Stop exporting to this target (its files stay)."""
    with_tenant(tenant, lambda conn: targets.set_target_enabled(conn, name, False))
    out.print(f"target {name} disabled")


@app.command("remove")
def remove(name: NameArg, tenant: TenantOpt) -> None:
    """Forget a target and its run history (its files stay)."""
    with_tenant(tenant, lambda conn: targets.remove_target(conn, name))
    out.print(f"target {name} removed")


def provision(
    tenant: TenantOpt,
    target: Annotated[str | None, typer.Option(help="Only this target (default: every enabled one).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change; write nothing.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Export the tenant's services to its targets now, from the current state."""
    settings = load_settings()
    box = secret_box(settings)
    root = exports_root(settings, tenant)
    commands = settings.provisioning_commands

    async def job(conn: AsyncConnection) -> list[export.Exported]:
        if target is not None:
            return [await export.export_target(conn, box, root, target, dry_run=dry_run, commands_dir=commands)]
        if dry_run:
            enabled = await targets.list_targets(conn, enabled_only=True)
            return [
                await export.export_target(conn, box, root, t.name, dry_run=True, commands_dir=commands)
                for t in enabled
            ]
        return await export.export_all(conn, box, root, commands_dir=commands)

    results: list[export.Exported] = with_tenant(tenant, job)
    if as_json:
        print_json(
            [
                {"target": r.target, "accounts": r.accounts, "changed": r.changed, "removed": r.removed, "diff": r.diff}
                for r in results
            ]
        )
        return
    for r in results:
        if r.diff is not None:
            out.print(
                f"[bold]{r.target}[/bold]: {r.accounts} accounts; " + ("no change" if not r.diff else "would change:")
            )
            if r.diff:
                typer.echo(r.diff, nl=False)
        else:
            what = ", ".join(r.changed + tuple(f"{n} (removed)" for n in r.removed)) or "nothing changed"
            out.print(f"[bold]{r.target}[/bold]: {r.accounts} accounts; {what}")


def reconcile(
    tenant: TenantOpt,
    fix: Annotated[bool, typer.Option("--fix", help="Export again where a target's policy allows.")] = False,
    last: Annotated[
        bool, typer.Option("--last", help="Show the latest stored runs (the nightly job's) instead of running.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Compare what each target holds with what is billed (and open RADIUS sessions with
    service states); exits 1 when anything differs and was not fixed."""
    if last:
        _show_last(tenant, as_json)
        return
    settings = load_settings()
    box, root = secret_box(settings), exports_root(settings, tenant)
    results: list[reconciliation.Reconciled] = with_tenant(
        tenant,
        lambda conn: reconciliation.reconcile_all(
            conn, box, root, fix=fix, commands_dir=settings.provisioning_commands
        ),
    )
    if as_json:
        print_json(
            [
                {
                    "subject": r.subject,
                    "fixed": r.fixed,
                    "note": r.note,
                    "findings": [f.as_json() for f in r.findings],
                }
                for r in results
            ]
        )
    else:
        for r in results:
            state = "matches billing" if r.clean else f"{len(r.findings)} finding(s)" + (", fixed" if r.fixed else "")
            out.print(f"[bold]{r.subject}[/bold]: {state}" + (f" ({r.note})" if r.note else ""))
            _print_findings(r.findings)
    if any(not r.clean and not r.fixed for r in results):
        raise typer.Exit(1)


def _print_findings(findings: tuple[reconciliation.Found, ...]) -> None:
    for f in findings[:SHOWN_FINDINGS]:
        out.print(f"  {f.finding.value}: {f.key}" + (f"  {f.detail}" if f.detail else ""))
    if len(findings) > SHOWN_FINDINGS:
        out.print(f"  … and {len(findings) - SHOWN_FINDINGS} more (--json shows all)")


def _show_last(tenant: str, as_json: bool) -> None:
    runs: list[reconciliation.StoredRun] = with_tenant(tenant, reconciliation.last_reconciliations)
    if as_json:
        print_json(
            [
                {
                    "subject": r.subject,
                    "ran_at": r.ran_at.isoformat(),
                    "missing": r.missing,
                    "unbilled": r.unbilled,
                    "differing": r.differing,
                    "fixed": r.fixed,
                    "note": r.note,
                    "findings": [f.as_json() for f in r.findings],
                }
                for r in runs
            ]
        )
        return
    if not runs:
        out.print("no reconciliation has run yet")
    for r in runs:
        counts = f"{r.missing} missing, {r.unbilled} unbilled, {r.differing} differing"
        fixed = ", fixed" if r.fixed else ""
        out.print(f"[bold]{r.subject}[/bold] at {r.ran_at:%Y-%m-%d %H:%M} UTC: {counts}{fixed}")
        _print_findings(r.findings)
