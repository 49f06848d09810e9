"""An invoice document holds only whole minor units and numbers that add up exactly."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from bureau.platform.invoicing.document import (
    Branding,
    Customer,
    InvalidInvoice,
    InvoiceLine,
    TaxSubtotal,
    Totals,
    minor_step_micros,
    tax_summary_of,
    totals_of,
)

from .conftest import CUSTOMER, DEMO_LINES, SELLER, InvoiceFactory, build


def test_a_demo_invoice_adds_up_to_the_micro_unit(make_invoice: InvoiceFactory) -> None:
    doc = make_invoice()
    assert doc.totals == Totals(net_micros=57_490_000, tax_micros=3_910_000, gross_micros=61_400_000)
    assert doc.tax_summary == (TaxSubtotal(0, 10_000_000, 0), TaxSubtotal(825, 47_490_000, 3_910_000))
    assert doc.balance_due_micros == 15_000_000 - 15_000_000 + 61_400_000
    assert doc.period_last_day == date(2026, 11, 30)


def test_an_invalid_invoice_is_a_value_error_that_names_its_field() -> None:
    with pytest.raises(ValueError, match=r"invoice totals\.gross_micros") as caught:
        dataclasses.replace(build(), totals=Totals(57_490_000, 3_910_000, 61_410_000))
    assert isinstance(caught.value, InvalidInvoice)
    assert caught.value.field == "totals.gross_micros"


@pytest.mark.parametrize("field", ["net_micros", "tax_micros"])
def test_totals_that_are_not_the_sum_of_the_lines_are_refused(field: str) -> None:
    totals = dataclasses.replace(totals_of(DEMO_LINES), **{field: getattr(totals_of(DEMO_LINES), field) + 10_000})
    with pytest.raises(InvalidInvoice) as caught:
        dataclasses.replace(build(), totals=totals)
    assert caught.value.field == f"totals.{field}"


def test_an_amount_that_is_not_a_whole_number_of_cents_is_refused() -> None:
    bad = dataclasses.replace(DEMO_LINES[1], net_micros=5_000_001, gross_micros=5_412_501)
    with pytest.raises(InvalidInvoice, match="not a whole number of USD minor units") as caught:
        build((*DEMO_LINES[:1], bad))
    assert caught.value.field == "lines[1].net_micros"


@pytest.mark.parametrize("value", [29.99, True, "29990000", None])
def test_an_amount_that_is_not_an_int_is_refused_as_the_line_is_made(value: object) -> None:
    with pytest.raises(InvalidInvoice, match="must be an integer") as caught:
        dataclasses.replace(DEMO_LINES[0], tax_micros=value)
    assert caught.value.field == "line.tax_micros"


def test_a_line_with_a_negative_tax_rate_is_refused_with_its_index() -> None:
    bad = dataclasses.replace(DEMO_LINES[2], tax_rate_bp=-1)
    with pytest.raises(InvalidInvoice, match="between 0 and") as caught:
        build((*DEMO_LINES[:2], bad))
    assert caught.value.field == "lines[2].tax_rate_bp"


def test_a_line_whose_gross_is_not_net_plus_tax_is_refused() -> None:
    bad = dataclasses.replace(DEMO_LINES[0], gross_micros=DEMO_LINES[0].gross_micros + 10_000)
    with pytest.raises(InvalidInvoice, match="is not net") as caught:
        build((bad,))
    assert caught.value.field == "lines[0].gross_micros"


def test_a_unit_price_may_carry_every_micro_unit_digit() -> None:
    usage = InvoiceLine("Data", "2000", "MB", 500, 1_000_000, 0, 0, 1_000_000)  # 0.0005 USD per MB
    assert build((usage,)).lines[0].unit_price_micros == 500


@pytest.mark.parametrize("quantity", ["1.", "1e3", "one", 1.5, True, "1,5"])
def test_a_quantity_must_be_an_int_or_a_plain_decimal_string(quantity: object) -> None:
    with pytest.raises(InvalidInvoice) as caught:
        dataclasses.replace(DEMO_LINES[0], quantity=quantity)
    assert caught.value.field == "line.quantity"


def test_a_balance_due_that_does_not_follow_from_opening_payments_and_total_is_refused() -> None:
    with pytest.raises(InvalidInvoice, match="opening") as caught:
        dataclasses.replace(build(), balance_due_micros=61_400_000 + 15_000_000)
    assert caught.value.field == "balance_due_micros"


def test_a_tax_summary_that_does_not_come_from_the_lines_is_refused() -> None:
    wrong = (TaxSubtotal(825, 57_490_000, 3_910_000),)
    with pytest.raises(InvalidInvoice, match="does not add up") as caught:
        dataclasses.replace(build(), tax_summary=wrong)
    assert caught.value.field == "tax_summary"


def test_the_tax_summary_sums_the_per_line_tax_not_tax_on_the_summed_net() -> None:
    cent_lines = tuple(InvoiceLine("x", 1, "", 50_000, 50_000, 1000, 10_000, 60_000) for _ in range(3))
    assert tax_summary_of(cent_lines) == (TaxSubtotal(1000, 150_000, 30_000),)


def test_a_credit_balance_is_a_negative_balance_due() -> None:
    doc = build(opening_balance_micros=0, payments_received_micros=100_000_000)
    assert doc.balance_due_micros == 61_400_000 - 100_000_000


def test_whole_unit_currencies_take_whole_units_only() -> None:
    assert minor_step_micros("JPY") == 1_000_000
    assert minor_step_micros("KWD") == 1_000
    yen = InvoiceLine("Fibre", 1, "month", 3_000_000_000, 3_000_000_000, 1000, 300_000_000, 3_300_000_000)
    totals = totals_of((yen,))
    doc = dataclasses.replace(
        build(), currency="JPY", lines=(yen,), tax_summary=tax_summary_of((yen,)), totals=totals,
        opening_balance_micros=0, payments_received_micros=0, balance_due_micros=totals.gross_micros,
    )  # fmt: skip
    assert doc.currency == "JPY"
    with pytest.raises(InvalidInvoice) as caught:
        dataclasses.replace(doc, opening_balance_micros=500_000)
    assert caught.value.field == "opening_balance_micros"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"number": ""}, "number"),
        ({"number": "DEMO 2026 1"}, "number"),
        ({"period_end": date(2026, 11, 1)}, "period_end"),
        ({"due_date": date(2026, 11, 30)}, "due_date"),
        ({"issue_date": datetime(2026, 12, 1, 9, 0)}, "issue_date"),
        ({"lines": list(DEMO_LINES)}, "lines"),
        ({"customer": "Ada"}, "customer"),
    ],
)
def test_malformed_invoice_values_are_refused_by_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInvoice) as caught:
        dataclasses.replace(build(), **changes)
    assert caught.value.field == field


@pytest.mark.parametrize("colour", ["0a7cff", "#0a7cf", "#0a7cfg", "blue", "#0a7cff\n"])
def test_a_brand_colour_must_be_six_hex_digits(colour: str) -> None:
    with pytest.raises(InvalidInvoice, match="hex colour") as caught:
        dataclasses.replace(SELLER, colour=colour)
    assert caught.value.field == "seller.colour"


def test_a_brand_colour_reads_as_red_green_blue() -> None:
    assert SELLER.rgb == (0x0A, 0x7C, 0xFF)


def test_names_must_not_be_empty_or_unbounded() -> None:
    with pytest.raises(InvalidInvoice) as caught:
        Customer(name="  ", account_code="A1")
    assert caught.value.field == "customer.name"
    with pytest.raises(InvalidInvoice, match="at most 2000") as caught:
        Branding("x" * 2001, (), "#000000", "help")
    assert caught.value.field == "seller.name"
    with pytest.raises(InvalidInvoice) as caught:
        dataclasses.replace(CUSTOMER, address_lines=["7 Lane"])
    assert caught.value.field == "customer.address_lines"
