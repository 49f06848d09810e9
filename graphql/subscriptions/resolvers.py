"""Subscriptions over WebSocket (graphql-transport-ws): balance and session changes.

Each subscription reads its tenant's change feed (`bureau.tenants.events`): the ids of
the balances' owners and of the sessions that changed, coalesced while the subscriber is
busy, then their current state in one unit of work, inside the caller's scope. A
reseller hears of its own subtree's customers only; a customer filter that names one the
caller cannot see is refused as one that does not exist.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from bureau.platform.ledger.entities import list_accounts_of
from bureau.platform.sessions.control import LIVE
from bureau.platform.sessions.listing import sessions_by_id
from bureau.platform.subscribers.customers import customers_of_entities
from bureau.platform.subscribers.errors import NotFound
from bureau.platform.subscribers.services import services_of
from bureau.tenants.apikeys import still_valid
from bureau.tenants.events import BALANCES, SESSIONS, Inbox

from ..context import Context, Refused
from ..permissions import InTenant
from ..scope import visible_customer
from ..sessions.types import Session
from .types import BalanceChange, SessionChange, SessionChangeKind


async def _customer_entity(info: Info[Context, Any], ref: str | None) -> tuple[int | None, set[int] | None]:
    """The filter's customer entity and its service ids (None, None: every customer)."""
    if ref is None:
        return None, None
    try:
        async with info.context.unit() as conn:
            customer = await visible_customer(info, conn, ref)
            services = (await services_of(conn, [customer.id]))[customer.id]
    except NotFound as exc:
        raise Refused(str(exc)) from None
    return customer.entity_id, {s.id for s in services}


async def _next(info: Info[Context, Any], inbox: Inbox, kind: str) -> set[int]:
    """The next ids of `kind` changed; ends the subscription (an error) once the caller's key
    is revoked or its tenant suspended, checked before each message."""
    while True:
        ids = (await inbox.take())[kind]
        if not ids:
            continue
        if not await still_valid(info.context.engine, info.context.caller):
            raise Refused("the API key was revoked or its tenant suspended: the subscription ends")
        return ids


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[InTenant],
        description="A customer's balances each time they move (payments, top-ups, usage, reserves), or every"
        " visible customer's when no customer is named. Changes made while the last one was being sent are"
        " coalesced: each message has the balances as they stand.",
    )
    async def balance_changes(
        self, info: Info[Context, Any], customer: str | None = None
    ) -> AsyncGenerator[BalanceChange, None]:
        only, _ = await _customer_entity(info, customer)
        context = info.context
        async with context.feed.inbox(context.caller_tenant) as inbox:
            while True:
                entity_ids = await _next(info, inbox, BALANCES)
                if only is not None:
                    entity_ids &= {only}
                if not entity_ids:
                    continue
                async with context.unit() as conn:
                    owners = await customers_of_entities(conn, entity_ids, resellers=await context.resellers(conn))
                    accounts = await list_accounts_of(conn, [c.entity_id for c in owners])
                now = datetime.now(UTC)
                for owner in owners:
                    yield BalanceChange.of(owner, accounts.get(owner.entity_id, []), now)

    @strawberry.subscription(
        permission_classes=[InTenant],
        description="RADIUS sessions as they are authorised, start, report usage and stop: every visible"
        " session, or those of one customer or one NAS.",
    )
    async def session_changes(
        self, info: Info[Context, Any], customer: str | None = None, nas: strawberry.ID | None = None
    ) -> AsyncGenerator[SessionChange, None]:
        if nas is not None and not str(nas).isdigit():
            raise Refused(f"nas {nas!r} is not a NAS id")
        _, services = await _customer_entity(info, customer)
        context = info.context
        seen: set[int] = set()
        async with context.feed.inbox(context.caller_tenant) as inbox:
            while True:
                session_ids = await _next(info, inbox, SESSIONS)
                async with context.unit() as conn:
                    found = await sessions_by_id(conn, session_ids, resellers=await context.resellers(conn))
                now = datetime.now(UTC)
                for session in found:
                    if services is not None and session.service_id not in services:
                        continue
                    if nas is not None and session.nas_id != int(nas):
                        continue
                    if session.state in LIVE:
                        change = SessionChangeKind.UPDATED if session.id in seen else SessionChangeKind.OPENED
                        seen.add(session.id)
                    else:
                        change = SessionChangeKind.CLOSED
                        seen.discard(session.id)
                    yield SessionChange(change=change, session=Session.of(session), observed_at=now)
