"""Assembling the worker side: the broker with Bureau's middleware, and the actors bound to it.

Middleware order matters. dramatiq runs `before_` hooks in list order and `after_` hooks
in reverse, so:
- `OutboxRelay` only starts the relay thread when a worker boots (`relay.py`);
- `TenantContext` comes next: the tenant is current for every other hook and the actor,
  and is cleared last;
- `CurrentMessage` (dramatiq's) makes the message known to the actor, which reads the
  outbox id the relay gave it (`relay.relayed_from`);
- `TenantFairness` comes next: a message without a free slot is deferred before any
  other work is done for it;
- `DeadLetters` sits just before `BoundedRetries`: its `after_` hook runs once Retries
  has decided whether the message failed for good.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    ShutdownNotifications,
    TimeLimit,
)

from bureau.platform.settings import Settings, load_settings

from . import actors as _actors  # noqa: F401 - declares Bureau's actors on the registry
from . import runtime
from .broker import PG_POLL_INTERVAL_S, make_broker
from .dead_letters import DeadLetters
from .fairness import DEFER_MAX_MS, DEFER_MIN_MS, TENANT_SLOTS, TenantFairness
from .registry import bind, declared
from .relay import SWEEP_S as RELAY_SWEEP_S
from .relay import OutboxRelay
from .retries import MAX_BACKOFF_MS, MAX_RETRIES, MIN_BACKOFF_MS, BoundedRetries
from .scheduler import TICK_S as SCHEDULER_TICK_S
from .scheduler import Scheduler
from .tenancy import TenantContext

# The variable `bureau worker` sets for its worker processes (the embedded database's
# URL when BUREAU_DATABASE_URL is unset, resolved once by the parent process).
DATABASE_URL_VARIABLE = "BUREAU_DATABASE_URL"
TENANT_SLOTS_VARIABLE = "BUREAU_WORKER_TENANT_SLOTS"
SCHEDULER_VARIABLE = "BUREAU_WORKER_SCHEDULER"  # "0": this pool runs no scheduler
IN_PROCESS_THREADS = 2  # `bureau up`: provisioning and the like, beside HTTP and RADIUS


@dataclass(frozen=True)
class Limits:
    """The worker's bounds; the defaults are for production, tests shorten them."""

    max_retries: int = MAX_RETRIES
    min_backoff_ms: int = MIN_BACKOFF_MS
    max_backoff_ms: int = MAX_BACKOFF_MS
    tenant_slots: int = TENANT_SLOTS
    defer_min_ms: int = DEFER_MIN_MS
    defer_max_ms: int = DEFER_MAX_MS
    pg_poll_interval_s: float = PG_POLL_INTERVAL_S
    relay_sweep_s: float = RELAY_SWEEP_S
    scheduler_tick_s: float = SCHEDULER_TICK_S


def middleware(database_url: str, limits: Limits, *, schedule: bool) -> list[Middleware]:
    scheduler = [Scheduler(database_url, runtime.run, runtime.close_thread, tick_s=limits.scheduler_tick_s)]
    return [
        *(scheduler if schedule else []),
        OutboxRelay(database_url, runtime.run, runtime.close_thread, sweep_s=limits.relay_sweep_s),
        runtime.ThreadEngines(),
        TenantContext(),
        CurrentMessage(),
        TenantFairness(
            database_url,
            slots=limits.tenant_slots,
            defer_min_ms=limits.defer_min_ms,
            defer_max_ms=limits.defer_max_ms,
        ),
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        DeadLetters(database_url),
        BoundedRetries(
            max_retries=limits.max_retries,
            min_backoff_ms=limits.min_backoff_ms,
            max_backoff_ms=limits.max_backoff_ms,
        ),
    ]


def build(
    broker_url: str | None,
    database_url: str,
    *,
    limits: Limits | None = None,
    namespace: str | None = None,
    extra_actors: Iterable[dramatiq.Actor[Any, Any]] = (),
    settings: Settings | None = None,
    schedule: bool = False,
) -> dramatiq.Broker:
    """Bureau's broker for `broker_url` (BUREAU_BROKER_URL), made the global one, with
    every declared actor (and `extra_actors`) bound to it; the actors run with
    `settings` (default: the environment's) on `database_url`. With `schedule`, the
    worker also runs the scheduler (`bureau worker` and `bureau up` do; tests choose)."""
    limits = limits or Limits()
    runtime.configure(database_url, settings or load_settings())
    broker = make_broker(
        broker_url,
        database_url=database_url,
        middleware=middleware(database_url, limits, schedule=schedule),
        namespace=namespace,
        pg_poll_interval_s=limits.pg_poll_interval_s,
    )
    bind(broker, [*declared(), *extra_actors])
    dramatiq.set_broker(broker)
    return broker


def start() -> None:
    """Entry point of each `bureau worker` process (dramatiq's `module:callable` broker)."""
    settings = load_settings()
    url = settings.database_url
    if not url:
        raise RuntimeError(f"{DATABASE_URL_VARIABLE} is not set: start workers with `bureau worker`")
    slots = os.environ.get(TENANT_SLOTS_VARIABLE)
    build(
        settings.broker_url,
        url,
        limits=Limits(tenant_slots=int(slots) if slots else TENANT_SLOTS),
        settings=settings,
        schedule=os.environ.get(SCHEDULER_VARIABLE, "1") != "0",
    )


def in_process(
    broker_url: str | None, database_url: str, settings: Settings, *, threads: int = IN_PROCESS_THREADS
) -> tuple[dramatiq.Broker, dramatiq.Worker]:
    """A broker and a started worker inside this process (`bureau up`); stop the worker,
    then close the broker, when done."""
    broker = build(broker_url, database_url, settings=settings, schedule=True)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    return broker, worker
