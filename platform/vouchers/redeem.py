"""Redeeming a voucher onto a subscriber's main balance, with attempt throttling.

A refusal is returned (`Refused`), not raised: the failed attempt that throttling counts
is written in the caller's unit of work, and raising would roll it back. The caller
commits, then shows or raises `Refused.error`, a typed `VoucherError`.

Concurrency: the voucher row is locked (`FOR UPDATE`) before its state is read, so of
two concurrent redemptions of one code exactly one finds it issued. The subscriber's
entity row is locked too, so concurrent guesses by one account are counted one after
another and cannot overrun the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..ledger.chart import EntityKind
from ..ledger.entities import isp_entity, query_account
from ..ledger.posting import post_entry
from ..ledger.rules import NewEntry, credit, debit
from ..ledger.tables import entities
from . import codes as voucher_codes
from .batches import VOUCHER_LIABILITY
from .errors import (
    InvalidRedeemer,
    VoucherAlreadyRedeemed,
    VoucherError,
    VoucherExpired,
    VoucherNotFound,
    VoucherNotSold,
    VoucherThrottled,
    VoucherVoid,
)
from .tables import voucher_attempts, voucher_batches, vouchers

MAX_FAILED_ATTEMPTS = 5  # per account within ATTEMPT_WINDOW
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_SOURCE_LENGTH = 200
MAIN_BALANCE = "1000"


@dataclass(frozen=True, slots=True)
class Redemption:
    voucher_id: int
    serial: str
    batch_id: int
    entity_id: int
    value_micros: int
    currency: str
    entry_id: int
    redeemed_at: datetime
    replayed: bool  # True when this account had already redeemed this code


@dataclass(frozen=True, slots=True)
class Refused:
    error: VoucherError


async def _lock_redeemer(conn: AsyncConnection, entity_id: int) -> tuple[str, str]:
    row = (
        await conn.execute(
            select(entities.c.kind, entities.c.status, entities.c.currency)
            .where(entities.c.id == entity_id)
            .with_for_update(key_share=True)
        )
    ).one_or_none()
    if row is None:
        raise InvalidRedeemer(f"account {entity_id} does not exist")
    if row.kind != EntityKind.SUBSCRIBER.value or row.status != "active":
        raise InvalidRedeemer(f"entity {entity_id} is a {row.status} {row.kind}; vouchers credit active subscribers")
    return row.kind, row.currency


async def _throttled(conn: AsyncConnection, entity_id: int, now: datetime) -> VoucherThrottled | None:
    recent = (
        (
            await conn.execute(
                select(voucher_attempts.c.at)
                .where(
                    voucher_attempts.c.entity_id == entity_id,
                    voucher_attempts.c.success.is_(False),
                    voucher_attempts.c.at > now - ATTEMPT_WINDOW,
                )
                .order_by(voucher_attempts.c.at.desc())
                .limit(MAX_FAILED_ATTEMPTS)
            )
        )
        .scalars()
        .all()
    )
    if len(recent) < MAX_FAILED_ATTEMPTS:
        return None
    retry_at = recent[-1] + ATTEMPT_WINDOW
    return VoucherThrottled(
        f"too many failed voucher attempts; try again after {retry_at.astimezone(UTC).isoformat()}", retry_at
    )


async def _attempt(conn: AsyncConnection, entity_id: int, source: str, now: datetime, success: bool) -> None:
    await conn.execute(insert(voucher_attempts).values(entity_id=entity_id, source=source, at=now, success=success))


async def redeem_voucher(
    conn: AsyncConnection, code: str, entity_id: int, *, source: str, now: datetime | None = None
) -> Redemption | Refused:
    """Redeem `code` onto subscriber `entity_id`'s main balance (2200 debited, 1000 credited).

    `source` says where the attempt came from (portal, API key, IP address) for the record.
    Refusals (unknown, unsold, void, expired or already redeemed code; throttled account)
    are returned as `Refused` with a typed error, after the failed attempt is recorded.
    Redeeming a code this account already redeemed returns that redemption (`replayed`).
    An unknown or inactive account is a caller error and raises `InvalidRedeemer`.
    """
    now = now or datetime.now(UTC)
    source = str(source)[:MAX_SOURCE_LENGTH]
    _, currency = await _lock_redeemer(conn, entity_id)
    throttled = await _throttled(conn, entity_id, now)
    if throttled is not None:
        return Refused(throttled)  # not counted: a locked-out account cannot extend its lockout
    result = await _redeem(conn, code, entity_id, currency, source, now)
    if isinstance(result, VoucherError):
        await _attempt(conn, entity_id, source, now, success=False)
        return Refused(result)
    if not result.replayed:
        await _attempt(conn, entity_id, source, now, success=True)
    return result


async def _redeem(
    conn: AsyncConnection, code: str, entity_id: int, currency: str, source: str, now: datetime
) -> Redemption | VoucherError:
    try:
        digest = voucher_codes.code_hash(code)
    except voucher_codes.InvalidCode as exc:
        return VoucherNotFound(str(exc))
    found = (
        await conn.execute(select(vouchers.c.id, vouchers.c.batch_id).where(vouchers.c.code_hash == digest))
    ).one_or_none()
    if found is None:
        return VoucherNotFound("no voucher has this code; check it and try again")
    # Batch before voucher: the lock order of void_batch and expire_vouchers.
    batch = (
        await conn.execute(
            select(voucher_batches).where(voucher_batches.c.id == found.batch_id).with_for_update(read=True)
        )
    ).one()
    voucher = (await conn.execute(select(vouchers).where(vouchers.c.id == found.id).with_for_update())).one()
    if voucher.state == "redeemed":
        if voucher.redeemed_by == entity_id:
            return Redemption(
                voucher.id,
                voucher.serial,
                batch.id,
                entity_id,
                batch.value_micros,
                batch.currency,
                voucher.entry_id,
                voucher.redeemed_at,
                replayed=True,
            )
        return VoucherAlreadyRedeemed(f"voucher {voucher.serial} has already been redeemed")
    if voucher.state == "void" or batch.status == "void":
        return VoucherVoid(f"voucher {voucher.serial} was cancelled and cannot be redeemed")
    if voucher.state == "expired" or batch.expires_at <= now:
        return VoucherExpired(f"voucher {voucher.serial} expired on {batch.expires_at.astimezone(UTC).date()}")
    if batch.sold_at is None:
        return VoucherNotSold(f"voucher {voucher.serial} has not been sold yet; ask the seller to activate it")
    if batch.currency != currency:
        raise InvalidRedeemer(f"voucher is in {batch.currency}, account {entity_id} in {currency}")
    isp = await isp_entity(conn)
    liability = await query_account(conn, isp.id, VOUCHER_LIABILITY)
    main = await query_account(conn, entity_id, MAIN_BALANCE)
    entry = await post_entry(
        conn,
        NewEntry(
            f"voucher-redeem:{voucher.id}",
            f"voucher {voucher.serial} redeemed",
            (debit(liability.id, batch.value_micros, liability.unit), credit(main.id, batch.value_micros, main.unit)),
            {"voucher_id": voucher.id, "voucher_batch_id": batch.id},
        ),
    )
    await conn.execute(
        update(vouchers)
        .where(vouchers.c.id == voucher.id)
        .values(state="redeemed", redeemed_by=entity_id, redeemed_at=now, entry_id=entry.id)
    )
    await audit.record(
        conn,
        "voucher.redeem",
        f"voucher:{voucher.serial}",
        voucher_batch_id=batch.id,
        entity_id=entity_id,
        entry_id=entry.id,
        source=source,
    )
    return Redemption(
        voucher.id, voucher.serial, batch.id, entity_id, batch.value_micros, batch.currency, entry.id, now, False
    )
