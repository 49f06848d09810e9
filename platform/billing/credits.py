"""Credit notes and adjustments: corrections as new journal entries, never edits.

A credit note takes back part or all of one invoice line: `amount_micros` of its net,
with the line's tax in proportion (rounded once to the minor unit). It gets the next
gapless credit-note number ("CN-000007"), reverses revenue, tax and amount used, and
credits the customer: on a post-paid account it reduces what is owed (the invoice's
open amount first), on a prepaid one it returns money to the prepaid balance. A line
can never be credited beyond its net.

An adjustment moves a customer's balance with a reason: positive charges the customer
(post-paid receivable up, or prepaid balance down, never below zero), negative credits
them; the other side is the ISP's 4900 Revenue: adjustments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.money import divide_half_even, format_amount, round_to_minor

from ..audit import log as audit
from ..ledger.entities import isp_entity, query_account
from ..ledger.posting import post_entry
from ..ledger.rules import MAX_KEY_LENGTH, NewEntry, credit, debit
from ..subscribers.customers import get_customer
from . import counters, dunning
from .errors import InvalidCredit
from .invoices import get_invoice
from .tables import adjustments, credit_notes, invoice_lines, invoices

MAX_REASON_LENGTH = 500
ADJUSTMENTS = "4900"
TAX_PAYABLE = "2100"
USED_CONTROL = "9900"


@dataclass(frozen=True, slots=True)
class CreditNote:
    id: int
    number: str
    invoice: str
    line: int
    reason: str
    net_micros: int
    tax_micros: int
    gross_micros: int
    entry_id: int
    replayed: bool = False  # True: the key was used before, and this is that note


@dataclass(frozen=True, slots=True)
class Adjustment:
    id: int
    customer: str
    amount_micros: int
    reason: str
    entry_id: int
    replayed: bool


def _reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_LENGTH:
        raise InvalidCredit(f"a reason of 1 to {MAX_REASON_LENGTH} characters is required")
    return reason.strip()


def _minor_amount(amount: object, currency: str, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidCredit(f"{what} must be a non-zero whole number of micro-units, got {amount!r}")
    if round_to_minor(amount, currency) != amount:
        raise InvalidCredit(
            f"{what} {format_amount(amount, currency, precise=True)} is not a whole number of {currency} minor units"
        )
    return amount


def checked_key(key: object) -> str | None:
    """A caller's idempotency key (None: none given), or InvalidCredit saying why not."""
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH - 20:
        raise InvalidCredit(f"an idempotency key is 1 to {MAX_KEY_LENGTH - 20} characters, got {key!r}")
    return key


