"""Adjustments: a reasoned charge or credit of a customer's balance, idempotent on the caller's key.

There is no free-form journal entry here: the ledger has no service for manual entries,
only the billing services (payments, credit notes, adjustments) that post their own.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing import credits

from ..errors import EXPECTED, NotFound, ValidationError, refusal
from ..permissions import CanHandleMoney
from ..scalars import BigInt
from ..scope import visible_customer
from .types import Adjustment

AdjustmentResult = Annotated[Adjustment | NotFound | ValidationError, strawberry.union("AdjustmentResult")]


@strawberry.input
class RecordAdjustmentInput:
    customer: str = strawberry.field(description="Customer number, code or login.")
    amount_micros: BigInt = strawberry.field(
        description="Positive charges the customer, negative credits them; whole minor units (-5.00 is -5000000)."
    )
    reason: str = strawberry.field(description="Why: shown in the journal entry's description.")
    idempotency_key: str = strawberry.field(
        description="The same key never adjusts twice: a retry returns the first adjustment (replayed: true)."
    )


@strawberry.type
class JournalMutations:
    @strawberry.mutation(
        permission_classes=[CanHandleMoney],
        description="Charge or credit a customer's balance against 4900 Revenue: adjustments; "
        "a prepaid balance never goes below zero.",
    )
    async def record_adjustment(self, info: Info[Any, Any], input: RecordAdjustmentInput) -> AdjustmentResult:
        try:
            async with info.context.unit() as conn:
                owner = await visible_customer(info, conn, input.customer)
                made = await credits.adjust_balance(
                    conn,
                    customer=owner.number,
                    amount_micros=input.amount_micros,
                    reason=input.reason,
                    idempotency_key=input.idempotency_key,
                )
                return Adjustment.of(made, info.context.currency)
        except EXPECTED as exc:
            return refusal(exc, given=input)
