"""Synchronous PostgreSQL connections for the worker side (psycopg).

dramatiq runs actors and middleware on plain threads, so the bookkeeping done there
(dead letters, fair-share slots) uses psycopg directly rather than the asyncio engine.
"""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import make_url

APPLICATION_NAME = "bureau-worker"
CONNECT_TIMEOUT_S = 10


def conninfo(database_url: str) -> str:
    """A libpq URL for Bureau's database URL (which may name the asyncpg driver)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"database URL {url.render_as_string()!r} is not PostgreSQL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def connect(database_url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection; each statement is its own transaction."""
    return psycopg.connect(
        conninfo(database_url),
        autocommit=True,
        application_name=APPLICATION_NAME,
        connect_timeout=CONNECT_TIMEOUT_S,
    )
