"""`bureau import …`: bulk registration from files (all or nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.crypto.keys import secret_box
from bureau.platform.settings import SettingsError, load_settings
from bureau.platform.subscribers.importing import MAX_BYTES, ImportFailed, ImportReport, import_subscribers
from bureau.tenants import lifecycle, routing

from ._common import actor, err, fail, out, print_json, with_engine

app = typer.Typer(help="Register accounts in bulk from a file: all rows or none.", no_args_is_help=True)

PROGRESS_FROM_ROWS = 200  # smaller files finish before a bar is worth drawing


def _report_dict(report: ImportReport, tenant: str) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "ok": report.ok,
        "dry_run": report.dry_run,
        "rows": report.rows,
        "valid": report.valid,
        "created": report.created,
        "errors_total": report.errors_total,
        "errors": [{"line": e.line, "field": e.field, "message": e.message} for e in report.errors],
    }


@app.command()
def subscribers(
    file: Annotated[Path, typer.Argument(help="CSV file, header on line 1 (columns: see docs/subscribers.md).")],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row, write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Create a customer and a RADIUS login per CSV row; any bad row and nothing is written."""
    if not file.is_file():
        fail(f"{file}: no such file")
    if file.stat().st_size > MAX_BYTES:
        fail(f"{file} is larger than {MAX_BYTES // (1024 * 1024)} MB; split it")
    try:
        text = file.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often write a BOM
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text; save it as CSV UTF-8")
    try:
        box = secret_box(load_settings())
    except SettingsError as exc:
        fail(str(exc))
    rows_hint = text.count("\n")
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=as_json or rows_hint < PROGRESS_FROM_ROWS,
    ) as bar:
        task = bar.add_task("rows", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def job(engine: AsyncEngine) -> ImportReport:
            found = await lifecycle.get_tenant(engine, tenant)
            async with routing.tenant_unit(engine, found.ref, actor=actor()) as conn:
                return await import_subscribers(conn, box, text, dry_run=dry_run, progress=advance)

        try:
            report = with_engine(job, own=(ImportFailed,))
        except ImportFailed as exc:
            report = exc.report
    if as_json:
        print_json(_report_dict(report, tenant))
    else:
        _print(report, file)
    if not report.ok:
        raise typer.Exit(1)


def _print(report: ImportReport, file: Path) -> None:
    for error in report.errors:
        out.print(f"{file}: {error}", markup=False)
    if report.errors_total > len(report.errors):
        out.print(f"… and {report.errors_total - len(report.errors)} more errors", markup=False)
    if not report.ok:
        out.print(
            f"[red]refused:[/red] {report.errors_total} error(s) in {report.rows} row(s); nothing was written. "
            "Fix the lines above and run the import again."
        )
    elif report.dry_run:
        out.print(f"dry run: {report.rows} row(s), all {report.valid} valid; nothing was written")
    else:
        out.print(f"imported {report.created} customer(s) with their logins from {report.rows} row(s)")
