"""Voiding an invoice: credit notes for whatever net is left on each of its lines.

The rule: an invoice with payments allocated to it is not voided. Its paid part would
be left settling an invoice that no longer asks for anything; the caller first takes
that money off the invoice (credit notes on the lines for what should not have been
billed, then refund the money that ends up on account), or leaves the invoice alone.
A prepaid invoice has no allocations (it is paid from the prepaid balance as it is
issued), so voiding it returns its total to the prepaid balance, as credit notes do.

Voiding is idempotent in effect: a line credited in full gets no new note, so voiding a
void (or fully credited) invoice issues nothing and posts nothing. The first void that
succeeds records its time and reason on the invoice (`voided_at`, `void_reason`), which
reads `void` from then on; voiding it again keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.money import format_amount

from ..audit import log as audit
from .credits import MAX_REASON_LENGTH, CreditNote, issue_credit_note
from .errors import InvalidCredit
from .invoices import Invoice, get_invoice
from .tables import credit_notes, invoice_lines, invoices, payment_allocations


@dataclass(frozen=True, slots=True)
class Void:
    invoice: Invoice  # as it stands after the void: status "void"
    credit_notes: tuple[CreditNote, ...]  # issued by this void; empty when it was void (or fully credited) already


async def void_invoice(conn: AsyncConnection, *, invoice: str, reason: str) -> Void:
    """Credit the remaining net of every line of `invoice` and mark it void (see the module
    docstring)."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_LENGTH:
        raise InvalidCredit(f"a reason of 1 to {MAX_REASON_LENGTH} characters is required")
    why = reason.strip()
    found = await get_invoice(conn, invoice, for_update=True)
    if found.voided_at is not None:  # its lines were all credited then, and nothing can be added to them since
        return Void(found, ())
    allocated = (
        await conn.execute(
            select(func.coalesce(func.sum(payment_allocations.c.amount_micros), 0)).where(
                payment_allocations.c.invoice_id == found.id
            )
        )
    ).scalar_one()
    if allocated:
        raise InvalidCredit(
            f"invoice {invoice} has {format_amount(int(allocated), found.currency)} of payments allocated to it, so it "
            "is not voided; issue credit notes for the lines (issueCreditNote) and refund what that leaves on "
            "account (refundPayment), or leave the invoice as it is"
        )
    remaining = (
        await conn.execute(
            select(
                invoice_lines.c.position,
                invoice_lines.c.net_micros - func.coalesce(func.sum(credit_notes.c.net_micros), 0),
            )
            .select_from(
                invoice_lines.outerjoin(
                    credit_notes,
                    (credit_notes.c.invoice_id == invoice_lines.c.invoice_id)
                    & (credit_notes.c.line_position == invoice_lines.c.position),
                )
            )
            .where(invoice_lines.c.invoice_id == found.id)
            .group_by(invoice_lines.c.position, invoice_lines.c.net_micros)
            .order_by(invoice_lines.c.position)
        )
    ).all()
    notes = []
    for position, left in remaining:
        if left > 0:
            notes.append(
                await issue_credit_note(conn, invoice=invoice, line=position, amount_micros=int(left), reason=why)
            )
    await conn.execute(update(invoices).where(invoices.c.id == found.id).values(voided_at=func.now(), void_reason=why))
    await audit.record(
        conn, "billing.invoice.void", f"invoice:{invoice}", reason=why, credit_notes=[n.number for n in notes]
    )
    return Void(await get_invoice(conn, invoice), tuple(notes))
