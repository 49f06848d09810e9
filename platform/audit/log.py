"""Writing audit records: one per journal entry and per administrative change."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Insert, LargeBinary, Text, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ..db.arrays import array_param
from ..db.unit import actor_of
from ..jsonsafe import check_json_safe
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


_records = (
    func.unnest(
        array_param("a_action", Text),
        array_param("a_subject", Text),
        array_param("a_details", JSONB),
        array_param("a_row_hash", LargeBinary),
    )
    .table_valued("action", "subject", "details", "row_hash")
    .render_derived(name="a")
)


def insert_records(when: ColumnElement[bool] | None = None) -> Insert:
    """The INSERT that writes the records bound by `record_params`.

    `when` makes it conditional, for a service that writes its records inside a
    statement of its own (journal posting) rather than through `record_many`.
    """
    source = select(
        bindparam("a_at", type_=DateTime(timezone=True)),
        bindparam("a_actor", type_=Text),
        _records.c.action,
        _records.c.subject,
        _records.c.details,
        _records.c.row_hash,
    )
    if when is not None:
        source = source.where(when)
    return insert(audit_log).from_select(["at", "actor", "action", "subject", "details", "row_hash"], source)


def record_params(conn: AsyncConnection, events: Sequence[AuditEvent]) -> dict[str, Any]:
    """Bind parameters of `insert_records` for `events`, stamped now by the unit's actor."""
    at = datetime.now(UTC)
    actor = actor_of(conn)
    details = [dict(event.details) for event in events]
    for event, detail in zip(events, details, strict=True):
        # A detail JSONB would give back differently would make verify call the record
        # changed; callers validate user input at their edge, so this is a bug if hit.
        check_json_safe(detail, f"audit details of {event.action} {event.subject}")
    return {
        "a_at": at,
        "a_actor": actor,
        "a_action": [event.action for event in events],
        "a_subject": [event.subject for event in events],
        "a_details": details,
        "a_row_hash": [
            row_hash(at, actor, event.action, event.subject, detail)
            for event, detail in zip(events, details, strict=True)
        ],
    }


_insert_all = insert_records()


async def record(conn: AsyncConnection, action: str, subject: str, **details: Any) -> None:
    """Append one audit record in the caller's transaction."""
    await record_many(conn, [AuditEvent(action, subject, details)])


async def record_many(conn: AsyncConnection, events: Sequence[AuditEvent]) -> None:
    """Append several audit records in the caller's transaction (one statement)."""
    if not events:
        return
    await conn.execute(_insert_all, record_params(conn, events))
