"""The JSON rendering: stable keys, integer minor units beside formatted text, ISO dates."""

from __future__ import annotations

import json

from bureau.platform.invoicing.document import InvoiceLine
from bureau.platform.invoicing.render import invoice_json, tax_rate_text

from .conftest import InvoiceFactory, build

AMOUNT_KEYS = {"minor", "formatted"}


def test_the_json_has_stable_top_level_keys(make_invoice: InvoiceFactory) -> None:
    data = invoice_json(make_invoice())
    assert list(data) == [
        "number", "issue_date", "due_date", "period", "currency", "minor_unit_exponent", "seller", "customer",
        "lines", "tax_summary", "totals", "opening_balance", "payments_received", "balance_due",
    ]  # fmt: skip
    assert set(data["seller"]) == {"name", "address_lines", "colour", "logo_url", "support_contact", "tax_id"}
    assert set(data["customer"]) == {"name", "account_code", "address_lines"}
    assert set(data["lines"][0]) == {
        "description", "quantity", "unit", "unit_price", "net", "tax_rate_bp", "tax_rate", "tax", "gross",
    }  # fmt: skip
    assert set(data["tax_summary"][0]) == {"tax_rate_bp", "tax_rate", "net", "tax"}


def test_the_json_dates_are_iso_and_the_period_says_its_last_day(make_invoice: InvoiceFactory) -> None:
    data = invoice_json(make_invoice())
    assert data["number"] == "DEMO-2026-000123"
    assert data["issue_date"] == "2026-12-01"
    assert data["due_date"] == "2026-12-15"
    assert data["period"] == {"start": "2026-11-01", "end": "2026-12-01", "last_day": "2026-11-30"}


def test_the_json_totals_are_exact_minor_units_with_their_formatted_text(make_invoice: InvoiceFactory) -> None:
    data = invoice_json(make_invoice())
    assert data["currency"] == "USD"
    assert data["minor_unit_exponent"] == 2
    assert data["totals"] == {
        "net": {"minor": 5749, "formatted": "57.49 USD"},
        "tax": {"minor": 391, "formatted": "3.91 USD"},
        "gross": {"minor": 6140, "formatted": "61.40 USD"},
    }
    assert data["opening_balance"] == {"minor": 1500, "formatted": "15.00 USD"}
    assert data["payments_received"] == {"minor": 1500, "formatted": "15.00 USD"}
    assert data["balance_due"] == {"minor": 6140, "formatted": "61.40 USD"}
    for key in ("net", "tax", "gross"):
        assert sum(line[key]["minor"] for line in data["lines"]) == data["totals"][key]["minor"]
        assert all(set(line[key]) == AMOUNT_KEYS and type(line[key]["minor"]) is int for line in data["lines"])
    assert [s["tax_rate"] for s in data["tax_summary"]] == ["0%", "8.25%"]


def test_a_json_line_keeps_its_quantity_as_text_and_its_precise_unit_price(make_invoice: InvoiceFactory) -> None:
    data = invoice_json(make_invoice())
    extra = data["lines"][2]
    assert extra["quantity"] == "12.5"
    assert extra["unit"] == "GB"
    assert extra["unit_price"] == {"micros": 1_000_000, "formatted": "1.00 USD"}
    assert extra["net"] == {"minor": 1250, "formatted": "12.50 USD"}
    assert extra["tax"] == {"minor": 103, "formatted": "1.03 USD"}
    assert extra["tax_rate_bp"] == 825
    usage = InvoiceLine("Data", 2000, "MB", 500, 1_000_000, 0, 0, 1_000_000)
    assert invoice_json(build((usage,)))["lines"][0]["unit_price"] == {"micros": 500, "formatted": "0.0005 USD"}


def test_the_json_keeps_text_exactly_and_serialises(make_invoice: InvoiceFactory) -> None:
    doc = make_invoice()
    data = invoice_json(doc)
    assert json.loads(json.dumps(data)) == data
    assert data["seller"]["support_contact"] == "support@demo-fibre.example · +1 555 0100"
    assert data["lines"][0]["description"] == doc.lines[0].description


def test_a_tax_rate_in_basis_points_reads_as_a_percentage() -> None:
    assert [tax_rate_text(bp) for bp in (0, 5, 725, 825, 1000, 2000, 1050)] == [
        "0%", "0.05%", "7.25%", "8.25%", "10%", "20%", "10.5%",
    ]  # fmt: skip
