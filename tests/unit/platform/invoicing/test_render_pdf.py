"""The PDF rendering: an A4 invoice a subscriber would recognise, on as many pages as it takes."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from pypdf import PdfReader

from bureau.platform.invoicing.document import Customer, InvoiceDocument
from bureau.platform.invoicing.render import invoice_pdf, printable

from .conftest import CUSTOMER, SELLER, InvoiceFactory, build, line

A4_POINTS = (595, 842)

HOSTILE = (
    "Pneumonoultramicroscopicsilicovolcanoconiosis" * 12,  # one word far wider than the column
    "Fibre \U0001f680 fast \U0001f600\U0001f1fa\U0001f1f8 emoji",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 and \u05e9\u05dc\u05d5\u05dd",  # RTL
    "bidi \u202eoverride\u202c zero\u200bwidth \u200djoiner",
    "control \x00\x01\x07\x1b[31m\x7f\ttab\nnewline\r\u0085end",
    "lone surrogate \ud800 and \ufffd replacement",
    "\u4e2d\u6587 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 \u0394\u03b5\u03bb\u03c4\u03b1 \u0416\u0443\u043a",
    "Z\u0351\u0352a\u0353\u0354l\u0355\u0356g\u0357o combining",
    "**markdown** __not__ --applied-- <b>html</b> {nb} %s %d \\ backslash",
)


def pdf_pages(doc: InvoiceDocument) -> list[str]:
    data = invoice_pdf(doc)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data), strict=True)
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4_POINTS
    return [page.extract_text() for page in reader.pages]


def squash(text: str) -> str:
    """Text with all whitespace removed: extraction splits wrapped cells at any space."""
    return re.sub(r"\s+", "", text)


def test_the_pdf_shows_the_number_customer_lines_totals_and_balance_due(make_invoice: InvoiceFactory) -> None:
    doc = make_invoice()
    pages = pdf_pages(doc)
    assert len(pages) == 1
    text = pages[0]
    for expected in (
        "INVOICE", "DEMO-2026-000123", "Demo Fibre", "Ada Lovelace", "ACC-000042", "7 Analytical Lane",
        "Tax ID: US-99-1234567", "1 Nov 2026 - 30 Nov 2026", "15 Dec 2026", "Amounts in USD",
        "57.49 USD", "3.91 USD", "61.40 USD", "Balance due", "-15.00 USD", "8.25%", "12.5 GB",
        "Page 1 of 1", "support@demo-fibre.example",
    ):  # fmt: skip
        assert expected in text, expected
    for invoice_line in doc.lines:
        assert squash(invoice_line.description) in squash(text)
    assert "https://" not in text  # the logo URL is never fetched nor printed


def test_a_credit_balance_is_shown_as_credit_not_as_a_negative_due() -> None:
    text = pdf_pages(build(opening_balance_micros=0, payments_received_micros=100_000_000))[0]
    assert "Credit balance" in text
    assert "38.60 USD" in text
    assert "Balance due" not in text


def test_an_invoice_without_lines_still_renders() -> None:
    text = pdf_pages(build((), opening_balance_micros=5_000_000, payments_received_micros=0))[0]
    assert "No charges this period" in text
    assert "5.00 USD" in text


def test_a_120_line_invoice_spans_pages_each_with_the_table_heading_and_page_numbers() -> None:
    lines = tuple(
        line(
            f"Usage day {n:03d}" + " with a description long enough to wrap" * (n % 3),
            n,
            "GB",
            1_000_000,
            n * 1_000_000,
            825,
        )
        for n in range(1, 121)
    )
    pages = pdf_pages(build(lines))
    assert len(pages) >= 3
    heading = re.compile(r"Description\s+Qty\s+Unit price\s+Net\s+Tax\s+Gross")
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        if "Usage day" in text:
            assert heading.search(text), f"page {number} has lines but no table heading"
    for number, text in enumerate(pages[1:], start=2):
        assert "Invoice DEMO-2026-000123 (continued)" in text, number
    everything = "\n".join(pages)
    assert all(f"Usage day {n:03d}" in everything for n in range(1, 121))
    assert "7260.00 USD" in pages[-1]  # 1 + 2 + ... + 120
    assert "Balance due" in pages[-1]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_anywhere_renders_without_error(text: str) -> None:
    seller = dataclasses.replace(SELLER, name=text[:200], address_lines=(text,), support_contact=text, tax_id=text)
    customer = Customer(name=text, account_code=text[:60], address_lines=(text, text))
    doc = build((line(text, 1, text[:20], 1_000_000, 1_000_000, 825),), seller=seller, customer=customer)
    pages = pdf_pages(doc)
    assert "DEMO-2026-000123" in pages[0]
    assert "1.08 USD" in "\n".join(pages)


def test_text_that_looks_like_the_page_count_alias_is_printed_as_written() -> None:
    doc = build((line("Plan {nb} of total {nb}", 1, "", 1_000_000, 1_000_000, 0),))
    assert "Plan {nb} of total {nb}" in pdf_pages(doc)[0]


def test_the_longest_allowed_texts_render_onto_as_many_pages_as_they_need() -> None:
    long_text = ("word " * 400)[:2000]
    customer = dataclasses.replace(CUSTOMER, name=long_text, address_lines=(long_text,) * 8)
    lines = tuple(line(long_text, 1, "", 10_000, 10_000, 0) for _ in range(6))
    assert len(pdf_pages(build(lines, customer=customer))) >= 2


def test_printable_keeps_latin_1_and_replaces_what_helvetica_cannot_draw() -> None:
    assert printable("Café Zürich ½ £5 ©") == "Café Zürich ½ £5 ©"
    assert printable("Łódź \u201cquoted\u201d \u2013 dash\u2026 \u20ac9") == 'Lódz "quoted" - dash... EUR9'
    assert printable("Ștefan Čapek") == "Stefan Capek"
    assert printable("a\x00b\tc\nd") == "a b c d"
    assert printable("bidi\u202e\u200dmarks") == "bidimarks"
    assert printable("\U0001f600 \u05e9\u05dc\u05d5\u05dd \ud800") == "? ???? ?"
    assert all(ord(char) < 256 for char in printable("".join(HOSTILE)))
