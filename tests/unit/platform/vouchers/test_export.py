import csv
import io
from datetime import UTC, datetime

from pypdf import PdfReader

from bureau.platform.vouchers.batches import Batch, IssuedCode
from bureau.platform.vouchers.export import export_batch_csv, export_batch_pdf

BATCH = Batch(
    id=7,
    name="Café cards",
    value_micros=12_500_000,
    currency="USD",
    count=2,
    expires_at=datetime(2027, 1, 31, tzinfo=UTC),
    reseller_id=None,
    status="active",
    sold_at=None,
    sale_entry_id=None,
    created_at=datetime(2026, 11, 23, tzinfo=UTC),
)
CODES = [IssuedCode("V7-000001", "ABCD-EFGH-JKLM-NPQR"), IssuedCode("V7-000002", "STUV-WXYZ-2345-6789")]


def test_the_csv_has_one_row_per_voucher_with_serial_code_value_and_expiry() -> None:
    rows = list(csv.reader(io.StringIO(export_batch_csv(CODES, BATCH))))
    assert rows == [
        ["serial", "code", "value", "currency", "expires_at"],
        ["V7-000001", "ABCD-EFGH-JKLM-NPQR", "12.50", "USD", "2027-01-31T00:00:00+00:00"],
        ["V7-000002", "STUV-WXYZ-2345-6789", "12.50", "USD", "2027-01-31T00:00:00+00:00"],
    ]


def test_the_pdf_prints_every_code_with_its_serial_and_value() -> None:
    reader = PdfReader(io.BytesIO(export_batch_pdf(CODES, BATCH)))
    text = "".join(page.extract_text() for page in reader.pages)
    for item in CODES:
        assert item.code in text and item.serial in text
    assert "12.50 USD" in text and "Café cards" in text


def test_the_pdf_puts_twenty_four_cards_on_a_page() -> None:
    many = [IssuedCode(f"V7-{n:06d}", "ABCD-EFGH-JKLM-NPQR") for n in range(1, 26)]
    assert len(PdfReader(io.BytesIO(export_batch_pdf(many, BATCH))).pages) == 2
