"""The transactional outbox: messages for the workers, written with the change that causes them.

A service that changes something a worker must act on (a service suspended: its targets
must be exported again) calls `enqueue` in its own transaction. The message is a row in
the tenant's `outbox` table, so it commits or rolls back with the change: a crash can
never lose it (committed change, no message) or invent it (message, rolled-back change).
Each enqueue also notifies channel `bureau_outbox` with the tenant's id, which
PostgreSQL delivers at commit, so the relay wakes at once. The relay (`bureau.workers`)
claims unsent rows, sends them to the broker and marks them sent in one transaction; a
crash between sending and marking sends a message twice, which actors tolerate (they are
idempotent), never zero times.

Messages are coalesced: at most one unsent message per actor and key, so a thousand
suspensions in one bill run make one export job, not a thousand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Table, Text, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .db.columns import created_at
from .db.schema import tenant_metadata
from .db.unit import tenant_id_of
from .jsonsafe import check_json_safe

MAX_CLAIM = 500  # messages relayed per transaction
CHANNEL = "bureau_outbox"  # NOTIFY channel; the payload is the tenant's id

outbox = Table(
    "outbox",
    tenant_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("actor", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("args", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    created_at(),
    Column("sent_at", DateTime(timezone=True)),
)


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    actor: str
    args: Mapping[str, Any]


async def enqueue(conn: AsyncConnection, actor: str, args: Mapping[str, Any] | None = None, *, key: str = "") -> None:
    """Queue a message for `actor` in the caller's transaction; a message with the same
    actor and key that is not sent yet stands for this one."""
    payload = dict(args or {})
    check_json_safe(payload, f"arguments of {actor}")
    await conn.execute(
        pg_insert(outbox)
        .values(actor=actor, key=key, args=payload)
        .on_conflict_do_nothing(index_elements=[outbox.c.actor, outbox.c.key], index_where=outbox.c.sent_at.is_(None))
    )
    # Delivered when (and only if) the transaction commits: the relay wakes for it then.
    await conn.execute(select(func.pg_notify(CHANNEL, str(tenant_id_of(conn)))))


async def claim(conn: AsyncConnection, limit: int = MAX_CLAIM) -> list[Message]:
    """Lock up to `limit` unsent messages, oldest first (others' claims are skipped)."""
    rows = (
        await conn.execute(
            select(outbox.c.id, outbox.c.actor, outbox.c.args)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.id)
            .limit(min(limit, MAX_CLAIM))
            .with_for_update(skip_locked=True)
        )
    ).all()
    return [Message(row.id, row.actor, dict(row.args)) for row in rows]


async def mark_sent(conn: AsyncConnection, messages: Sequence[Message]) -> None:
    if messages:
        await conn.execute(update(outbox).where(outbox.c.id.in_([m.id for m in messages])).values(sent_at=func.now()))


async def pending(conn: AsyncConnection) -> int:
    """How many messages wait to be relayed."""
    return int((await conn.execute(select(func.count()).where(outbox.c.sent_at.is_(None)))).scalar_one())
