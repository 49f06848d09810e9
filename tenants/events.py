"""Change events of a tenant, heard over one LISTEN connection per process.

The tenant's triggers (migration t0012) NOTIFY `b:<entity ids>` when balances move and
`s:<session ids>` when RADIUS sessions change, on the tenant's channel. A `ChangeFeed`
holds one PostgreSQL connection that LISTENs on the channels somebody subscribed to and
drops each notification's ids into the inboxes of that tenant's subscribers.

An inbox coalesces: it keeps the set of ids changed since its reader last looked, so a
slow reader costs memory by the number of distinct rows changed, never by the number of
changes, and always reads the rows' current state. If the connection is lost, every
inbox is closed with `FeedInterrupted` and the next subscription opens a new connection:
a client that subscribes again re-reads state, so it misses nothing that matters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .routing import TenantRef, event_channel

log = logging.getLogger("bureau.events")

BALANCES = "b"
SESSIONS = "s"
KINDS = (BALANCES, SESSIONS)


class FeedInterrupted(Exception):
    """The change feed's connection was lost; subscribe again."""


class Inbox:
    """The ids changed since the reader last took them, by kind."""

    def __init__(self) -> None:
        self._pending: dict[str, set[int]] = {kind: set() for kind in KINDS}
        self._ready = asyncio.Event()
        self._closed: str | None = None

    def add(self, kind: str, ids: set[int]) -> None:
        self._pending[kind] |= ids
        self._ready.set()

    def close(self, reason: str) -> None:
        self._closed = reason
        self._ready.set()

    async def take(self) -> dict[str, set[int]]:
        """Wait for changes, then take every id changed so far (each kind's set)."""
        await self._ready.wait()
        if self._closed is not None:
            raise FeedInterrupted(self._closed)
        self._ready.clear()
        taken, self._pending = self._pending, {kind: set() for kind in KINDS}
        return taken


def parse(payload: str) -> tuple[str, set[int]] | None:
    """`b:1,2,3` to ("b", {1, 2, 3}); None for anything else (logged, never raised)."""
    kind, _, ids = payload.partition(":")
    try:
        parsed = {int(part) for part in ids.split(",")}
    except ValueError:
        parsed = set()
    if kind not in KINDS or not parsed:
        log.warning("ignored a change event that is not <kind>:<ids>: %.80r", payload)
        return None
    return kind, parsed


class ChangeFeed:
    """One LISTEN connection, opened at the first subscription, shared by all."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()
        self._holder: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under the SQLAlchemy one
        self._inboxes: dict[str, set[Inbox]] = {}
        self._retiring: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def inbox(self, tenant: TenantRef) -> AsyncIterator[Inbox]:
        """An inbox of the tenant's changes from now until the block ends."""
        channel = event_channel(tenant.slug)
        inbox = Inbox()
        async with self._lock:
            await self._connect()
            if channel not in self._inboxes:
                await self._driver.add_listener(channel, self._heard)
                self._inboxes[channel] = set()
            self._inboxes[channel].add(inbox)
        try:
            yield inbox
        finally:
            async with self._lock:
                await self._leave(channel, inbox)

    async def _connect(self) -> None:
        if self._driver is not None and not self._driver.is_closed():
            return
        self._holder = await self._engine.connect()
        raw = await self._holder.get_raw_connection()
        self._driver = raw.driver_connection
        self._driver.add_termination_listener(self._lost)

    async def _leave(self, channel: str, inbox: Inbox) -> None:
        inboxes = self._inboxes.get(channel)
        if inboxes is None:
            return
        inboxes.discard(inbox)
        if inboxes:
            return
        del self._inboxes[channel]
        if self._driver is not None and not self._driver.is_closed():
            await self._driver.remove_listener(channel, self._heard)
        if not self._inboxes:
            await self._disconnect()

    async def _disconnect(self) -> None:
        """Drop the connection rather than pool it: it may still be LISTENing."""
        holder, self._holder, self._driver = self._holder, None, None
        if holder is not None:
            try:
                await holder.invalidate()
                await holder.close()
            except Exception:  # already broken: nothing to give back
                log.debug("closing the change feed's connection failed", exc_info=True)

    def _heard(self, connection: object, pid: int, channel: str, payload: str) -> None:
        parsed = parse(payload)
        if parsed is None:
            return
        for inbox in self._inboxes.get(channel, ()):
            inbox.add(*parsed)

    def _lost(self, connection: object) -> None:
        log.warning("the change feed's connection was lost; %d subscriptions end", self.subscribers)
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.close("the change feed's connection was lost; subscribe again")
        self._inboxes.clear()
        self._retiring = asyncio.get_running_loop().create_task(self._disconnect())

    @property
    def subscribers(self) -> int:
        return sum(len(inboxes) for inboxes in self._inboxes.values())

    async def close(self) -> None:
        async with self._lock:
            for inboxes in self._inboxes.values():
                for inbox in inboxes:
                    inbox.close("the server is shutting down")
            self._inboxes.clear()
            await self._disconnect()
