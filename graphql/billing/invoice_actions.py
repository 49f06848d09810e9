"""Invoice and payment actions: PDF links, credit notes and voids, allocation, refunds.

Each resolver parses its input, checks that the invoice or payment is the caller's to
see (an ISP key: the whole tenant; a reseller key: its subtree, anything else answered
exactly like a missing one), calls one platform service and shapes the answer.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.billing import allocation, credits, links, payments, refunds, voids
from bureau.platform.billing.errors import InvoiceNotFound
from bureau.platform.billing.invoices import get_invoice

from ..errors import EXPECTED, FieldError, InsufficientFunds, NotFound, ValidationError, refusal
from ..permissions import CanHandleMoney, InTenant, IsIspFinance
from ..scalars import BigInt
from ..scope import visible_invoice, visible_payment
from .action_types import CreditNote as CreditNoteType
from .action_types import InvoicePdfLink, InvoiceVoid, IssuedCreditNote, PaymentAllocation, Refund
from .types import Invoice

InvoicePdfLinkResult = Annotated[InvoicePdfLink | NotFound, strawberry.union("InvoicePdfLinkResult")]
CreditNoteResult = Annotated[IssuedCreditNote | NotFound | ValidationError, strawberry.union("CreditNoteResult")]
VoidInvoiceResult = Annotated[InvoiceVoid | NotFound | ValidationError, strawberry.union("VoidInvoiceResult")]
AllocatePaymentResult = Annotated[
    PaymentAllocation | NotFound | ValidationError | InsufficientFunds, strawberry.union("AllocatePaymentResult")
]
RefundPaymentResult = Annotated[
    Refund | NotFound | ValidationError | InsufficientFunds, strawberry.union("RefundPaymentResult")
]


# Which input field a platform refusal is about, by what its message names (first match).
_FIELDS = (
    ("key", "idempotencyKey"),
    ("reason", "reason"),
    ("has no line", "line"),
    ("is not an invoice of", "invoice"),
    ("prepaid top-up", "payment"),
)


def _invalid(exc: Exception) -> NotFound | ValidationError:
    if isinstance(exc, payments.PaymentNotFound):
        return NotFound(message=str(exc))
    text = str(exc)
    return refusal(exc, next((name for words, name in _FIELDS if words in text), "amountMicros"))


def _refused(exc: Exception) -> NotFound | ValidationError | InsufficientFunds:
    if isinstance(exc, payments.NotAvailable):
        return InsufficientFunds(message=str(exc), available_micros=BigInt(exc.available_micros))
    return _invalid(exc)


@strawberry.input
class IssueCreditNoteInput:
    invoice: str = strawberry.field(description="The invoice number.")
    line: int = strawberry.field(description="The line's position on the invoice, from 1.")
    amount_micros: BigInt = strawberry.field(description="The net to take back; its tax follows in proportion.")
    reason: str
    idempotency_key: str | None = strawberry.field(
        default=None, description="Optional; a retry with the same key and figures answers the first result."
    )


@strawberry.input
class AllocatePaymentInput:
    payment: strawberry.ID
    invoice: str = strawberry.field(description="An open invoice of the payment's customer.")
    amount_micros: BigInt = strawberry.field(description="At most the payment's unallocated and the invoice's open.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Optional; a retry with the same key and figures answers the first result."
    )


@strawberry.input
class RefundPaymentInput:
    payment: strawberry.ID
    amount_micros: BigInt = strawberry.field(description="At most the payment's unallocated part (see docs).")
    reason: str
    idempotency_key: str = strawberry.field(
        description="The same key never refunds twice: a retry returns the first refund (replayed: true)."
    )


@strawberry.type
class InvoiceActionQueries:
    @strawberry.field(
        permission_classes=[InTenant],
        description=f"A link to the invoice's PDF that needs no API key, valid for {links.LINK_TTL.seconds // 60}"
        " minutes.",
    )
    async def invoice_pdf_link(self, info: Info[Any, Any], number: str) -> InvoicePdfLinkResult:
        key = links.link_key(info.context.box)
        async with info.context.unit() as conn:
            try:
                found = await visible_invoice(info, conn, number)
            except InvoiceNotFound as exc:
                return NotFound(message=str(exc))
        tenant = info.context.caller.tenant
        if tenant is None:  # unit() refuses operator keys first; this keeps the type checker informed
            return NotFound(message=f"no invoice has number {number!r}")
        return InvoicePdfLink.of(links.pdf_link(key, tenant.id, found.number))


@strawberry.type
class InvoiceActionMutations:
    @strawberry.mutation(
        permission_classes=[CanHandleMoney],
        description="Take back part of an invoice line's net (its tax in proportion): revenue and tax reversed, the"
        " customer credited (post-paid: less owed; prepaid: money back on the balance).",
    )
    async def issue_credit_note(self, info: Info[Any, Any], input: IssueCreditNoteInput) -> CreditNoteResult:
        try:
            async with info.context.unit() as conn:
                await visible_invoice(info, conn, input.invoice)
                note = await credits.issue_credit_note(
                    conn,
                    invoice=input.invoice,
                    line=input.line,
                    amount_micros=input.amount_micros,
                    reason=input.reason,
                    idempotency_key=input.idempotency_key,
                )
                after = await get_invoice(conn, input.invoice)
        except EXPECTED as exc:
            return _invalid(exc)
        return IssuedCreditNote(
            credit_note=CreditNoteType.of(note, after.currency), invoice=Invoice.of(after), replayed=note.replayed
        )

    @strawberry.mutation(
        permission_classes=[IsIspFinance],
        description="Void an invoice: a credit note for the net left on each line, and its status reads void."
        " Refused while payments are allocated to it. Voiding a void invoice changes nothing.",
    )
    async def void_invoice(self, info: Info[Any, Any], number: str, reason: str) -> VoidInvoiceResult:
        try:
            async with info.context.unit() as conn:
                await visible_invoice(info, conn, number)
                void = await voids.void_invoice(conn, invoice=number, reason=reason)
        except InvoiceNotFound as exc:
            return NotFound(message=str(exc))
        except EXPECTED as exc:  # arguments, not an input object: the paths are ["reason"] or ["number"]
            field = "reason" if "reason" in str(exc) else "number"
            return ValidationError(message=str(exc), fields=[FieldError(path=[field], message=str(exc))])
        return InvoiceVoid.of(void)

    @strawberry.mutation(
        permission_classes=[CanHandleMoney],
        description="Move unallocated money of a post-paid payment onto an open invoice of the same customer"
        " (no money moves in the ledger; resellers' commission on the share settled is posted).",
    )
    async def allocate_payment(self, info: Info[Any, Any], input: AllocatePaymentInput) -> AllocatePaymentResult:
        try:
            async with info.context.unit() as conn:
                paid = await visible_payment(info, conn, input.payment)
                await visible_invoice(info, conn, input.invoice)
                made = await allocation.allocate_payment(
                    conn,
                    payment_id=paid.id,
                    invoice=input.invoice,
                    amount_micros=input.amount_micros,
                    idempotency_key=input.idempotency_key,
                )
        except EXPECTED as exc:
            return _refused(exc)
        return PaymentAllocation.of(made)

    @strawberry.mutation(
        permission_classes=[CanHandleMoney],
        description="Pay money of a payment back: post-paid, up to its unallocated part; prepaid, up to what the"
        " top-up loaded, within the balance. Clearing credited, the customer's balance debited.",
    )
    async def refund_payment(self, info: Info[Any, Any], input: RefundPaymentInput) -> RefundPaymentResult:
        try:
            async with info.context.unit() as conn:
                paid = await visible_payment(info, conn, input.payment)
                refund = await refunds.refund_payment(
                    conn,
                    payment_id=paid.id,
                    amount_micros=input.amount_micros,
                    reason=input.reason,
                    idempotency_key=input.idempotency_key,
                )
                currency = info.context.currency
        except EXPECTED as exc:
            return _refused(exc)
        return Refund.of(refund, currency)
