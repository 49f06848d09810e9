"""Invoice queries: a page (by customer, period, status), one invoice."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing import invoices as domain
from bureau.platform.billing.errors import InvoiceNotFound
from bureau.platform.billing.period import parse_period
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound

from ..context import Refused
from ..errors import NotFound
from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import InTenant
from ..scope import visible_customer, visible_invoice
from .types import Invoice

InvoiceResult = Annotated[Invoice | NotFound, strawberry.union("InvoiceResult")]


@strawberry.type
class BillingQueries:
    @strawberry.field(permission_classes=[InTenant], description="Invoices, newest first.")
    async def invoices(
        self,
        info: Info[Any, Any],
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        customer: Annotated[str | None, strawberry.argument(description="Number, code or login.")] = None,
        period: Annotated[str | None, strawberry.argument(description="The billing month, YYYY-MM.")] = None,
        status: Annotated[
            str | None, strawberry.argument(description="open, paid or void (paid leaves void invoices out)")
        ] = None,
    ) -> Connection[Invoice]:
        size = page_size(first)
        key = after_key("invoice", after)
        try:
            month = parse_period(period) if period is not None else None
        except ValueError as exc:
            raise Refused(str(exc)) from None
        if status is not None and status not in domain.STATUSES:
            raise Refused(f"status {status!r} is not one of {', '.join(domain.STATUSES)}")
        async with info.context.unit() as conn:
            try:
                owner = await visible_customer(info, conn, customer) if customer is not None else None
            except SubscriberNotFound:
                return connection([], size, "invoice", lambda i: i.id, Invoice.of)
            page = await domain.invoice_page(
                conn,
                before_id=key or None,
                limit=size + 1,
                customer_id=owner.id if owner else None,
                period_start=month.start if month else None,
                status=status,
                resellers=await info.context.resellers(conn),
            )
        return connection(page, size, "invoice", lambda i: i.id, Invoice.of)

    @strawberry.field(permission_classes=[InTenant])
    async def invoice(self, info: Info[Any, Any], number: str) -> InvoiceResult:
        async with info.context.unit() as conn:
            try:
                found = await visible_invoice(info, conn, number)
            except InvoiceNotFound as exc:
                return NotFound(message=str(exc))
        return Invoice.of(found)
