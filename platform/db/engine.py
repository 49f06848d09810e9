"""The one place that turns a database URL into an async SQLAlchemy engine."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POOL_SIZE = 10
MAX_OVERFLOW = 10
POOL_TIMEOUT_S = 30
POOL_RECYCLE_S = 1800


def async_url(url: str) -> str:
    """`postgresql://…` (libpq style, as people write it) to the asyncpg dialect."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"database URL {parsed.render_as_string()!r} is not PostgreSQL")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = POOL_SIZE) -> AsyncEngine:
    """An asyncpg engine; `url` may use `?host=/socket/dir` for a Unix socket."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_S,
        # No pre-ping: with asyncpg it costs BEGIN, a ping and ROLLBACK (3 round trips)
        # on every checkout, about 14% of a one-entry posting (docs/benchmarks.md). A
        # connection the server dropped fails its statement instead, SQLAlchemy then
        # invalidates the pool, and the caller's transaction is retried or reported.
        pool_pre_ping=False,
        pool_recycle=POOL_RECYCLE_S,
    )
