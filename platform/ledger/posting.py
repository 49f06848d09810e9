"""Posting journal entries: idempotent, balanced, immutable, balances kept current.

One entry or a batch is written in the caller's transaction: the entries, their
postings, the balance changes and one audit record each. Guarded balances (a prepaid
main balance, a reserve, a session counter) are checked inside the very UPDATE that
moves them, so concurrent entries can never take one below its floor: the row lock
makes each UPDATE see the balance the previous one left.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, SmallInteger, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from .errors import CurrencyMismatch, IdempotencyConflict, InsufficientFunds, InvalidEntry, UnknownAccount
from .rules import MAX_BATCH, NewEntry, content_hash, validate_entry
from .tables import account_balances, accounts, journal_entries, postings


@dataclass(frozen=True, slots=True)
class PostedEntry:
    id: int
    idempotency_key: str
    replayed: bool  # True when the key had been posted before with the same content


@dataclass(frozen=True, slots=True)
class _Account:
    id: int
    unit: str
    sign: int
    shards: int


_delta_rows = (
    func.unnest(
        bindparam("d_account", type_=ARRAY(BigInteger)),
        bindparam("d_shard", type_=ARRAY(SmallInteger)),
        bindparam("d_delta", type_=ARRAY(BigInteger)),
    )
    .table_valued("account_id", "shard", "delta")
    .render_derived(name="d")
)

_apply_deltas = (
    update(account_balances)
    .where(
        account_balances.c.account_id == _delta_rows.c.account_id,
        account_balances.c.shard == _delta_rows.c.shard,
        or_(
            account_balances.c.floor.is_(None),
            account_balances.c.balance + _delta_rows.c.delta >= account_balances.c.floor,
        ),
    )
    .values(balance=account_balances.c.balance + _delta_rows.c.delta)
    .returning(account_balances.c.account_id, account_balances.c.shard)
)


def shard_for(key: str, shards: int) -> int:
    """The balance row of a hot account that an entry with this key updates."""
    return zlib.crc32(key.encode()) % shards if shards > 1 else 0


async def post_entry(conn: AsyncConnection, entry: NewEntry) -> PostedEntry:
    """Post one journal entry; a replay of its key with the same content returns the original."""
    return (await post_entries(conn, [entry]))[0]


async def post_entries(conn: AsyncConnection, entries: Sequence[NewEntry]) -> list[PostedEntry]:
    """Post a batch of entries, all or nothing, in the caller's transaction.

    Raises InvalidEntry, UnbalancedEntry, UnknownAccount, CurrencyMismatch,
    IdempotencyConflict or InsufficientFunds; the caller's transaction must then be
    rolled back, and nothing of the batch is committed.
    """
    if not 1 <= len(entries) <= MAX_BATCH:
        raise InvalidEntry(f"a batch holds 1 to {MAX_BATCH} entries, got {len(entries)}")
    seen: set[str] = set()
    for entry in entries:
        validate_entry(entry)
        if entry.idempotency_key in seen:
            raise InvalidEntry(f"idempotency key {entry.idempotency_key!r} appears twice in one batch")
        seen.add(entry.idempotency_key)
    known = await _load_accounts(conn, {p.account_id for e in entries for p in e.postings})
    _check_units(entries, known)

    hashes = {e.idempotency_key: content_hash(e) for e in entries}
    inserted = (
        await conn.execute(
            pg_insert(journal_entries)
            .on_conflict_do_nothing(index_elements=[journal_entries.c.idempotency_key])
            .returning(journal_entries.c.id, journal_entries.c.idempotency_key, journal_entries.c.posted_at),
            [
                {
                    "idempotency_key": e.idempotency_key,
                    "description": e.description,
                    "content_hash": hashes[e.idempotency_key],
                    "metadata": dict(e.metadata),
                }
                for e in entries
            ],
        )
    ).all()
    new = {row.idempotency_key: row for row in inserted}
    replayed = await _replays(conn, [e for e in entries if e.idempotency_key not in new], hashes)
    fresh = [e for e in entries if e.idempotency_key in new]
    if fresh:
        await conn.execute(
            insert(postings),
            [
                {
                    "entry_id": new[e.idempotency_key].id,
                    "account_id": p.account_id,
                    "amount": p.amount,
                    "unit": p.unit,
                    "posted_at": new[e.idempotency_key].posted_at,
                }
                for e in fresh
                for p in e.postings
            ],
        )
        await _apply_balances(conn, fresh, known)
        await audit.record_many(
            conn,
            [
                audit.AuditEvent(
                    "journal.post",
                    f"entry:{new[e.idempotency_key].id}",
                    {"key": e.idempotency_key, "content_hash": hashes[e.idempotency_key].hex()},
                )
                for e in fresh
            ],
        )
    return [
        PostedEntry(new[e.idempotency_key].id, e.idempotency_key, False)
        if e.idempotency_key in new
        else PostedEntry(replayed[e.idempotency_key], e.idempotency_key, True)
        for e in entries
    ]


async def _load_accounts(conn: AsyncConnection, ids: set[int]) -> dict[int, _Account]:
    rows = (
        await conn.execute(
            select(accounts.c.id, accounts.c.unit, accounts.c.sign, accounts.c.shards).where(
                accounts.c.id.in_(sorted(ids))
            )
        )
    ).all()
    known = {row.id: _Account(row.id, row.unit, row.sign, row.shards) for row in rows}
    missing = sorted(ids - known.keys())
    if missing:
        raise UnknownAccount(f"no account with id {', '.join(map(str, missing))} in this tenant")
    return known


def _check_units(entries: Sequence[NewEntry], known: dict[int, _Account]) -> None:
    for entry in entries:
        for posting in entry.postings:
            unit = known[posting.account_id].unit
            if posting.unit != unit:
                raise CurrencyMismatch(
                    f"entry {entry.idempotency_key!r}: account {posting.account_id} holds {unit}, "
                    f"the posting is in {posting.unit}"
                )


async def _replays(conn: AsyncConnection, entries: Sequence[NewEntry], hashes: dict[str, bytes]) -> dict[str, int]:
    if not entries:
        return {}
    keys = [e.idempotency_key for e in entries]
    rows = (
        await conn.execute(
            select(journal_entries.c.id, journal_entries.c.idempotency_key, journal_entries.c.content_hash).where(
                journal_entries.c.idempotency_key.in_(keys)
            )
        )
    ).all()
    stored = {row.idempotency_key: row for row in rows}
    for key in keys:
        if stored[key].content_hash != hashes[key]:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used for entry {stored[key].id} with different content"
            )
    return {key: stored[key].id for key in keys}


async def _apply_balances(conn: AsyncConnection, entries: Sequence[NewEntry], known: dict[int, _Account]) -> None:
    deltas: dict[tuple[int, int], int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            account = known[posting.account_id]
            shard = shard_for(entry.idempotency_key, account.shards)
            deltas[(account.id, shard)] += posting.amount * account.sign
    # Sorted, so concurrent batches lock balance rows in one order and cannot deadlock.
    rows = sorted((key, delta) for key, delta in deltas.items() if delta != 0)
    if not rows:
        return
    params: dict[str, Any] = {
        "d_account": [key[0] for key, _ in rows],
        "d_shard": [key[1] for key, _ in rows],
        "d_delta": [delta for _, delta in rows],
    }
    moved = {(r.account_id, r.shard) for r in (await conn.execute(_apply_deltas, params)).all()}
    refused = sorted({key[0] for key, _ in rows if key not in moved})
    if refused:
        raise InsufficientFunds(
            f"insufficient funds: account {', '.join(map(str, refused))} would go below its floor",
            tuple(refused),
        )
