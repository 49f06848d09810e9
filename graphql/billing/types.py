"""Invoices and payments as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing import invoices, payments
from bureau.platform.invoicing.document import InvoiceLine as DomainLine

from ..customers.types import Money


@strawberry.type(description="One charge of an invoice, as issued.")
class InvoiceLine:
    description: str
    quantity: str = strawberry.field(description='A count or a decimal ("1", "89.833").')
    unit: str = strawberry.field(description="What it counts (month, minute, GB); empty for a plain count.")
    unit_price: Money
    net: Money = strawberry.field(description="What was charged (after proration and discounts).")
    tax_rate_bp: int = strawberry.field(description="Basis points: 2000 is 20 %.")
    tax: Money
    total: Money

    @classmethod
    def of(cls, line: DomainLine, currency: str) -> InvoiceLine:
        return cls(
            description=line.description,
            quantity=str(line.quantity),
            unit=line.unit,
            unit_price=Money.of(line.unit_price_micros, currency),
            net=Money.of(line.net_micros, currency),
            tax_rate_bp=line.tax_rate_bp,
            tax=Money.of(line.tax_micros, currency),
            total=Money.of(line.gross_micros, currency),
        )


@strawberry.type
class Invoice:
    number: strawberry.ID
    customer: str  # customer number
    period_start: date
    period_end: date = strawberry.field(description="The first day not covered.")
    issue_date: date
    due_date: date
    prepaid: bool
    net: Money
    tax: Money
    total: Money
    open: Money = strawberry.field(description="What is still to pay on this invoice itself.")
    balance_due: Money = strawberry.field(description="What the invoice asked for, with the balance carried in.")
    status: str = strawberry.field(
        description="open (something left to pay), paid, or void (voided by voidInvoice; nothing left to pay)"
    )
    invoice_id: strawberry.Private[int]

    @classmethod
    def of(cls, i: invoices.Invoice) -> Invoice:
        c = i.currency
        return cls(
            number=strawberry.ID(i.number),
            customer=i.customer_number,
            period_start=i.period_start,
            period_end=i.period_end,
            issue_date=i.issue_date,
            due_date=i.due_date,
            prepaid=i.prepaid,
            net=Money.of(i.net_micros, c),
            tax=Money.of(i.tax_micros, c),
            total=Money.of(i.gross_micros, c),
            open=Money.of(i.open_micros, c),
            balance_due=Money.of(i.balance_due_micros, c),
            status=i.status,
            invoice_id=i.id,
        )

    @strawberry.field(description="The lines as issued, in order (one query for a whole page of invoices).")
    async def lines(self, info: Info[Any, Any]) -> list[InvoiceLine]:
        found = await info.context.loaders.invoice_lines.load(self.invoice_id)
        return [InvoiceLine.of(line, self.total.currency) for line in found]


@strawberry.type
class Allocation:
    invoice: str
    amount: Money


@strawberry.type
class Payment:
    id: strawberry.ID
    customer: str
    kind: str = strawberry.field(description="payment (post-paid, settles invoices) or topup (prepaid balance)")
    method: str
    amount: Money
    unallocated: Money = strawberry.field(description="Left on account for later invoices.")
    received_at: datetime
    reference: str | None
    replayed: bool = strawberry.field(description="True when this key was already used: the first result.")
    allocations: list[Allocation]

    @classmethod
    def of(cls, p: payments.Payment, currency: str) -> Payment:
        return cls(
            id=strawberry.ID(str(p.id)),
            customer=p.customer,
            kind=p.kind,
            method=p.method.value,
            amount=Money.of(p.amount_micros, currency),
            unallocated=Money.of(p.unallocated_micros, currency),
            received_at=p.received_at,
            reference=p.reference,
            replayed=p.replayed,
            allocations=[
                Allocation(invoice=a.invoice, amount=Money.of(a.amount_micros, currency)) for a in p.allocations
            ],
        )
