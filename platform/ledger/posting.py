"""Posting journal entries: idempotent, balanced, immutable, balances kept current.

One entry or a batch is written in the caller's transaction: the entries, their
postings, the balance changes and one audit record each. Guarded balances (a prepaid
main balance, a reserve, a session counter) are checked inside the very UPDATE that
moves them, so concurrent entries can never take one below its floor: the row lock
makes each UPDATE see the balance the previous one left.

A batch takes two statements: one reads the accounts and draws the entries' ids, one
writes everything (entries, postings, balances, audit records) as a data-modifying
CTE. The balances and audit records in that CTE only apply when every entry of the
batch is new; a batch that replays some keys applies them for its new entries in
statements of their own.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    Select,
    SmallInteger,
    Text,
    any_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import Sequence as DbSequence
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import Alias

from ..audit import log as audit
from ..db import direct
from ..db.arrays import array_param
from ..db.schema import TENANT
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


# The identity sequence PostgreSQL made for journal_entries.id (its default name). Ids
# are drawn up front so that the audit records, whose hash covers "entry:<id>", can be
# written in the same statement as the entries.
_entry_ids = DbSequence(f"{journal_entries.name}_{journal_entries.c.id.name}_seq", schema=TENANT)


_wanted = func.unnest(array_param("account_ids", BigInteger)).table_valued("id").render_derived(name="w")

# Short aliases: every table named in full carries the tenant schema, which SQLAlchemy
# writes into the statement text anew on each execution.
_account = accounts.alias("a")
_balance = cast(Alias, account_balances.alias("b"))  # typed as a plain FromClause

_load_accounts_and_ids = select(
    func.array_agg(_account.c.id),
    func.array_agg(_account.c.unit),
    func.array_agg(_account.c.sign),
    func.array_agg(_account.c.shards),
    select(func.array_agg(_entry_ids.next_value()))
    .select_from(func.generate_series(1, bindparam("n_ids", type_=Integer)))
    .scalar_subquery(),
).select_from(_wanted.join(_account, _account.c.id == _wanted.c.id))

_entry_rows = (
    func.unnest(
        array_param("e_id", BigInteger),
        array_param("e_key", Text),
        array_param("e_description", Text),
        array_param("e_hash", LargeBinary),
        array_param("e_metadata", JSONB),
    )
    .table_valued("id", "idempotency_key", "description", "content_hash", "metadata")
    .render_derived(name="e")
)

_posting_rows = (
    func.unnest(
        array_param("p_entry", BigInteger),
        array_param("p_account", BigInteger),
        array_param("p_amount", BigInteger),
        array_param("p_unit", Text),
    )
    .table_valued("entry_id", "account_id", "amount", "unit")
    .render_derived(name="p")
)

_delta_rows = (
    func.unnest(
        array_param("d_account", BigInteger),
        array_param("d_shard", SmallInteger),
        array_param("d_delta", BigInteger),
    )
    .table_valued("account_id", "shard", "delta")
    .render_derived(name="d")
)


def _balance_update(when: ColumnElement[bool] | None = None) -> Any:
    """UPDATE of the balance rows bound as d_*; the floor guard is in its WHERE.

    The rows are first locked by SELECT ... ORDER BY ... FOR NO KEY UPDATE (the lock the
    UPDATE takes anyway), which locks in sorted order whatever join the planner picks.
    An UPDATE ... FROM alone locks in its join's order: a hash join over a sequential
    scan locks in physical order, which changes as rows are updated, and concurrent
    batches then deadlock. The UPDATE touches only rows it already holds, and re-checks
    the guard on their latest version.
    """
    locking = (
        select(_balance.c.account_id, _balance.c.shard, _delta_rows.c.delta)
        .select_from(
            _delta_rows.join(
                _balance,
                (_balance.c.account_id == _delta_rows.c.account_id) & (_balance.c.shard == _delta_rows.c.shard),
            )
        )
        .order_by(_balance.c.account_id, _balance.c.shard)
        .with_for_update(of=_balance, key_share=True)
    )
    if when is not None:
        locking = locking.where(when)
    locked = locking.cte("locked").prefix_with("MATERIALIZED")
    return (
        update(_balance)
        .where(
            _balance.c.account_id == locked.c.account_id,
            _balance.c.shard == locked.c.shard,
            or_(_balance.c.floor.is_(None), _balance.c.balance + locked.c.delta >= _balance.c.floor),
        )
        .values(balance=_balance.c.balance + locked.c.delta)
        .returning(_balance.c.account_id, _balance.c.shard)
    )


def _write_batch() -> Select[Any]:
    """Every write of a batch in one statement; answers what it inserted and moved."""
    inserted = (
        pg_insert(journal_entries)
        .from_select(["id", "idempotency_key", "description", "content_hash", "metadata"], select(_entry_rows))
        .on_conflict_do_nothing(index_elements=[journal_entries.c.idempotency_key])
        .returning(journal_entries.c.id, journal_entries.c.idempotency_key, journal_entries.c.posted_at)
        .cte("inserted")
    )
    # Postings only for entries inserted now; balances and audit only if that is all of them.
    all_new = select(func.count()).select_from(inserted).scalar_subquery() == bindparam("n_entries", type_=Integer)
    posted = (
        insert(postings)
        .from_select(
            ["entry_id", "account_id", "amount", "unit", "posted_at"],
            select(
                inserted.c.id,
                _posting_rows.c.account_id,
                _posting_rows.c.amount,
                _posting_rows.c.unit,
                inserted.c.posted_at,
            ).select_from(_posting_rows.join(inserted, inserted.c.id == _posting_rows.c.entry_id)),
        )
        .cte("posted")
    )
    moved = _balance_update(all_new).cte("moved")
    audited = audit.insert_records(all_new).cte("audited")
    return select(
        select(func.array_agg(inserted.c.idempotency_key)).scalar_subquery(),
        select(func.array_agg(moved.c.account_id)).scalar_subquery(),
        select(func.array_agg(moved.c.shard)).scalar_subquery(),
    ).add_cte(posted, audited)


_apply_deltas = _balance_update()
_write = _write_batch()


async def _execute_one(conn: AsyncConnection, statement: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
    """The one row `statement` answers; the two statements of every batch run as
    precompiled SQL on the driver (`db/direct.py`: SQLAlchemy's execution path costs more
    client CPU than the rest of a posting's Python)."""
    return await direct.fetch_one(conn, statement, params)  # type: ignore[no-any-return]


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
    known, drawn = await _load_accounts(conn, {p.account_id for e in entries for p in e.postings}, len(entries))
    _check_units(entries, known)

    hashes = {e.idempotency_key: content_hash(e) for e in entries}
    ids = {e.idempotency_key: entry_id for e, entry_id in zip(entries, drawn, strict=True)}
    deltas = _deltas(entries, known)
    events = [_audit_event(ids[e.idempotency_key], e.idempotency_key, hashes[e.idempotency_key]) for e in entries]
    params: dict[str, Any] = {
        "n_entries": len(entries),
        "e_id": [ids[e.idempotency_key] for e in entries],
        "e_key": [e.idempotency_key for e in entries],
        "e_description": [e.description for e in entries],
        "e_hash": [hashes[e.idempotency_key] for e in entries],
        "e_metadata": [dict(e.metadata) for e in entries],
        "p_entry": [ids[e.idempotency_key] for e in entries for _ in e.postings],
        "p_account": [p.account_id for e in entries for p in e.postings],
        "p_amount": [p.amount for e in entries for p in e.postings],
        "p_unit": [p.unit for e in entries for p in e.postings],
        **_delta_params(deltas),
        **audit.record_params(conn, events),
    }
    new_keys, moved_accounts, moved_shards = await _execute_one(conn, _write, params)
    new = set(new_keys or ())
    if len(new) == len(entries):
        _refuse_unmoved(deltas, set(zip(moved_accounts or (), moved_shards or (), strict=True)))
    else:
        # Some keys were posted before: the statement wrote postings for the new entries
        # only, and left their balances and audit records to be written here.
        ids.update(await _replays(conn, [e for e in entries if e.idempotency_key not in new], hashes))
        fresh = [e for e in entries if e.idempotency_key in new]
        if fresh:
            await _apply_balances(conn, _deltas(fresh, known))
            await audit.record_many(
                conn, [ev for e, ev in zip(entries, events, strict=True) if e.idempotency_key in new]
            )
    return [PostedEntry(ids[e.idempotency_key], e.idempotency_key, e.idempotency_key not in new) for e in entries]


def _audit_event(entry_id: int, key: str, digest: bytes) -> audit.AuditEvent:
    return audit.AuditEvent("journal.post", f"entry:{entry_id}", {"key": key, "content_hash": digest.hex()})


async def _load_accounts(conn: AsyncConnection, ids: set[int], n_entries: int) -> tuple[dict[int, _Account], list[int]]:
    """The accounts by id, and `n_entries` new entry ids in ascending order."""
    found_ids, units, signs, shards, drawn = await _execute_one(
        conn, _load_accounts_and_ids, {"account_ids": sorted(ids), "n_ids": n_entries}
    )
    known = {
        account_id: _Account(account_id, unit, sign, shard_count)
        for account_id, unit, sign, shard_count in zip(
            found_ids or (), units or (), signs or (), shards or (), strict=True
        )
    }
    missing = sorted(ids - known.keys())
    if missing:
        raise UnknownAccount(f"no account with id {', '.join(map(str, missing))} in this tenant")
    return known, sorted(drawn)


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
                journal_entries.c.idempotency_key == any_(bindparam("keys", keys, type_=ARRAY(Text)))
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


def _deltas(entries: Sequence[NewEntry], known: dict[int, _Account]) -> list[tuple[tuple[int, int], int]]:
    """Net change per balance row, sorted so that concurrent batches lock rows in one
    order and cannot deadlock."""
    deltas: dict[tuple[int, int], int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            account = known[posting.account_id]
            shard = shard_for(entry.idempotency_key, account.shards)
            deltas[(account.id, shard)] += posting.amount * account.sign
    return sorted((key, delta) for key, delta in deltas.items() if delta != 0)


def _delta_params(rows: list[tuple[tuple[int, int], int]]) -> dict[str, Any]:
    return {
        "d_account": [key[0] for key, _ in rows],
        "d_shard": [key[1] for key, _ in rows],
        "d_delta": [delta for _, delta in rows],
    }


async def _apply_balances(conn: AsyncConnection, rows: list[tuple[tuple[int, int], int]]) -> None:
    if not rows:
        return
    moved = {(r.account_id, r.shard) for r in (await conn.execute(_apply_deltas, _delta_params(rows))).all()}
    _refuse_unmoved(rows, moved)


def _refuse_unmoved(rows: list[tuple[tuple[int, int], int]], moved: set[tuple[int, int]]) -> None:
    refused = sorted({key[0] for key, _ in rows if key not in moved})
    if refused:
        raise InsufficientFunds(
            f"insufficient funds: account {', '.join(map(str, refused))} would go below its floor",
            tuple(refused),
        )
