"""Money mutations: record a payment or a prepaid top-up, idempotent on the caller's key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing import payments

from ..errors import EXPECTED, NotFound, ValidationError, refusal
from ..permissions import CanHandleMoney
from ..scalars import BigInt
from ..scope import visible_customer
from .types import Payment

PaymentResult = Annotated[Payment | NotFound | ValidationError, strawberry.union("PaymentResult")]


@strawberry.input
class RecordPaymentInput:
    customer: str = strawberry.field(description="Customer number, code or login.")
    amount_micros: BigInt = strawberry.field(description="Micro-units: 47.24 is 47240000.")
    method: str = strawberry.field(description="cash, cheque, bank_transfer or card")
    idempotency_key: str = strawberry.field(
        description="The same key never records twice: a retry returns the first payment (replayed: true)."
    )
    reference: str | None = None
    received_at: datetime | None = None
    invoices: list[str] = strawberry.field(default_factory=list, description="Invoices to settle; default oldest.")


@strawberry.type
class BillingMutations:
    @strawberry.mutation(
        permission_classes=[CanHandleMoney],
        description="Post-paid: allocated to invoices (restoring a customer suspended by dunning); prepaid: a top-up.",
    )
    async def record_payment(self, info: Info[Any, Any], input: RecordPaymentInput) -> PaymentResult:
        try:
            async with info.context.unit() as conn:
                owner = await visible_customer(info, conn, input.customer)
                paid = await payments.record_payment(
                    conn,
                    customer=owner.number,
                    amount_micros=input.amount_micros,
                    method=input.method,
                    idempotency_key=input.idempotency_key,
                    received_at=input.received_at,
                    reference=input.reference,
                    invoice_numbers=input.invoices,
                )
                return Payment.of(paid, info.context.currency)
        except EXPECTED as exc:
            return refusal(exc, given=input)
