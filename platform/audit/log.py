"""Writing audit records: one per journal entry and per administrative change."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.unit import actor_of
from .tables import audit_log


@dataclass(frozen=True, slots=True)
class AuditEvent:
    action: str  # "journal.post", "entity.update", "tenant.suspend", ...
    subject: str  # "entry:42", "entity:7", "tenant:demo"
    details: Mapping[str, Any]


def row_hash(at: datetime, actor: str, action: str, subject: str, details: Mapping[str, Any]) -> bytes:
    """SHA-256 of a record's content; `audit verify` recomputes it from the row."""
    canonical = {
        "at": at.astimezone(UTC).isoformat(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).digest()


def _row(at: datetime, actor: str, event: AuditEvent) -> dict[str, Any]:
    details = dict(event.details)
    return {
        "at": at,
        "actor": actor,
        "action": event.action,
        "subject": event.subject,
        "details": details,
        "row_hash": row_hash(at, actor, event.action, event.subject, details),
    }


async def record(conn: AsyncConnection, action: str, subject: str, **details: Any) -> None:
    """Append one audit record in the caller's transaction."""
    await record_many(conn, [AuditEvent(action, subject, details)])


async def record_many(conn: AsyncConnection, events: Sequence[AuditEvent]) -> None:
    """Append several audit records in the caller's transaction (one round trip)."""
    if not events:
        return
    at = datetime.now(UTC)
    actor = actor_of(conn)
    await conn.execute(insert(audit_log), [_row(at, actor, event) for event in events])
