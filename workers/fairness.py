"""Fair sharing between tenants: at most N messages of one tenant run at once.

Why this design: one ISP's bulk work (a bill run, a provisioning export for thousands
of accounts) arrives as a burst of messages on the same queues as everyone else's. With
plain FIFO queues, a burst of 10,000 messages from tenant A sits in front of tenant B's
one message, and B waits until A's burst is done. So each tenant gets `slots` (default
TENANT_SLOTS) concurrent messages across the whole installation; a message whose tenant
has no free slot is not run but deferred: put back on its queue with a short delay
(growing with each deferral, capped), the way dramatiq's own retries requeue. Worker
threads therefore spend their time on tenants that have free slots, and B's message is
reached as soon as the consumer gets to it, a few milliseconds per deferred message of A
ahead of it instead of A's whole run time.

Slots are PostgreSQL session-level advisory locks (`pg_try_advisory_lock`), one key per
(tenant, slot), held by the worker thread's own connection while the actor runs. They
work the same with every broker and across every worker process, and a worker that dies
releases its slots with its connection, so no slot is ever leaked. Costs: one
connection per worker thread, and one to `slots` short statements to take a slot plus
one to give it back, for tenant messages only (platform-wide messages are not limited).

The limit is per tenant, not per queue. A waiting message costs one requeue per
deferral delay (at most DEFER_MAX_MS), which bounds the churn of a large backlog.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import dramatiq
import psycopg
from dramatiq.middleware import Middleware, SkipMessage

from .database import connect
from .tenancy import tenant_of

TENANT_SLOTS = 4  # messages of one tenant running at once, installation-wide
TENANT_SLOTS_MAX = 64
DEFER_MIN_MS = 200  # first deferral; doubles with each one, with jitter
DEFER_MAX_MS = 30_000
DEFER_EXPONENT_MAX = 16
DEFERRALS = "deferrals"  # message option: how often the message waited for a slot
# Advisory-lock key space (two int4 keys): the first is this class, the second
# tenant id * TENANT_SLOTS_MAX + slot, wrapped to int4 (distinct for ids below 2**25).
LOCK_CLASS = 0x4255_4653  # "BUFS"

log = logging.getLogger(__name__)


def slot_key(tenant_id: int, slot: int) -> int:
    """The second advisory-lock key of a tenant's slot, as a signed int4."""
    key = (tenant_id * TENANT_SLOTS_MAX + slot) % 2**32
    return key - 2**32 if key >= 2**31 else key


def defer_delay_ms(deferrals: int, *, min_ms: int = DEFER_MIN_MS, max_ms: int = DEFER_MAX_MS) -> int:
    """How long a message waits before its next try for a slot: exponential, jittered, capped."""
    base = min_ms * 2 ** min(deferrals, DEFER_EXPONENT_MAX)
    return int(min(base, max_ms) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security


class TenantFairness(Middleware):
    """Defers a tenant's message while that tenant already has `slots` messages running."""

    def __init__(
        self,
        database_url: str,
        *,
        slots: int = TENANT_SLOTS,
        defer_min_ms: int = DEFER_MIN_MS,
        defer_max_ms: int = DEFER_MAX_MS,
    ) -> None:
        if not 1 <= slots <= TENANT_SLOTS_MAX:
            raise ValueError(f"slots per tenant must be 1 to {TENANT_SLOTS_MAX}, not {slots}")
        if not 0 < defer_min_ms <= defer_max_ms:
            raise ValueError(f"deferral delays out of range: {defer_min_ms}..{defer_max_ms} ms")
        self.database_url = database_url
        self.slots = slots
        self.defer_min_ms = defer_min_ms
        self.defer_max_ms = defer_max_ms
        self._local = threading.local()

    # -- the worker thread's connection and the slot it holds

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        conn: psycopg.Connection[tuple[Any, ...]] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = connect(self.database_url)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn: psycopg.Connection[tuple[Any, ...]] | None = getattr(self._local, "conn", None)
        self._local.conn = None
        self._local.held = None
        if conn is not None:
            conn.close()  # closing the session releases any advisory lock it held

    def _take_slot(self, tenant_id: int) -> int | None:
        conn = self._connection()
        for slot in range(self.slots):
            key = slot_key(tenant_id, slot)
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, key)).fetchone()
            if row is not None and row[0]:
                return key
        return None

    def _release(self) -> None:
        key: int | None = getattr(self._local, "held", None)
        if key is None:
            return
        self._local.held = None
        try:
            self._connection().execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, key))
        except psycopg.Error:
            log.warning("could not release a fair-share slot; dropping the connection", exc_info=True)
            self._drop_connection()

    # -- dramatiq hooks

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self._release()  # never carry a slot from an earlier message
        tenant = tenant_of(message)
        if tenant is None:
            return
        try:
            key = self._take_slot(tenant.id)
        except psycopg.Error:
            # Without the database the actor will most likely fail and be retried; the
            # limit is not worth stopping all work for.
            log.warning("fair-share slots unavailable; running message %s unlimited", message.message_id)
            self._drop_connection()
            return
        if key is not None:
            self._local.held = key
            return
        deferrals = int(message.options.get(DEFERRALS, 0))
        delay = defer_delay_ms(deferrals, min_ms=self.defer_min_ms, max_ms=self.defer_max_ms)
        message.options[DEFERRALS] = deferrals + 1
        broker.enqueue(message.copy(), delay=delay)
        raise SkipMessage(f"tenant {tenant.slug} has {self.slots} messages running; deferred {delay} ms")

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        self._release()

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self._release()

    def before_worker_thread_shutdown(self, broker: dramatiq.Broker, thread: Any) -> None:
        self._drop_connection()
