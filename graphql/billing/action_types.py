"""What the invoice and payment actions answer: credit notes, voids, allocations, refunds, PDF links."""

from __future__ import annotations

from datetime import datetime

import strawberry

from bureau.platform.billing import allocation, credits, links, refunds, voids

from ..customers.types import Money
from .types import Invoice, Payment


@strawberry.type(description="Part of an invoice line taken back, with its share of the tax.")
class CreditNote:
    number: strawberry.ID = strawberry.field(description="CN-000007: gapless, in order of issue.")
    invoice: str
    line: int = strawberry.field(description="The credited line's position, from 1.")
    reason: str
    net: Money
    tax: Money
    total: Money

    @classmethod
    def of(cls, note: credits.CreditNote, currency: str) -> CreditNote:
        return cls(
            number=strawberry.ID(note.number),
            invoice=note.invoice,
            line=note.line,
            reason=note.reason,
            net=Money.of(note.net_micros, currency),
            tax=Money.of(note.tax_micros, currency),
            total=Money.of(note.gross_micros, currency),
        )


@strawberry.type
class IssuedCreditNote:
    credit_note: CreditNote
    invoice: Invoice = strawberry.field(description="The invoice as it stands now.")
    replayed: bool = strawberry.field(description="True when this key was already used: the first note.")


@strawberry.type
class InvoiceVoid:
    invoice: Invoice = strawberry.field(description="The invoice as it stands now.")
    credit_notes: list[CreditNote] = strawberry.field(
        description="Issued by this void, one per line with net left; empty when the invoice was void already."
    )

    @classmethod
    def of(cls, void: voids.Void) -> InvoiceVoid:
        currency = void.invoice.currency
        return cls(
            invoice=Invoice.of(void.invoice), credit_notes=[CreditNote.of(n, currency) for n in void.credit_notes]
        )


@strawberry.type
class PaymentAllocation:
    payment: Payment = strawberry.field(description="The payment as it stands now (unallocated is less).")
    invoice: Invoice = strawberry.field(description="The invoice as it stands now (open is less).")
    amount: Money
    commission: Money = strawberry.field(description="Resellers' commission posted on this share.")
    replayed: bool = strawberry.field(description="True when this key was already used: the first allocation.")

    @classmethod
    def of(cls, made: allocation.Allocated) -> PaymentAllocation:
        currency = made.invoice.currency
        return cls(
            payment=Payment.of(made.payment, currency),
            invoice=Invoice.of(made.invoice),
            amount=Money.of(made.amount_micros, currency),
            commission=Money.of(made.commission_micros, currency),
            replayed=made.replayed,
        )


@strawberry.type
class Refund:
    id: strawberry.ID
    payment: Payment = strawberry.field(description="The refunded payment as it stands now.")
    amount: Money
    reason: str
    created_at: datetime
    replayed: bool = strawberry.field(
        description="True when this key was already used: the first refund. Always false in `refunds`."
    )

    @classmethod
    def of(cls, refund: refunds.Refund, currency: str) -> Refund:
        return cls(
            id=strawberry.ID(str(refund.id)),
            payment=Payment.of(refund.payment, currency),
            amount=Money.of(refund.amount_micros, currency),
            reason=refund.reason,
            created_at=refund.created_at,
            replayed=refund.replayed,
        )


@strawberry.type(description="A download link that needs no API key, for a browser or a mail.")
class InvoicePdfLink:
    url: str = strawberry.field(description="Path and query on this API's origin: /invoices/<number>.pdf?t=<token>.")
    expires_at: datetime

    @classmethod
    def of(cls, link: links.PdfLink) -> InvoicePdfLink:
        return cls(url=link.url, expires_at=link.expires_at)
