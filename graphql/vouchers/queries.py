"""Voucher batch queries: a page of batches, one batch with its counts.

Batches may be tied to a reseller (the platform's `reseller_id`), so a reseller key sees
the batches of its own reseller and those below it, and an ISP key sees them all. A
batch outside the caller's reach is answered exactly as a missing one.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from bureau.platform.vouchers import batches as domain
from bureau.platform.vouchers.errors import BatchNotFound
from bureau.platform.vouchers.listing import BatchDetails, batch_details, batch_page

from ..errors import NotFound
from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import InTenant
from .types import VoucherBatch

VoucherBatchResult = Annotated[VoucherBatch | NotFound, strawberry.union("VoucherBatchResult")]
MAX_ID_DIGITS = 18  # a BIGINT id; longer is no id at all


def batch_id(value: str) -> int:
    """The id in `value`; BatchNotFound, in the platform's words, when it cannot be one."""
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_ID_DIGITS:
        raise BatchNotFound(f"voucher batch {value} does not exist")
    return int(value)


async def visible_batch(info: Info[Any, Any], conn: AsyncConnection, ref: str) -> tuple[domain.Batch, BatchDetails]:
    """The batch with id `ref` and its details if the caller may see it; otherwise the
    BatchNotFound a batch that does not exist gets."""
    found = await domain.get_batch(conn, batch_id(ref))
    details = (await batch_details(conn, [found]))[found.id]
    allowed = await info.context.resellers(conn)
    if allowed is not None and details.reseller_id not in allowed:
        raise BatchNotFound(f"voucher batch {found.id} does not exist")  # the words of get_batch
    return found, details


@strawberry.type
class VoucherQueries:
    @strawberry.field(
        permission_classes=[InTenant],
        description="Voucher batches by id, oldest first; a reseller key sees its own and those of resellers below it.",
    )
    async def voucher_batches(
        self, info: Info[Any, Any], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[VoucherBatch]:
        size = page_size(first)
        key = after_key("voucher_batch", after)
        async with info.context.unit() as conn:
            page = await batch_page(conn, after_id=key, limit=size + 1, within=await info.context.resellers(conn))
            details = await batch_details(conn, page[:size])
        return connection(page, size, "voucher_batch", lambda b: b.id, lambda b: VoucherBatch.of(b, details[b.id]))

    @strawberry.field(permission_classes=[InTenant], description="One voucher batch by id, with its counts.")
    async def voucher_batch(self, info: Info[Any, Any], id: strawberry.ID) -> VoucherBatchResult:
        try:
            async with info.context.unit() as conn:
                found, details = await visible_batch(info, conn, id)
                return VoucherBatch.of(found, details)
        except BatchNotFound as exc:
            return NotFound(message=str(exc))
