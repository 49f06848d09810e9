"""Running the platform's async services from dramatiq's worker threads.

dramatiq runs actors on plain threads. Each thread gets its own event loop and a small
engine (one connection) the first time it needs one and keeps them, so an actor costs a
checkout, not a new connection. The database URL and the settings are the worker's,
set once by `configure` when the worker's broker is built.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import dramatiq
from dramatiq.middleware import Middleware
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.db.engine import create_engine
from bureau.platform.settings import Settings

T = TypeVar("T")
POOL_SIZE = 1


@dataclass(frozen=True)
class Runtime:
    database_url: str
    settings: Settings


_runtime: Runtime | None = None
_local = threading.local()


class NotConfigured(RuntimeError):
    """An actor ran before the worker was configured (`configure`)."""


def configure(database_url: str, settings: Settings) -> None:
    global _runtime
    _runtime = Runtime(database_url, settings)


def runtime() -> Runtime:
    if _runtime is None:
        raise NotConfigured("the worker runtime is not configured: build the broker with bureau.workers.app.build()")
    return _runtime


def run(job: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `job(engine)` to completion on this thread's event loop."""
    config = runtime()
    state: tuple[asyncio.AbstractEventLoop, AsyncEngine, str] | None = getattr(_local, "state", None)
    if state is None or state[2] != config.database_url:
        loop = asyncio.new_event_loop()
        state = (loop, create_engine(config.database_url, pool_size=POOL_SIZE), config.database_url)
        _local.state = state
    loop, engine, _ = state
    return loop.run_until_complete(job(engine))


class ThreadEngines(Middleware):
    """Closes each worker thread's engine and loop when the thread stops."""

    def before_worker_thread_shutdown(self, broker: dramatiq.Broker, thread: threading.Thread) -> None:
        close_thread()


def close_thread() -> None:
    """Dispose of this thread's engine and loop (at worker shutdown)."""
    state = getattr(_local, "state", None)
    if state is not None:
        loop, engine, _ = state
        loop.run_until_complete(engine.dispose())
        loop.close()
        _local.state = None
