"""Voucher batches: create, sell, void, and expire with breakage (docs/vouchers.md).

Money moves only once a batch is sold: creating a batch posts nothing. Each posting's
idempotency key is derived from the batch (a batch is sold, voided or expired once), so a
retried call never posts twice.

Lock order, shared with redemption: the batch row, then its vouchers, then the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..ledger.chart import EntityKind
from ..ledger.entities import get_entity, isp_entity, query_account
from ..ledger.errors import EntityNotFound
from ..ledger.posting import post_entries, post_entry
from ..ledger.rules import MAX_ABS_AMOUNT, NewEntry, credit, debit
from . import codes as voucher_codes
from .errors import BatchNotFound, BatchVoid, InvalidBatch
from .tables import voucher_batches, vouchers

MAX_BATCH_COUNT = 100_000
MAX_NAME_LENGTH = 200
INSERT_CHUNK = 5_000  # voucher rows per INSERT
MAX_EXPIRE_BATCHES = 1_000  # batches expired per call (one ledger entry each at most)

CASH_CLEARING = "1120"  # ISP: cash clearing, cash and cheque (what a sold batch is paid into)
VOUCHER_LIABILITY = "2200"  # ISP
# Breakage should be its own revenue account; the chart has none yet (docs/vouchers.md),
# so it is recognised as usage revenue, which is what the prepaid value would have bought.
BREAKAGE_REVENUE = "4030"  # ISP chart: Revenue: voucher breakage


@dataclass(frozen=True, slots=True)
class Batch:
    id: int
    name: str
    value_micros: int
    currency: str
    count: int
    expires_at: datetime
    reseller_id: int | None
    status: str  # "active" or "void"
    sold_at: datetime | None
    sale_entry_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A voucher as printed: its serial and its code (the only time the code exists)."""

    serial: str
    code: str


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    batches: int  # batches with vouchers expired by this call
    vouchers: int
    breakage_micros: int  # value moved from voucher liability to revenue
    more: bool  # True when MAX_EXPIRE_BATCHES was reached: call again


def _batch(row: Row[Any]) -> Batch:
    return Batch(
        id=row.id,
        name=row.name,
        value_micros=row.value_micros,
        currency=row.currency,
        count=row._mapping["count"],  # `Row.count` is the tuple method
        expires_at=row.expires_at,
        reseller_id=row.reseller_id,
        status=row.status,
        sold_at=row.sold_at,
        sale_entry_id=row.sale_entry_id,
        created_at=row.created_at,
    )


def serial_for(batch_id: int, number: int) -> str:
    return f"V{batch_id}-{number:06d}"


async def _check_reseller(conn: AsyncConnection, reseller_id: int | None) -> None:
    if reseller_id is None:
        return
    try:
        reseller = await get_entity(conn, reseller_id)
    except EntityNotFound:
        raise InvalidBatch(f"reseller {reseller_id} does not exist") from None
    if reseller.kind is not EntityKind.RESELLER:
        raise InvalidBatch(f"entity {reseller_id} ({reseller.code}) is a {reseller.kind}, not a reseller")


