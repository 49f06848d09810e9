"""Refund queries: a page of refunds (by customer, by payment), newest first.

Any ISP key reads the tenant's refunds, as it reads invoices; a reseller key only those of
its subtree's customers. A customer or payment filter the caller may not see answers as
one that does not exist: an empty page.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing import refunds as domain
from bureau.platform.billing.payments import PaymentNotFound
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound

from ..pagination import Connection, after_key, connection, page_size
from ..permissions import InTenant
from ..scope import visible_customer, visible_payment
from .action_types import Refund

KIND = "refund"
DEFAULT_REFUNDS = 20


@strawberry.type
class RefundQueries:
    @strawberry.field(
        permission_classes=[InTenant],
        description="Refunds, newest first, each with its payment as it stands now (`replayed` is false).",
    )
    async def refunds(
        self,
        info: Info[Any, Any],
        first: int = DEFAULT_REFUNDS,
        after: str | None = None,
        customer: Annotated[str | None, strawberry.argument(description="Number, code or login.")] = None,
        payment: Annotated[strawberry.ID | None, strawberry.argument(description="The refunded payment's id.")] = None,
    ) -> Connection[Refund]:
        size = page_size(first)
        key = after_key(KIND, after)
        currency = info.context.currency

        def node(refund: domain.Refund) -> Refund:
            return Refund.of(refund, currency)

        async with info.context.unit() as conn:
            try:
                owner = await visible_customer(info, conn, customer) if customer is not None else None
                paid = await visible_payment(info, conn, payment) if payment is not None else None
            except (SubscriberNotFound, PaymentNotFound):
                return connection([], size, KIND, lambda r: r.id, node)
            page = await domain.refund_page(
                conn,
                after_id=key or None,
                limit=size + 1,
                resellers=await info.context.resellers(conn),
                customer=owner.number if owner else None,
                payment_id=paid.id if paid else None,
            )
        return connection(page, size, KIND, lambda r: r.id, node)
