"""`bureau worker` (dramatiq worker processes) and `bureau worker dead-letters`."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.settings import load_settings
from bureau.runtime import database_url
from bureau.workers import app as worker_app
from bureau.workers.broker import BrokerUrlError, broker_kind
from bureau.workers.dead_letters import LIST_LIMIT, LIST_LIMIT_MAX, DeadLetter, list_dead_letters
from bureau.workers.fairness import TENANT_SLOTS, TENANT_SLOTS_MAX

from ._common import EXPECTED, fail, out, print_json, with_engine

PROCESSES_MAX = 64
THREADS_MAX = 256
SHUTDOWN_TIMEOUT_MS = 30_000

app = typer.Typer(
    help="Background workers (dramatiq): run them, see the messages that failed for good.",
    invoke_without_command=True,
)


@app.callback()
def run(
    ctx: typer.Context,
    processes: Annotated[
        int, typer.Option("--processes", "-p", min=1, max=PROCESSES_MAX, help="Worker processes.")
    ] = os.cpu_count() or 1,
    threads: Annotated[int, typer.Option("--threads", "-t", min=1, max=THREADS_MAX, help="Threads per process.")] = 8,
    queues: Annotated[
        list[str] | None, typer.Option("--queue", "-Q", help="Only consume this queue (repeat for more).")
    ] = None,
    tenant_slots: Annotated[
        int,
        typer.Option(min=1, max=TENANT_SLOTS_MAX, help="Messages of one tenant running at once, installation-wide."),
    ] = TENANT_SLOTS,
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="Also run the scheduler of recurring jobs.")
    ] = True,
) -> None:
    """Run worker processes for Bureau's actors until stopped (SIGINT or SIGTERM).

    The broker is BUREAU_BROKER_URL's (amqp:// RabbitMQ, redis:// Redis), or PostgreSQL
    on Bureau's database when it is unset.
    """
    if ctx.invoked_subcommand is not None:
        return
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    try:
        settings = load_settings()
        kind = broker_kind(settings.broker_url)
        with database_url(settings) as url:
            # The processes read the same settings; the URL is the embedded server's
            # when BUREAU_DATABASE_URL is unset, resolved once here for all of them.
            os.environ[worker_app.DATABASE_URL_VARIABLE] = url
            os.environ[worker_app.TENANT_SLOTS_VARIABLE] = str(tenant_slots)
            os.environ[worker_app.SCHEDULER_VARIABLE] = "1" if scheduler else "0"
            out.print(f"bureau worker: {processes} processes x {threads} threads on the {kind} broker")
            argv = [
                f"{worker_app.__name__}:start",
                "--processes",
                str(processes),
                "--threads",
                str(threads),
                "--worker-shutdown-timeout",
                str(SHUTDOWN_TIMEOUT_MS),
            ]
            if queues:
                argv += ["--queues", *queues]
            code = dramatiq_main(make_argument_parser().parse_args(argv))
    except (*EXPECTED, BrokerUrlError) as exc:
        fail(str(exc))
    raise typer.Exit(code or 0)


@app.command("dead-letters")
def dead_letters(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant's (slug).")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor's.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=LIST_LIMIT_MAX, help="At most this many, newest first.")
    ] = LIST_LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")] = False,
) -> None:
    """Messages that failed for good (retries exhausted, or a permanent failure)."""

    async def job(engine: AsyncEngine) -> list[DeadLetter]:
        return await list_dead_letters(engine, tenant_slug=tenant, actor_name=actor, limit=limit)

    letters = with_engine(job)
    if as_json:
        print_json([letter.__dict__ for letter in letters])
        return
    if not letters:
        out.print("no dead letters")
        return
    table = Table("failed at", "tenant", "actor", "message id", "attempts", "args", "error")
    for letter in letters:
        table.add_row(
            f"{letter.failed_at:%Y-%m-%d %H:%M:%S%z}",
            letter.tenant_slug or "-",
            letter.actor_name,
            letter.message_id,
            str(letter.attempts),
            _args(letter),
            letter.error,
        )
    out.print(table)


def _args(letter: DeadLetter) -> str:
    parts = [repr(a) for a in letter.args] + [f"{k}={v!r}" for k, v in letter.kwargs.items()]
    return ", ".join(parts)
