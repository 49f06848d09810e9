"""A new batch's codes for printing: CSV and an A4 PDF sheet of cards.

Only possible when the batch is created, because the codes are not stored. The CSV is
the faithful export; the PDF uses fpdf2's built-in Helvetica (Latin-1), so a batch name
outside it is reduced by `invoicing.text.printable`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from fpdf import FPDF

from ..invoicing.text import printable
from ..money import format_amount
from .batches import Batch, IssuedCode

CSV_COLUMNS = ("serial", "code", "value", "currency", "expires_at")
# A4 in mm: three columns of eight cards, 60 x 33 mm each, inside 15 mm margins.
CARD_W, CARD_H, COLUMNS, ROWS, MARGIN = 60.0, 33.0, 3, 8, 15.0


def export_batch_csv(codes: Sequence[IssuedCode], batch: Batch) -> str:
    """One row per voucher: serial, code, value ("10.00 USD" without the unit), expiry."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    value = format_amount(batch.value_micros, batch.currency).split(" ")[0]
    expires = batch.expires_at.isoformat()
    for item in codes:
        writer.writerow((item.serial, item.code, value, batch.currency, expires))
    return out.getvalue()


def export_batch_pdf(codes: Sequence[IssuedCode], batch: Batch) -> bytes:
    """Printable cards, 24 to an A4 page: batch name, value, code, serial and expiry."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(printable(batch.name))
    value = format_amount(batch.value_micros, batch.currency)
    expires = f"valid until {batch.expires_at.date().isoformat()}"
    per_page = COLUMNS * ROWS
    for index, item in enumerate(codes):
        slot = index % per_page
        if slot == 0:
            pdf.add_page()
        x = MARGIN + (slot % COLUMNS) * CARD_W
        y = MARGIN + (slot // COLUMNS) * CARD_H
        pdf.rect(x, y, CARD_W, CARD_H)
        pdf.set_xy(x + 3, y + 3)
        pdf.set_font("Helvetica", "", 8)
        pdf.cell(CARD_W - 6, 4, printable(batch.name)[:40])
        pdf.set_xy(x + 3, y + 8)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(CARD_W - 6, 6, value)
        pdf.set_xy(x + 3, y + 16)
        pdf.set_font("Courier", "B", 11)
        pdf.cell(CARD_W - 6, 6, item.code)
        pdf.set_xy(x + 3, y + 25)
        pdf.set_font("Helvetica", "", 7)
        pdf.cell(CARD_W - 6, 4, f"{item.serial}  {expires}")
    return bytes(pdf.output())
