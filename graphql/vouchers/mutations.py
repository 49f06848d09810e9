"""Voucher mutations: create a batch (its codes shown in the answer, once), sell and void
a batch (ISP admins), redeem a code onto a customer's main balance (money handlers).

The platform keys each posting by its batch or voucher (`voucher-sale:<batch>`,
`voucher-redeem:<voucher>`, ...), so a retried sale, void or redemption never posts
twice and these mutations take no idempotency key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.subscribers.resellers import get_reseller
from bureau.platform.vouchers import batches as domain
from bureau.platform.vouchers.errors import BatchNotFound, VoucherError
from bureau.platform.vouchers.listing import batch_details
from bureau.platform.vouchers.redeem import Refused
from bureau.platform.vouchers.redeem import redeem_voucher as redeem

from ..errors import EXPECTED, FieldError, NotFound, ValidationError, refusal
from ..permissions import CanHandleMoney, IsIspAdmin
from ..scalars import BigInt
from ..scope import visible_customer
from .queries import batch_id
from .types import NewVoucherBatch, VoucherBatch, VoucherRedemption

# A batch's codes exist only in the answer that creates it, so they cannot be paged: the
# API creates smaller batches than the platform allows (domain.MAX_BATCH_COUNT).
MAX_API_BATCH_COUNT = 10_000

NewVoucherBatchResult = Annotated[
    NewVoucherBatch | ValidationError | NotFound, strawberry.union("NewVoucherBatchResult")
]
VoucherBatchChange = Annotated[VoucherBatch | NotFound | ValidationError, strawberry.union("VoucherBatchChange")]
RedeemVoucherResult = Annotated[VoucherRedemption | NotFound | ValidationError, strawberry.union("RedeemVoucherResult")]


@strawberry.input
class CreateVoucherBatchInput:
    name: str
    value_micros: BigInt = strawberry.field(description="Each voucher's face value in micro-units: 10.00 is 10000000.")
    count: int = strawberry.field(description=f"Vouchers in the batch: 1 to {MAX_API_BATCH_COUNT}.")
    expires_at: datetime = strawberry.field(description="When the vouchers expire, with a time zone.")
    reseller: str | None = strawberry.field(default=None, description="The code of the reseller the batch is for.")


@strawberry.input
class RedeemVoucherInput:
    customer: str = strawberry.field(description="Customer number, code or login.")
    code: str = strawberry.field(description="The voucher's code as printed (any case, dashes and spaces optional).")


def _refused(exc: Exception, field: str | None = None, *, given: object = None) -> NotFound | ValidationError:
    """Voucher errors (not in EXPECTED) and the shared expected ones as union members."""
    if isinstance(exc, BatchNotFound):
        return NotFound(message=str(exc))
    return refusal(exc, field, given=given)


@strawberry.type
class VoucherMutations:
    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Create a batch of vouchers (nothing is posted until it is sold). Its codes are in this answer"
        " (codes, csv, pdfBase64) and never again: print or export them now.",
    )
    async def create_voucher_batch(self, info: Info[Any, Any], input: CreateVoucherBatchInput) -> NewVoucherBatchResult:
        if not 1 <= input.count <= MAX_API_BATCH_COUNT:
            message = f"a batch made through the API holds 1 to {MAX_API_BATCH_COUNT} vouchers, got {input.count}"
            return ValidationError(message=message, fields=[FieldError(path=["input", "count"], message=message)])
        try:
            async with info.context.unit() as conn:
                seller = await get_reseller(conn, input.reseller) if input.reseller is not None else None
                made, issued = await domain.create_batch(
                    conn,
                    name=input.name,
                    value_micros=input.value_micros,
                    count=input.count,
                    expires_at=input.expires_at,
                    reseller_id=seller.entity_id if seller is not None else None,
                )
                details = (await batch_details(conn, [made]))[made.id]
        except (*EXPECTED, VoucherError) as exc:
            return _refused(exc, given=input)
        return NewVoucherBatch.of(made, details, issued)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Record the sale of a whole batch (cash clearing debited, voucher liability credited):"
        " its vouchers become redeemable. Selling a sold batch changes nothing.",
    )
    async def sell_voucher_batch(self, info: Info[Any, Any], id: strawberry.ID) -> VoucherBatchChange:
        try:
            async with info.context.unit() as conn:
                sold = await domain.sell_batch(conn, batch_id(id))
                return VoucherBatch.of(sold, (await batch_details(conn, [sold]))[sold.id])
        except (*EXPECTED, VoucherError) as exc:
            return _refused(exc)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Void a batch: its unredeemed vouchers can no longer be redeemed and, if it was sold, their"
        " value is refunded; redeemed vouchers stay redeemed. Voiding a void batch changes nothing.",
    )
    async def void_voucher_batch(self, info: Info[Any, Any], id: strawberry.ID) -> VoucherBatchChange:
        try:
            async with info.context.unit() as conn:
                voided = await domain.void_batch(conn, batch_id(id))
                return VoucherBatch.of(voided, (await batch_details(conn, [voided]))[voided.id])
        except (*EXPECTED, VoucherError) as exc:
            return _refused(exc)

    @strawberry.mutation(
        permission_classes=[CanHandleMoney],
        description="Redeem a sold voucher onto a customer's main balance. Redeeming a code this customer already"
        " redeemed returns that redemption (replayed: true); failed attempts are counted and throttled.",
    )
    async def redeem_voucher(self, info: Info[Any, Any], input: RedeemVoucherInput) -> RedeemVoucherResult:
        try:
            async with info.context.unit() as conn:
                owner = await visible_customer(info, conn, input.customer)
                result = await redeem(conn, input.code, owner.entity_id, source=f"graphql {info.context.caller.actor}")
            # A refusal leaves the unit committed: the failed attempt must count towards throttling.
        except (*EXPECTED, VoucherError) as exc:
            return _refused(exc, given=input)
        if isinstance(result, Refused):
            return _refused(result.error, "code")
        return VoucherRedemption.of(result, owner.number)
