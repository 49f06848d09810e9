"""Listing journal entries: newest first, a page at a time by id, with their postings.

Filters: the entries touching one entity's accounts (a customer's, a reseller's), those
posted in a time range (`since` inclusive, `until` exclusive), those whose idempotency
key starts with a prefix ("adjustment:", "invoice:2026-10:"). Pages are keyset pages:
`before_id` is the id of the last entry of the previous page (ids grow as entries are
posted, so newest first is descending id).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .errors import InvalidEntry
from .rules import MAX_KEY_LENGTH
from .tables import accounts, entities, journal_entries, postings

MAX_LISTED_ENTRIES = 101  # a page of 100 and the one that says there is more


@dataclass(frozen=True, slots=True)
class ListedPosting:
    account_id: int
    account_code: str
    account_name: str
    entity_id: int
    entity_code: str
    entity_kind: str  # "isp", "reseller" or "subscriber"
    amount: int  # signed, debit positive, in the unit's smallest step
    unit: str  # a currency, or what is counted (SESSIONS)


@dataclass(frozen=True, slots=True)
class ListedEntry:
    id: int
    idempotency_key: str
    description: str
    posted_at: datetime
    postings: tuple[ListedPosting, ...]


def _check(limit: int, since: datetime | None, until: datetime | None, key_prefix: str | None) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LISTED_ENTRIES:
        raise InvalidEntry(f"a page of journal entries holds 1 to {MAX_LISTED_ENTRIES} entries, got {limit!r}")
    for name, when in (("since", since), ("until", until)):
        if when is not None and (not isinstance(when, datetime) or when.tzinfo is None):
            raise InvalidEntry(f"{name} must be a datetime with a time zone, got {when!r}")
    if since is not None and until is not None and until <= since:
        raise InvalidEntry(f"the time range must end after it starts ({since.isoformat()} .. {until.isoformat()})")
    if key_prefix is not None and (not isinstance(key_prefix, str) or len(key_prefix) > MAX_KEY_LENGTH):
        raise InvalidEntry(f"a key prefix is text of at most {MAX_KEY_LENGTH} characters")


async def journal_page(
    conn: AsyncConnection,
    *,
    limit: int,
    before_id: int | None = None,
    entity_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    key_prefix: str | None = None,
) -> list[ListedEntry]:
    """Up to `limit` entries (at most MAX_LISTED_ENTRIES) with id below `before_id`,
    newest first, each with its postings; InvalidEntry for a filter it cannot take."""
    _check(limit, since, until, key_prefix)
    query = select(
        journal_entries.c.id,
        journal_entries.c.idempotency_key,
        journal_entries.c.description,
        journal_entries.c.posted_at,
    )
    if before_id is not None:
        query = query.where(journal_entries.c.id < before_id)
    if since is not None:
        query = query.where(journal_entries.c.posted_at >= since)
    if until is not None:
        query = query.where(journal_entries.c.posted_at < until)
    if key_prefix:
        query = query.where(journal_entries.c.idempotency_key.startswith(key_prefix, autoescape=True))
    if entity_id is not None:
        touching = (
            select(postings.c.entry_id)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(accounts.c.entity_id == entity_id)
        )
        query = query.where(journal_entries.c.id.in_(touching))
    heads = (await conn.execute(query.order_by(journal_entries.c.id.desc()).limit(limit))).all()
    if not heads:
        return []
    found: dict[int, list[ListedPosting]] = defaultdict(list)
    rows = await conn.execute(
        select(
            postings.c.entry_id,
            postings.c.account_id,
            accounts.c.code,
            accounts.c.name,
            accounts.c.entity_id,
            entities.c.code.label("entity_code"),
            entities.c.kind,
            postings.c.amount,
            postings.c.unit,
        )
        .join(accounts, accounts.c.id == postings.c.account_id)
        .join(entities, entities.c.id == accounts.c.entity_id)
        .where(postings.c.entry_id.in_([head.id for head in heads]))
        .order_by(postings.c.entry_id, postings.c.id)
    )
    for row in rows:
        found[row.entry_id].append(
            ListedPosting(
                account_id=row.account_id,
                account_code=row.code,
                account_name=row.name,
                entity_id=row.entity_id,
                entity_code=row.entity_code,
                entity_kind=row.kind,
                amount=row.amount,
                unit=row.unit,
            )
        )
    return [
        ListedEntry(
            id=head.id,
            idempotency_key=head.idempotency_key,
            description=head.description,
            posted_at=head.posted_at,
            postings=tuple(found[head.id]),
        )
        for head in heads
    ]
