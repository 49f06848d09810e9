"""A demo-like invoice, built the way the billing cycle builds one, for the invoicing tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from bureau.platform.invoicing.document import (
    Branding,
    Customer,
    InvoiceDocument,
    InvoiceLine,
    tax_summary_of,
    totals_of,
)
from bureau.platform.money import round_to_minor

InvoiceFactory = Callable[..., InvoiceDocument]

SELLER = Branding(
    name="Demo Fibre",
    address_lines=("12 Harbour Street", "Springfield 4021", "United States"),
    colour="#0a7cff",
    support_contact="support@demo-fibre.example · +1 555 0100",
    logo_url="https://demo-fibre.example/logo.png",
    tax_id="US-99-1234567",
)
CUSTOMER = Customer(
    name="Ada Lovelace",
    account_code="ACC-000042",
    address_lines=("7 Analytical Lane", "Apt 3", "Springfield 4022"),
)


def line(
    description: str, quantity: int | str, unit: str, unit_price_micros: int, net_micros: int, rate_bp: int
) -> InvoiceLine:
    """A line with its tax computed the billing cycle's way: per line, half-even, in USD."""
    tax = round_to_minor(net_micros * rate_bp // 10_000, "USD")
    return InvoiceLine(description, quantity, unit, unit_price_micros, net_micros, rate_bp, tax, net_micros + tax)


DEMO_LINES = (
    line("Fibre 100 - monthly subscription (November 2026)", 1, "month", 29_990_000, 29_990_000, 825),
    line("Static IPv4 address", 1, "month", 5_000_000, 5_000_000, 825),
    line("Extra data beyond the 500 GB allowance", "12.5", "GB", 1_000_000, 12_500_000, 825),
    line("Sign-up fee (waived 50%)", 1, "", 20_000_000, 10_000_000, 0),
)


def build(
    lines: tuple[InvoiceLine, ...] = DEMO_LINES,
    *,
    opening_balance_micros: int = 15_000_000,
    payments_received_micros: int = 15_000_000,
    seller: Branding = SELLER,
    customer: Customer = CUSTOMER,
    number: str = "DEMO-2026-000123",
) -> InvoiceDocument:
    totals = totals_of(lines)
    return InvoiceDocument(
        number=number,
        issue_date=date(2026, 12, 1),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 12, 1),
        due_date=date(2026, 12, 15),
        currency="USD",
        seller=seller,
        customer=customer,
        lines=lines,
        tax_summary=tax_summary_of(lines),
        totals=totals,
        opening_balance_micros=opening_balance_micros,
        payments_received_micros=payments_received_micros,
        balance_due_micros=opening_balance_micros - payments_received_micros + totals.gross_micros,
    )


@pytest.fixture
def make_invoice() -> InvoiceFactory:
    return build
