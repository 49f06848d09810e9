"""The ASGI application: assembles the HTTP surfaces: /healthz, /metrics, /graphql (docs/api.md)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route

import bureau
from bureau.graphql.app import graphql_routes
from bureau.graphql.billing.invoice_links import invoice_pdf_route
from bureau.graphql.context import Disconnect
from bureau.platform.crypto.keys import secret_box
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.db.engine import create_engine
from bureau.platform.settings import SettingsError, load_settings
from bureau.radius_proxy import gc_tuning
from bureau.radius_proxy.admin import SessionNotLive, disconnect_session
from bureau.tenants.events import ChangeFeed
from bureau.tenants.routing import TenantRef


async def healthz(request: Request) -> JSONResponse:
    """Liveness and database reachability, for load balancers and `bureau up` users."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # reported, not raised: this endpoint exists to say so
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__, "version": bureau.__version__},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "version": bureau.__version__})


async def metrics(request: Request) -> PlainTextResponse:
    """Counters in the Prometheus text format, from every part that runs in this process."""
    sources: list[Callable[[], str]] = request.app.state.metrics
    return PlainTextResponse("".join(source() for source in sources), media_type="text/plain; version=0.0.4")


def _disconnector(engine: AsyncEngine, box: SecretBox) -> Disconnect:
    """The API's Disconnect: the RADIUS side's, None for a session that is not live."""

    async def disconnect(tenant: TenantRef, session_id: int) -> str | None:
        try:
            return await disconnect_session(engine, box, tenant, session_id)
        except SessionNotLive:
            return None

    return disconnect


def create_app(
    engine: AsyncEngine,
    *,
    metrics_sources: Sequence[Callable[[], str]] = (),
    introspection: bool = True,
    box: SecretBox | None = None,
    owns_engine: bool = False,
) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.engine = engine
        app.state.metrics = list(metrics_sources)
        yield
        await changes.close()
        if owns_engine:
            await engine.dispose()

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics), invoice_pdf_route(engine, box)]
    disconnect = _disconnector(engine, box) if box is not None else None
    changes = ChangeFeed(engine)  # connects at the first subscription
    routes.extend(graphql_routes(engine, introspection=introspection, box=box, disconnect=disconnect, changes=changes))
    return Starlette(routes=routes, lifespan=lifespan)


def from_environment() -> Starlette:
    """The app of one process of `bureau serve --workers N`, which uvicorn's supervisor
    starts by this name: its settings come from the environment the parent set, with the
    database URL the parent resolved (the embedded database's is known only at run time)."""
    settings = load_settings()
    if settings.database_url is None:
        raise SettingsError("BUREAU_DATABASE_URL must be set for an HTTP worker process")
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(
        create_engine(settings.database_url),
        introspection=settings.graphql_introspection,
        box=secret_box(settings),
        owns_engine=True,
    )
    gc_tuning.quieten()
    return app
