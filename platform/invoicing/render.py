"""An `InvoiceDocument` rendered for people and programs: JSON and an A4 PDF.

`invoice_json` gives a dict with stable keys: every amount as an integer of minor units
beside its formatted text ("29.99 USD"), dates as ISO strings. It keeps all text exactly
as given.

`invoice_pdf` draws the invoice with fpdf2 and its built-in Helvetica font, which covers
Latin-1 only. Text outside it is made printable by `printable`: accents are kept where
Latin-1 has the letter, typographic punctuation becomes its ASCII look-alike, control
and formatting characters are dropped, and anything else (emoji, Arabic, Hebrew, CJK)
becomes "?". The JSON rendering is the faithful one; embedding a Unicode font is the way
to lift the limitation. The logo URL is never fetched: the seller's name is the logo.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from bureau.platform.invoicing.document import Branding, InvoiceDocument, minor_step_micros
from bureau.platform.money import currency_exponent, format_amount

from .text import printable

__all__ = ["invoice_json", "invoice_pdf", "printable", "quantity_text", "tax_rate_text"]

FONT = "Helvetica"
MARGIN_MM = 15.0
PAGE_WIDTH_MM = 210.0  # A4
CONTENT_WIDTH_MM = PAGE_WIDTH_MM - 2 * MARGIN_MM
FOOTER_MM = 18.0
# fpdf2 replaces this alias with the page count everywhere on the page, user text too; a
# control character keeps it out of reach, because `printable` never lets one through.
PAGE_COUNT_ALIAS = "\x01pages\x01"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINE_COLUMNS = ("Description", "Qty", "Unit price", "Net", "Tax", "Gross")
_LINE_WIDTHS = (74.0, 20.0, 24.0, 20.0, 22.0, 20.0)  # mm, adds up to CONTENT_WIDTH_MM


# --- JSON ---------------------------------------------------------------------------------


def _money(micros: int, currency: str) -> dict[str, Any]:
    return {"minor": micros // minor_step_micros(currency), "formatted": format_amount(micros, currency)}


def tax_rate_text(rate_bp: int) -> str:
    """Basis points as a percentage: 2000 -> "20%", 725 -> "7.25%"."""
    whole, fraction = divmod(rate_bp, 100)
    return f"{whole}%" if fraction == 0 else f"{whole}.{fraction:02d}".rstrip("0") + "%"


def quantity_text(quantity: int | str, unit: str) -> str:
    """ "3 months", or "2.5 GB": the quantity and its unit as printed."""
    return f"{quantity} {unit}".strip()


def invoice_json(doc: InvoiceDocument) -> dict[str, Any]:
    """The invoice as a JSON-ready dict with stable keys (see docs/invoices.md)."""
    currency = doc.currency
    return {
        "number": doc.number,
        "issue_date": doc.issue_date.isoformat(),
        "due_date": doc.due_date.isoformat(),
        "period": {
            "start": doc.period_start.isoformat(),
            "end": doc.period_end.isoformat(),
            "last_day": doc.period_last_day.isoformat(),
        },
        "currency": currency,
        "minor_unit_exponent": currency_exponent(currency),
        "seller": {
            "name": doc.seller.name,
            "address_lines": list(doc.seller.address_lines),
            "colour": doc.seller.colour,
            "logo_url": doc.seller.logo_url,
            "support_contact": doc.seller.support_contact,
            "tax_id": doc.seller.tax_id,
        },
        "customer": {
            "name": doc.customer.name,
            "account_code": doc.customer.account_code,
            "address_lines": list(doc.customer.address_lines),
        },
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit": line.unit,
                "unit_price": {
                    "micros": line.unit_price_micros,
                    "formatted": format_amount(line.unit_price_micros, currency, precise=True),
                },
                "net": _money(line.net_micros, currency),
                "tax_rate_bp": line.tax_rate_bp,
                "tax_rate": tax_rate_text(line.tax_rate_bp),
                "tax": _money(line.tax_micros, currency),
                "gross": _money(line.gross_micros, currency),
            }
            for line in doc.lines
        ],
        "tax_summary": [
            {
                "tax_rate_bp": subtotal.tax_rate_bp,
                "tax_rate": tax_rate_text(subtotal.tax_rate_bp),
                "net": _money(subtotal.net_micros, currency),
                "tax": _money(subtotal.tax_micros, currency),
            }
            for subtotal in doc.tax_summary
        ],
        "totals": {
            "net": _money(doc.totals.net_micros, currency),
            "tax": _money(doc.totals.tax_micros, currency),
            "gross": _money(doc.totals.gross_micros, currency),
        },
        "opening_balance": _money(doc.opening_balance_micros, currency),
        "payments_received": _money(doc.payments_received_micros, currency),
        "balance_due": _money(doc.balance_due_micros, currency),
    }


# --- PDF ----------------------------------------------------------------------------------


def _date_text(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _number(micros: int, currency: str, *, precise: bool = False) -> str:
    """An amount without its currency code, for table cells under a currency heading."""
    return format_amount(micros, currency, precise=precise).rsplit(" ", 1)[0]


def _on_colour(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `rgb` (ITU-R BT.601 luma)."""
    red, green, blue = rgb
    return (0, 0, 0) if 299 * red + 587 * green + 114 * blue > 150_000 else (255, 255, 255)


