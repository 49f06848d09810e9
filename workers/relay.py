"""The outbox relay: messages written by platform services (`platform/outbox.py`) to the broker.

Every worker process runs one relay thread (`OutboxRelay`, started after the worker
boots). It waits on PostgreSQL's `bureau_outbox` notifications, which `outbox.enqueue`
sends with the tenant's id and which arrive only when the writing transaction commits,
and looks at every tenant's outbox every `SWEEP_S` as well, in case a notification was
missed (a relay that was down, a dropped connection). A tenant's messages are claimed
(`FOR UPDATE SKIP LOCKED`: relays in other processes skip them), sent for the tenant
and marked sent in one transaction, so a crash between sending and committing sends a
message twice (actors are idempotent), never zero times. Each message carries its outbox
id (message option `outbox_id`), so that an actor can record what became of it under
that id (`relayed_from`; provisioning jobs do, `platform/provisioning/jobs.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage, Middleware
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform import outbox
from bureau.tenants.lifecycle import list_tenants
from bureau.tenants.routing import TenantRef, tenant_unit

from .database import connect
from .tenancy import tenant_options

SWEEP_S = 30.0
WAIT_S = 1.0  # how long one wait for a notification lasts (so a stop is seen soon)
RELAY_ACTOR = "outbox-relay"
OUTBOX_ID = "outbox_id"  # message option: the id of the outbox row the message was relayed from

log = logging.getLogger(__name__)

Send = Callable[[outbox.Message, TenantRef], None]


def broker_sender(broker: dramatiq.Broker) -> Send:
    """Send a relayed message to `broker`'s actor of that name, for the tenant, with its outbox id."""

    def send(message: outbox.Message, tenant: TenantRef) -> None:
        options: dict[str, Any] = {**tenant_options(tenant), OUTBOX_ID: message.id}
        broker.get_actor(message.actor).send_with_options(kwargs=dict(message.args), **options)

    return send


def relayed_from() -> int | None:
    """The outbox id of the message this thread is running (the `CurrentMessage`
    middleware's); None outside a message, or for one not relayed from an outbox."""
    message = CurrentMessage.get_current_message()
    found = message.options.get(OUTBOX_ID) if message is not None else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


async def relay_tenant(engine: AsyncEngine, tenant: TenantRef, send: Send) -> int:
    """Send the tenant's unsent messages; how many were sent."""
    async with tenant_unit(engine, tenant, actor=RELAY_ACTOR) as conn:
        messages = await outbox.claim(conn)
        for message in messages:
            send(message, tenant)
        await outbox.mark_sent(conn, messages)
    return len(messages)


async def relay_all(engine: AsyncEngine, send: Send, only: set[int] | None = None) -> int:
    """Relay every active tenant's outbox (or only the tenants with these ids)."""
    sent = 0
    for tenant in await list_tenants(engine):
        if tenant.status == "active" and (only is None or tenant.id in only):
            try:
                sent += await relay_tenant(engine, tenant.ref, send)
            except Exception:  # one tenant's trouble must not hold up the others' messages
                log.exception(
                    "could not relay the outbox of tenant %s; its messages wait for the next pass", tenant.slug
                )
    return sent


class OutboxRelay(Middleware):
    """Runs the relay on a thread of each worker process."""

    def __init__(
        self, database_url: str, run: Callable[..., Any], close: Callable[[], None], *, sweep_s: float = SWEEP_S
    ) -> None:
        self.database_url = database_url
        self.run = run  # `runtime.run`: the job on this thread's loop and engine
        self.close = close  # `runtime.close_thread`
        self.sweep_s = sweep_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(broker,), name="outbox-relay", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=WAIT_S * 5)

    def _loop(self, broker: dramatiq.Broker) -> None:
        send = broker_sender(broker)
        try:
            while not self._stop.is_set():
                try:
                    self._listen(send)
                except Exception:
                    log.exception("the outbox relay failed; starting again in %.0f s", WAIT_S)
                    self._stop.wait(WAIT_S)
        finally:
            self.close()

    def _listen(self, send: Send) -> None:
        with connect(self.database_url) as listener:
            listener.execute(f"LISTEN {outbox.CHANNEL}")
            self.run(lambda engine: relay_all(engine, send))
            swept = time.monotonic()
            while not self._stop.is_set():
                woken = {int(n.payload) for n in listener.notifies(timeout=WAIT_S) if n.payload.isdigit()}
                only: set[int] | None = woken
                if time.monotonic() - swept >= self.sweep_s:
                    only, swept = None, time.monotonic()
                elif not woken:
                    continue
                self.run(lambda engine, only=only: relay_all(engine, send, only))