def _check_batch(name: str, value_micros: int, count: int, expires_at: datetime) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidBatch(f"batch name must be 1 to {MAX_NAME_LENGTH} characters, got {name!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH_COUNT:
        raise InvalidBatch(f"a batch holds 1 to {MAX_BATCH_COUNT} vouchers, got {count!r}")
    if isinstance(value_micros, bool) or not isinstance(value_micros, int) or value_micros <= 0:
        raise InvalidBatch(f"voucher value must be a positive integer of micro-units, got {value_micros!r}")
    if value_micros * count > MAX_ABS_AMOUNT:
        raise InvalidBatch(f"a batch's total value must not exceed {MAX_ABS_AMOUNT} micro-units")
    if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
        raise InvalidBatch("expiry must be a datetime with a time zone")


async def create_batch(
    conn: AsyncConnection,
    *,
    name: str,
    value_micros: int,
    count: int,
    expires_at: datetime,
    reseller_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Batch, list[IssuedCode]]:
    """Create a batch of `count` vouchers worth `value_micros` each, in the ISP's currency.

    The codes are returned here and never again: only their digests are stored, so the
    caller prints or exports them now (`export_batch_csv`, `export_batch_pdf`). Nothing
    is posted: the value is owed only once the batch is sold (`sell_batch`).
    """
    _check_batch(name, value_micros, count, expires_at)
    if expires_at <= (now or datetime.now(UTC)):
        raise InvalidBatch(f"expiry {expires_at.isoformat()} is not in the future")
    await _check_reseller(conn, reseller_id)
    currency = (await isp_entity(conn)).currency
    row = (
        await conn.execute(
            insert(voucher_batches)
            .values(
                name=name,
                value_micros=value_micros,
                currency=currency,
                count=count,
                expires_at=expires_at,
                reseller_id=reseller_id,
            )
            .returning(*voucher_batches.c)
        )
    ).one()
    batch = _batch(row)
    issued = [IssuedCode(serial_for(batch.id, n), voucher_codes.new_code()) for n in range(1, count + 1)]
    for start in range(0, count, INSERT_CHUNK):
        chunk = issued[start : start + INSERT_CHUNK]
        await conn.execute(
            insert(vouchers),
            [
                {"batch_id": batch.id, "serial": item.serial, "code_hash": voucher_codes.code_hash(item.code)}
                for item in chunk
            ],
        )
    await audit.record(
        conn,
        "voucher_batch.create",
        f"voucher_batch:{batch.id}",
        name=name,
        value_micros=value_micros,
        currency=currency,
        count=count,
        expires_at=expires_at.astimezone(UTC).isoformat(),
        reseller_id=reseller_id,
    )
    return batch, issued


async def get_batch(conn: AsyncConnection, batch_id: int) -> Batch:
    row = (await conn.execute(select(voucher_batches).where(voucher_batches.c.id == batch_id))).one_or_none()
    if row is None:
        raise BatchNotFound(f"voucher batch {batch_id} does not exist")
    return _batch(row)


async def _lock_batch(conn: AsyncConnection, batch_id: int) -> Batch:
    row = (
        await conn.execute(select(voucher_batches).where(voucher_batches.c.id == batch_id).with_for_update())
    ).one_or_none()
    if row is None:
        raise BatchNotFound(f"voucher batch {batch_id} does not exist")
    return _batch(row)


async def _isp_accounts(conn: AsyncConnection, *codes: str) -> dict[str, tuple[int, str]]:
    isp = await isp_entity(conn)
    found = {}
    for code in codes:
        account = await query_account(conn, isp.id, code)
        found[code] = (account.id, account.unit)
    return found


async def sell_batch(conn: AsyncConnection, batch_id: int, *, now: datetime | None = None) -> Batch:
    """Record the sale of a whole batch: cash clearing (1120) debited, voucher liability
    (2200) credited with count x value. Selling a sold batch returns it unchanged."""
    batch = await _lock_batch(conn, batch_id)
    if batch.sold_at is not None:
        return batch
    if batch.status == "void":
        raise BatchVoid(f"voucher batch {batch_id} ({batch.name}) was voided and cannot be sold")
    now = now or datetime.now(UTC)
    if batch.expires_at <= now:
        raise InvalidBatch(f"voucher batch {batch_id} ({batch.name}) expired at {batch.expires_at.isoformat()}")
    accts = await _isp_accounts(conn, CASH_CLEARING, VOUCHER_LIABILITY)
    total = batch.value_micros * batch.count
    (cash_id, unit), (liability_id, _) = accts[CASH_CLEARING], accts[VOUCHER_LIABILITY]
    entry = await post_entry(
        conn,
        NewEntry(
            f"voucher-sale:{batch.id}",
            f"sale of voucher batch {batch.id} ({batch.count} x {batch.value_micros} micros)",
            (debit(cash_id, total, unit), credit(liability_id, total, unit)),
            {"voucher_batch_id": batch.id},
        ),
    )
    row = (
        await conn.execute(
            update(voucher_batches)
            .where(voucher_batches.c.id == batch.id)
            .values(sold_at=now, sale_entry_id=entry.id)
            .returning(*voucher_batches.c)
        )
    ).one()
    await audit.record(conn, "voucher_batch.sell", f"voucher_batch:{batch.id}", entry_id=entry.id)
    return _batch(row)


async def void_batch(conn: AsyncConnection, batch_id: int) -> Batch:
    """Void a batch: its unredeemed vouchers can no longer be redeemed. For a sold batch
    the value of those vouchers is refunded (2200 debited, 1120 credited); redeemed
    vouchers stay redeemed. Voiding a void batch returns it unchanged."""
    batch = await _lock_batch(conn, batch_id)
    if batch.status == "void":
        return batch
    voided = (
        (
            await conn.execute(
                update(vouchers)
                .where(vouchers.c.batch_id == batch.id, vouchers.c.state == "issued")
                .values(state="void")
                .returning(vouchers.c.id)
            )
        )
        .scalars()
        .all()
    )
    entry_id = None
    if batch.sold_at is not None and voided:
        accts = await _isp_accounts(conn, CASH_CLEARING, VOUCHER_LIABILITY)
        (cash_id, unit), (liability_id, _) = accts[CASH_CLEARING], accts[VOUCHER_LIABILITY]
        total = batch.value_micros * len(voided)
        entry = await post_entry(
            conn,
            NewEntry(
                f"voucher-void:{batch.id}",
                f"refund of {len(voided)} unredeemed vouchers of voided batch {batch.id}",
                (debit(liability_id, total, unit), credit(cash_id, total, unit)),
                {"voucher_batch_id": batch.id, "vouchers": len(voided)},
            ),
        )
        entry_id = entry.id
        await _link_entry(conn, batch.id, "void", entry_id)
    row = (
        await conn.execute(
            update(voucher_batches)
            .where(voucher_batches.c.id == batch.id)
            .values(status="void")
            .returning(*voucher_batches.c)
        )
    ).one()
    await audit.record(conn, "voucher_batch.void", f"voucher_batch:{batch.id}", vouchers=len(voided), entry_id=entry_id)
    return _batch(row)


async def expire_vouchers(conn: AsyncConnection, now: datetime) -> ExpiryReport:
    """Expire the unredeemed vouchers of batches whose expiry has passed.

    For a sold batch the expired value is breakage: voucher liability (2200) debited,
    revenue (BREAKAGE_REVENUE) credited, one entry per batch. Unsold batches expire
    without a posting. Running it again finds nothing more to do.
    """
    issued = exists().where(vouchers.c.batch_id == voucher_batches.c.id, vouchers.c.state == "issued")
    rows = (
        await conn.execute(
            select(voucher_batches)
            .where(voucher_batches.c.expires_at <= now, voucher_batches.c.status == "active", issued)
            .order_by(voucher_batches.c.id)
            .limit(MAX_EXPIRE_BATCHES)
            .with_for_update()
        )
    ).all()
    batches = {row.id: _batch(row) for row in rows}
    if not batches:
        return ExpiryReport(0, 0, 0, more=False)
    expired = (
        await conn.execute(
            update(vouchers)
            .where(and_(vouchers.c.batch_id.in_(list(batches)), vouchers.c.state == "issued"))
            .values(state="expired")
            .returning(vouchers.c.id, vouchers.c.batch_id)
        )
    ).all()
    by_batch: dict[int, list[int]] = defaultdict(list)
    for voucher_id, batch_id in expired:
        by_batch[batch_id].append(voucher_id)
    sold = [batches[batch_id] for batch_id in sorted(by_batch) if batches[batch_id].sold_at is not None]
    breakage = sum(batch.value_micros * len(by_batch[batch.id]) for batch in sold)
    if sold:
        await _post_breakage(conn, sold, by_batch)
    await audit.record_many(
        conn,
        [
            audit.AuditEvent("voucher_batch.expire", f"voucher_batch:{batch_id}", {"vouchers": len(ids)})
            for batch_id, ids in sorted(by_batch.items())
        ],
    )
    return ExpiryReport(len(by_batch), len(expired), breakage, more=len(rows) == MAX_EXPIRE_BATCHES)


async def _post_breakage(conn: AsyncConnection, sold: Sequence[Batch], by_batch: dict[int, list[int]]) -> None:
    accts = await _isp_accounts(conn, VOUCHER_LIABILITY, BREAKAGE_REVENUE)
    (liability_id, unit), (revenue_id, _) = accts[VOUCHER_LIABILITY], accts[BREAKAGE_REVENUE]
    entries = [
        NewEntry(
            f"voucher-breakage:{batch.id}",
            f"breakage of {len(by_batch[batch.id])} expired vouchers of batch {batch.id}",
            (
                debit(liability_id, batch.value_micros * len(by_batch[batch.id]), unit),
                credit(revenue_id, batch.value_micros * len(by_batch[batch.id]), unit),
            ),
            {"voucher_batch_id": batch.id, "vouchers": len(by_batch[batch.id])},
        )
        for batch in sold
    ]
    posted = await post_entries(conn, entries)
    for batch, entry in zip(sold, posted, strict=True):
        await _link_entry(conn, batch.id, "expired", entry.id)


async def _link_entry(conn: AsyncConnection, batch_id: int, state: str, entry_id: int) -> None:
    # By batch and state rather than by id: a batch's ids can exceed a statement's parameters.
    await conn.execute(
        update(vouchers)
        .where(vouchers.c.batch_id == batch_id, vouchers.c.state == state, vouchers.c.entry_id.is_(None))
        .values(entry_id=entry_id)
    )