def _ink(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """`rgb` darkened until it reads as text on white paper (a yellow brand stays yellow-ish)."""
    red, green, blue = rgb
    luma = 299 * red + 587 * green + 114 * blue
    if luma <= _INK_MAX_LUMA:
        return rgb
    return red * _INK_MAX_LUMA // luma, green * _INK_MAX_LUMA // luma, blue * _INK_MAX_LUMA // luma


_INK_MAX_LUMA = 110_000  # of 255_000: text lighter than this fades on white


class _InvoicePdf(FPDF):
    """FPDF with the invoice's running header (from page 2) and footer on every page."""

    def __init__(self, doc: InvoiceDocument) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc = doc
        self.brand = doc.seller.rgb
        self.ink = _ink(self.brand)  # the brand colour for text on white
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(auto=True, margin=FOOTER_MM + 4)
        self.alias_nb_pages(PAGE_COUNT_ALIAS)
        self.set_title(printable(f"Invoice {doc.number}"))
        self.set_author(printable(doc.seller.name))
        self.set_creator("Bureau")

    def header(self) -> None:
        self.set_fill_color(*self.brand)
        self.rect(0, 0, PAGE_WIDTH_MM, 5, style="F")
        if self.page_no() == 1:
            self.set_y(MARGIN_MM)
            return
        self.set_y(9)
        self.set_font(FONT, "B", 9)
        self.set_text_color(*self.ink)
        self.cell(CONTENT_WIDTH_MM / 2, 5, printable(self.doc.seller.name))
        self.set_font(FONT, "", 9)
        self.set_text_color(90, 90, 90)
        self.cell(
            CONTENT_WIDTH_MM / 2,
            5,
            printable(f"Invoice {self.doc.number} (continued)"),
            align=Align.R,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-FOOTER_MM + 4)
        self.set_draw_color(*self.brand)
        self.set_line_width(0.3)
        self.line(MARGIN_MM, self.get_y(), PAGE_WIDTH_MM - MARGIN_MM, self.get_y())
        self.ln(2)
        self.set_font(FONT, "", 8)
        self.set_text_color(90, 90, 90)
        width = CONTENT_WIDTH_MM * 0.75
        self.cell(
            width, 4, self._fit(printable(f"Questions about this invoice? {self.doc.seller.support_contact}"), width)
        )
        self.cell(CONTENT_WIDTH_MM - width, 4, f"Page {self.page_no()} of {PAGE_COUNT_ALIAS}", align=Align.R)

    def _fit(self, text: str, width: float) -> str:
        """`text` cut with "..." to fit one line of `width` mm in the current font."""
        if self.get_string_width(text) <= width:
            return text
        while text and self.get_string_width(text + "...") > width:
            text = text[: max(0, len(text) - max(1, len(text) // 8))]
        return text + "..."


def _seller_and_invoice_block(pdf: _InvoicePdf, doc: InvoiceDocument) -> None:
    seller = doc.seller
    top = pdf.get_y()
    left_width = CONTENT_WIDTH_MM * 0.55
    pdf.set_font(FONT, "B", 18)
    pdf.set_text_color(*pdf.ink)
    pdf.multi_cell(left_width, 8, printable(seller.name), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(60, 60, 60)
    for line in _seller_details(seller):
        pdf.multi_cell(left_width, 4.2, line, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()

    right_x = MARGIN_MM + left_width
    right_width = CONTENT_WIDTH_MM - left_width
    pdf.set_xy(right_x, top)
    pdf.set_font(FONT, "B", 20)
    pdf.set_text_color(30, 30, 30)
    pdf.cell(right_width, 9, "INVOICE", align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    facts = (
        ("Invoice number", doc.number),
        ("Account", doc.customer.account_code),
        ("Issue date", _date_text(doc.issue_date)),
        ("Period", f"{_date_text(doc.period_start)} - {_date_text(doc.period_last_day)}"),
        ("Due date", _date_text(doc.due_date)),
    )
    label_width = 26.0
    for label, value in facts:
        pdf.set_x(right_x)
        pdf.set_font(FONT, "", 9)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(label_width, 5, label)
        pdf.set_font(FONT, "B", 9)
        pdf.set_text_color(30, 30, 30)
        pdf.multi_cell(
            right_width - label_width, 5, printable(value), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)


def _seller_details(seller: Branding) -> list[str]:
    lines = [printable(line) for line in seller.address_lines if line.strip()]
    if seller.tax_id:
        lines.append(printable(f"Tax ID: {seller.tax_id}"))
    lines.append(printable(seller.support_contact))
    return lines


def _customer_block(pdf: _InvoicePdf, doc: InvoiceDocument) -> None:
    pdf.set_font(FONT, "B", 8)
    pdf.set_text_color(*pdf.ink)
    pdf.cell(0, 5, "BILL TO", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 11)
    pdf.set_text_color(30, 30, 30)
    width = CONTENT_WIDTH_MM * 0.55
    pdf.multi_cell(width, 5.5, printable(doc.customer.name), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(60, 60, 60)
    for line in doc.customer.address_lines:
        if line.strip():
            pdf.multi_cell(width, 4.2, printable(line), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(7)


def _table(
    pdf: _InvoicePdf,
    headings: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    first_column_left: bool = True,
) -> None:
    text_colour = _on_colour(pdf.brand)
    heading_style = FontFace(emphasis="BOLD", color=text_colour, fill_color=pdf.brand, size_pt=9)
    align = tuple("LEFT" if index == 0 and first_column_left else "RIGHT" for index in range(len(headings)))
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(30, 30, 30)
    pdf.set_draw_color(210, 210, 210)
    pdf.set_line_width(0.2)
    with pdf.table(
        width=sum(widths),
        col_widths=tuple(widths),
        text_align=align,
        headings_style=heading_style,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        cell_fill_color=(246, 246, 246),
        cell_fill_mode="ROWS",
        line_height=5,
        padding=(1.2, 1.5),
        repeat_headings=1,
        align=Align.L,
    ) as table:
        heading = table.row()
        for text in headings:
            heading.cell(text)
        for values in rows:
            row = table.row()
            for text in values:
                row.cell(text)


def _lines_table(pdf: _InvoicePdf, doc: InvoiceDocument) -> None:
    currency = doc.currency
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 4, f"Amounts in {currency}", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    rows = [
        (
            printable(line.description),
            printable(quantity_text(line.quantity, line.unit)),
            _number(line.unit_price_micros, currency, precise=True),
            _number(line.net_micros, currency),
            f"{_number(line.tax_micros, currency)} ({tax_rate_text(line.tax_rate_bp)})",
            _number(line.gross_micros, currency),
        )
        for line in doc.lines
    ]
    if not rows:
        rows = [("No charges this period", "", "", "", "", "")]
    _table(pdf, _LINE_COLUMNS, rows, _LINE_WIDTHS)
    pdf.ln(6)


def _summary(pdf: _InvoicePdf, doc: InvoiceDocument) -> None:
    """Tax summary on the left, totals and the balance due on the right, kept together."""
    currency = doc.currency
    totals = (
        ("Subtotal (net)", format_amount(doc.totals.net_micros, currency)),
        ("Tax", format_amount(doc.totals.tax_micros, currency)),
        ("Invoice total", format_amount(doc.totals.gross_micros, currency)),
        ("Opening balance", format_amount(doc.opening_balance_micros, currency)),
        ("Payments received", format_amount(-doc.payments_received_micros, currency)),
    )
    tax_rows = max(1, len(doc.tax_summary))
    height = max(6 + 7 * tax_rows, 5.5 * len(totals) + 16) + 4
    if pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.get_y()

    tax_widths = (22.0, 30.0, 30.0)
    rows = [
        (tax_rate_text(s.tax_rate_bp), _number(s.net_micros, currency), _number(s.tax_micros, currency))
        for s in doc.tax_summary
    ] or [("-", _number(0, currency), _number(0, currency))]
    _table(pdf, ("Tax rate", "Net", "Tax"), rows, tax_widths)
    tax_bottom = pdf.get_y()

    box_width = 84.0
    box_x = PAGE_WIDTH_MM - MARGIN_MM - box_width
    pdf.set_y(top)
    for index, (label, value) in enumerate(totals):
        pdf.set_x(box_x)
        bold = index == 2
        pdf.set_font(FONT, "B" if bold else "", 9.5)
        grey = 30 if bold else 70
        pdf.set_text_color(grey, grey, grey)
        pdf.cell(box_width / 2, 5.5, label)
        pdf.cell(box_width / 2, 5.5, value, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if index == 2:
            pdf.set_draw_color(210, 210, 210)
            pdf.line(box_x, pdf.get_y() + 0.5, box_x + box_width, pdf.get_y() + 0.5)
            pdf.ln(1.5)
    pdf.ln(2)
    credit = doc.balance_due_micros < 0
    label = "Credit balance" if credit else "Balance due"
    value = format_amount(-doc.balance_due_micros if credit else doc.balance_due_micros, currency)
    pdf.set_x(box_x)
    pdf.set_fill_color(*pdf.brand)
    pdf.set_text_color(*_on_colour(pdf.brand))
    pdf.set_font(FONT, "B", 12)
    pdf.cell(box_width * 0.45, 10, f"  {label}", fill=True)
    pdf.set_font(FONT, "B", 15)
    pdf.cell(box_width * 0.55, 10, f"{value}  ", fill=True, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8.5)
    pdf.set_text_color(90, 90, 90)
    pdf.set_x(box_x)
    note = "No payment needed." if credit or doc.balance_due_micros == 0 else f"Due by {_date_text(doc.due_date)}"
    pdf.cell(box_width, 5, note, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(tax_bottom, pdf.get_y()) + 4)


def invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as an A4 PDF: branding, customer, lines, tax, totals, balance due.

    Long descriptions wrap; many lines flow onto further pages with the table heading
    repeated; every page has the support contact and "Page n of m" in its footer.
    Text is passed through `printable` (Helvetica covers Latin-1 only).
    """
    pdf = _InvoicePdf(doc)
    pdf.add_page()
    _seller_and_invoice_block(pdf, doc)
    _customer_block(pdf, doc)
    _lines_table(pdf, doc)
    _summary(pdf, doc)
    return bytes(pdf.output())
