"""Reads of voucher batches for listings: a keyset-paged list, and what a page shows of
each batch (its reseller, and how many of its vouchers are in each state), each in one
query for the whole page.

A batch's `reseller_id` is the reseller's ledger entity; a reseller key's reach is a set
of `resellers.id` (subscribers.resellers.reseller_tree), so both reads join the two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..ledger.tables import entities
from ..subscribers.tables import resellers
from .batches import Batch
from .batches import _batch as batch_from_row
from .tables import voucher_batches, vouchers

MAX_BATCH_PAGE = 100  # batches in one page


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """Vouchers of a batch by what became of them (all of them sum to `created`)."""

    created: int
    sold: int  # all of the batch once it is sold, else 0
    unredeemed: int  # issued, neither redeemed, void nor expired
    redeemed: int
    void: int
    expired: int  # by the expiry run, or issued vouchers whose batch's expiry has passed


@dataclass(frozen=True, slots=True)
class BatchDetails:
    """What a listing shows of a batch beyond its own row."""

    reseller_id: int | None  # resellers.id of the batch's reseller; None: the ISP's own
    reseller_code: str | None
    counts: BatchCounts


async def batch_page(
    conn: AsyncConnection,
    *,
    after_id: int = 0,
    limit: int = MAX_BATCH_PAGE,
    within: frozenset[int] | None = None,
) -> list[Batch]:
    """Batches by id after `after_id` (keyset paging), oldest first, at most `limit`
    (capped at MAX_BATCH_PAGE). `within`: only batches for these resellers (resellers.id,
    a reseller key's subtree); the ISP's own batches are then left out."""
    query = select(voucher_batches).where(voucher_batches.c.id > after_id)
    if within is not None:
        entities_within = select(resellers.c.entity_id).where(resellers.c.id.in_(sorted(within)))
        query = query.where(voucher_batches.c.reseller_id.in_(entities_within))
    rows = await conn.execute(query.order_by(voucher_batches.c.id).limit(min(max(limit, 1), MAX_BATCH_PAGE)))
    return [batch_from_row(row) for row in rows]


async def batch_details(
    conn: AsyncConnection, chosen: Iterable[Batch], *, now: datetime | None = None
) -> dict[int, BatchDetails]:
    """Reseller and voucher counts of each batch, by batch id (two queries)."""
    shown = {batch.id: batch for batch in chosen}
    if not shown:
        return {}
    now = now or datetime.now(UTC)
    entity_ids = sorted({b.reseller_id for b in shown.values() if b.reseller_id is not None})
    sellers: dict[int, tuple[int, str]] = {}
    if entity_ids:
        rows = await conn.execute(
            select(resellers.c.id, resellers.c.entity_id, entities.c.code)
            .join(entities, entities.c.id == resellers.c.entity_id)
            .where(resellers.c.entity_id.in_(entity_ids))
        )
        sellers = {row.entity_id: (row.id, row.code) for row in rows}
    by_state: dict[int, dict[str, int]] = {batch_id: {} for batch_id in shown}
    counted = await conn.execute(
        select(vouchers.c.batch_id, vouchers.c.state, func.count().label("n"))
        .where(vouchers.c.batch_id.in_(sorted(shown)))
        .group_by(vouchers.c.batch_id, vouchers.c.state)
    )
    for row in counted:
        by_state[row.batch_id][row.state] = row.n
    details = {}
    for batch_id, batch in shown.items():
        states = by_state[batch_id]
        issued, expired = states.get("issued", 0), states.get("expired", 0)
        if batch.status == "active" and batch.expires_at <= now:
            issued, expired = 0, expired + issued  # past expiry: not redeemable, awaiting the expiry run
        seller = sellers.get(batch.reseller_id) if batch.reseller_id is not None else None
        details[batch_id] = BatchDetails(
            reseller_id=seller[0] if seller else None,
            reseller_code=seller[1] if seller else None,
            counts=BatchCounts(
                created=batch.count,
                sold=batch.count if batch.sold_at is not None else 0,
                unredeemed=issued,
                redeemed=states.get("redeemed", 0),
                void=states.get("void", 0),
                expired=expired,
            ),
        )
    return details
