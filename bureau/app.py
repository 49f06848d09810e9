"""The ASGI application: assembles the HTTP surfaces (more come with later issues)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import bureau


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


def create_app(engine: AsyncEngine) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.engine = engine
        yield

    return Starlette(routes=[Route("/healthz", healthz)], lifespan=lifespan)
