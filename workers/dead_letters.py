"""Messages that will not succeed, kept for the operator (`bureau worker dead-letters`).

A message fails for good when its retries are exhausted or it raised a permanent
failure (`retries.py`). `DeadLetters` then records it in `bureau_shared.dead_letters`
(migration s0005): tenant, actor, message id, arguments, error, attempts and when. The
broker keeps its own copy as well (RabbitMQ's and Redis's dead-letter queues, the
PostgreSQL broker's `rejected` rows); this table is the one place to look, whatever the
broker. A message that fails again after being requeued updates its row.
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dramatiq
import sqlalchemy as sa
from dramatiq.middleware import Middleware
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.db.schema import NAMING, SHARED

from .database import connect
from .retries import attempts
from .tenancy import tenant_of

ERROR_MAX_CHARS = 4_000
TRACEBACK_MAX_CHARS = 16_000
TRACEBACK_FRAMES = 30
LIST_LIMIT = 50
LIST_LIMIT_MAX = 1_000

log = logging.getLogger(__name__)

metadata = sa.MetaData(schema=SHARED, naming_convention=NAMING)
dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("message_id", sa.Text, nullable=False, unique=True),
    sa.Column("tenant_id", sa.BigInteger),
    sa.Column("tenant_slug", sa.Text),
    sa.Column("queue_name", sa.Text, nullable=False),
    sa.Column("actor_name", sa.Text, nullable=False),
    sa.Column("args", JSONB, nullable=False),
    sa.Column("kwargs", JSONB, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("traceback", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
)

_RECORD = f"""
INSERT INTO {SHARED}.dead_letters
    (message_id, tenant_id, tenant_slug, queue_name, actor_name, args, kwargs, error, traceback, attempts, failed_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
ON CONFLICT (message_id) DO UPDATE SET
    error = EXCLUDED.error, traceback = EXCLUDED.traceback,
    attempts = EXCLUDED.attempts, failed_at = EXCLUDED.failed_at
"""  # noqa: S608 - SHARED is a constant, every value is a parameter


@dataclass(frozen=True)
class DeadLetter:
    id: int
    message_id: str
    tenant_id: int | None
    tenant_slug: str | None
    queue_name: str
    actor_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    error: str
    traceback: str | None
    attempts: int
    failed_at: datetime


def describe(exception: BaseException) -> str:
    """The error as a person reads it: its class and message, bounded."""
    text = f"{type(exception).__name__}: {exception}" if str(exception) else type(exception).__name__
    return text[:ERROR_MAX_CHARS]


class DeadLetters(Middleware):
    """Records failed messages. Must come before Retries in the chain (its `after_` hook
    then runs after Retries has decided the message failed)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed:
            return
        try:
            tenant = tenant_of(message)
        except ValueError:
            tenant = None
        trace = "".join(traceback.format_exception(exception, limit=TRACEBACK_FRAMES))[-TRACEBACK_MAX_CHARS:]
        row = (
            message.message_id,
            tenant.id if tenant else None,
            tenant.slug if tenant else None,
            message.queue_name,
            message.actor_name,
            Jsonb(list(message.args), dumps=_dumps),
            Jsonb(dict(message.kwargs), dumps=_dumps),
            describe(exception),
            trace,
            attempts(message),
        )
        # A dead letter that cannot be written is logged with everything it would have
        # held; the broker's own dead-letter copy remains.
        try:
            with connect(self.database_url) as conn:
                conn.execute(_RECORD, row)
        except Exception:
            log.exception("could not record dead letter %s (%s): %s", message.message_id, message.actor_name, row)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


async def list_dead_letters(
    engine: AsyncEngine, *, tenant_slug: str | None = None, actor_name: str | None = None, limit: int = LIST_LIMIT
) -> list[DeadLetter]:
    """The most recent dead letters first, optionally of one tenant or one actor."""
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise ValueError(f"limit {limit} is out of range; allowed: 1 to {LIST_LIMIT_MAX}")
    query = sa.select(dead_letters).order_by(dead_letters.c.failed_at.desc(), dead_letters.c.id.desc()).limit(limit)
    if tenant_slug is not None:
        query = query.where(dead_letters.c.tenant_slug == tenant_slug)
    if actor_name is not None:
        query = query.where(dead_letters.c.actor_name == actor_name)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [DeadLetter(**row) for row in rows]