async def issue_credit_note(
    conn: AsyncConnection,
    *,
    invoice: str,
    line: int,
    amount_micros: int,
    reason: str,
    idempotency_key: str | None = None,
) -> CreditNote:
    """Credit `amount_micros` of the net of line `line` (1-based) of `invoice`. With a key,
    a retry with the same figures returns the first note (replayed) and credits nothing."""
    why = _reason(reason)
    key = checked_key(idempotency_key)
    found = await get_invoice(conn, invoice, for_update=True)
    amount = _minor_amount(amount_micros, found.currency, "a credit note's amount")
    if amount < 0:
        raise InvalidCredit("a credit note's amount is the net to take back, a positive amount")
    if key is not None:
        first = (await conn.execute(select(credit_notes).where(credit_notes.c.idempotency_key == key))).first()
        if first is not None:
            if (first.invoice_id, first.line_position, first.net_micros, first.reason) != (found.id, line, amount, why):
                raise InvalidCredit(
                    f"credit note key {key!r} was already used for another credit note (invoice, line, amount or "
                    "reason differ); use a new key for a new credit note"
                )
            return CreditNote(
                first.id, first.number, invoice, line, first.reason, first.net_micros, first.tax_micros,
                first.gross_micros, first.entry_id, replayed=True,
            )  # fmt: skip
    row = (
        await conn.execute(
            select(invoice_lines).where(invoice_lines.c.invoice_id == found.id, invoice_lines.c.position == line)
        )
    ).first()
    if row is None:
        raise InvalidCredit(f"invoice {invoice} has no line {line}")
    credited, credited_tax = (
        await conn.execute(
            select(
                func.coalesce(func.sum(credit_notes.c.net_micros), 0),
                func.coalesce(func.sum(credit_notes.c.tax_micros), 0),
            ).where(credit_notes.c.invoice_id == found.id, credit_notes.c.line_position == line)
        )
    ).one()
    room = row.net_micros - int(credited)
    if amount > room:
        raise InvalidCredit(
            f"line {line} of invoice {invoice} has {format_amount(room, found.currency)} of its net "
            f"{format_amount(row.net_micros, found.currency)} left to credit; {format_amount(amount, found.currency)} "
            "is more"
        )
    if amount == room:  # the rest of the line takes the rest of its tax: a fully credited line nets to nothing
        tax = max(row.tax_micros - int(credited_tax), 0)
    else:
        tax = round_to_minor(divide_half_even(amount * row.tax_micros, row.net_micros), found.currency)
    gross = amount + tax
    customer_entity = (await get_customer(conn, found.customer_number)).entity_id
    isp = await isp_entity(conn)
    unit = found.currency
    revenue = await query_account(conn, isp.id, row.account_code)
    tax_payable = await query_account(conn, isp.id, TAX_PAYABLE)
    used_control = await query_account(conn, isp.id, USED_CONTROL)
    paying = await query_account(conn, customer_entity, "1000" if found.prepaid else "1100")
    used = await query_account(conn, customer_entity, "9000")
    seq = await counters.draw(conn, counters.CREDIT_NOTE)
    number = counters.format_number(counters.CREDIT_NOTE, seq)
    postings = [debit(revenue.id, amount, unit), credit(paying.id, gross, unit)]
    if tax:
        postings.append(debit(tax_payable.id, tax, unit))
    postings += [debit(used_control.id, gross, unit), credit(used.id, gross, unit)]
    posted = await post_entry(
        conn,
        NewEntry(
            f"credit_note:{number}",
            f"Credit note {number} on {invoice} line {line}: {why}",
            tuple(postings),
            {"invoice": invoice, "line": line},
        ),
    )
    note_id = (
        await conn.execute(
            insert(credit_notes)
            .values(
                seq=seq,
                number=number,
                invoice_id=found.id,
                line_position=line,
                reason=why,
                net_micros=amount,
                tax_micros=tax,
                gross_micros=gross,
                entry_id=posted.id,
                idempotency_key=key,
            )
            .returning(credit_notes.c.id)
        )
    ).scalar_one()
    await conn.execute(
        update(invoices).where(invoices.c.id == found.id).values(credited_micros=invoices.c.credited_micros + gross)
    )
    await audit.record(
        conn,
        "billing.credit_note.issue",
        f"credit_note:{number}",
        invoice=invoice,
        line=line,
        net_micros=amount,
        tax_micros=tax,
        reason=why,
    )
    if not found.prepaid:  # less owed: a customer in dunning may be restored
        await dunning.review_customer(conn, found.customer_id, datetime.now(UTC).date(), escalate=False)
    return CreditNote(note_id, number, invoice, line, why, amount, tax, gross, posted.id)


async def adjust_balance(
    conn: AsyncConnection, *, customer: str, amount_micros: int, reason: str, idempotency_key: str
) -> Adjustment:
    """Charge (positive) or credit (negative) a customer's balance; see module docstring."""
    why = _reason(reason)
    owner = await get_customer(conn, customer, for_update=True)
    isp = await isp_entity(conn)
    amount = _minor_amount(amount_micros, isp.currency, "an adjustment")
    if (
        not isinstance(idempotency_key, str)
        or not idempotency_key.strip()
        or len(idempotency_key) > MAX_KEY_LENGTH - 20
    ):
        raise InvalidCredit(f"an adjustment needs an idempotency key of 1 to {MAX_KEY_LENGTH - 20} characters")
    old = (await conn.execute(select(adjustments).where(adjustments.c.idempotency_key == idempotency_key))).first()
    if old is not None:
        if (old.customer_id, old.amount_micros, old.reason) != (owner.id, amount, why):
            raise InvalidCredit(f"adjustment key {idempotency_key!r} was already used for another adjustment")
        return Adjustment(old.id, owner.number, amount, why, old.entry_id, replayed=True)
    balance = await query_account(conn, owner.entity_id, "1000" if owner.prepaid else "1100")
    other = await query_account(conn, isp.id, ADJUSTMENTS)
    unit = isp.currency
    # A charge lowers a prepaid balance (credit-normal) and raises a receivable (debit-normal).
    postings = (debit(balance.id, amount, unit), credit(other.id, amount, unit))
    posted = await post_entry(
        conn,
        NewEntry(
            f"adjustment:{idempotency_key}", f"Adjustment, {owner.number}: {why}", postings, {"customer": owner.number}
        ),
    )
    adjustment_id = (
        await conn.execute(
            insert(adjustments)
            .values(
                customer_id=owner.id,
                amount_micros=amount,
                reason=why,
                idempotency_key=idempotency_key,
                entry_id=posted.id,
            )
            .returning(adjustments.c.id)
        )
    ).scalar_one()
    await audit.record(
        conn,
        "billing.adjustment",
        f"adjustment:{adjustment_id}",
        customer=owner.number,
        amount_micros=amount,
        reason=why,
    )
    return Adjustment(adjustment_id, owner.number, amount, why, posted.id, replayed=False)
