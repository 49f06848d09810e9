"""A finished invoice as a subscriber sees it: plain, validated values, no database.

An `InvoiceDocument` is what the billing cycle hands to the renderers (`render.py`): the
seller's branding (the ISP or a reseller), the customer, the lines, a tax summary per
rate, the totals and the balance due. Every amount is an `int` of micro-units already
rounded to the currency's minor unit (`money.round_to_minor`), and the document checks
that the numbers add up exactly, so a renderer never has to round or reconcile anything.

The one exception is a line's unit price: a usage rate such as 0.0005 USD per MB is a
price, not an amount charged, and may carry every micro-unit digit.

The billing period is half-open like everywhere in rating: `period_end` is the first day
not covered (an invoice for November 2026 has period 2026-11-01 to 2026-12-01).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from bureau.platform.money import MAX_ABS_MICROS, MICROS_PER_UNIT, MoneyError, currency_exponent

MAX_LINES = 10_000  # an invoice longer than this is a billing bug, not a document
MAX_TEXT_CHARS = 2_000  # per text field (a description, an address line)
MAX_ADDRESS_LINES = 8
MAX_TAX_RATE_BP = 100_000  # 1000 %: far above any real rate, still a bound

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}\Z")
_QUANTITY = re.compile(r"^-?\d+(?:\.\d+)?\Z", re.ASCII)
_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}\Z")


class InvalidInvoice(ValueError):
    """An invoice document whose values are missing, malformed or do not add up.

    `field` names the offending field (for example ``lines[3].tax_micros``) so that the
    billing code, the CLI and the API can point at it.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invoice {field}: {problem}")
        self.field = field


def _text(value: object, field: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInvoice(field, f"must be text, got {value!r}")
    if required and not value.strip():
        raise InvalidInvoice(field, "must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInvoice(field, f"is {len(value)} characters long; at most {MAX_TEXT_CHARS} are allowed")
    return value


def _lines_of_text(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, tuple):
        raise InvalidInvoice(field, f"must be a tuple of text lines, got {type(value).__name__}")
    if len(value) > MAX_ADDRESS_LINES:
        raise InvalidInvoice(field, f"has {len(value)} lines; at most {MAX_ADDRESS_LINES} are allowed")
    for index, line in enumerate(value):
        _text(line, f"{field}[{index}]", required=False)
    return value


def _int(value: object, field: str) -> int:
    # bool is an int subclass; True cents is a bug, not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInvoice(field, f"must be an integer number of micro-units, got {value!r}")
    if abs(value) > MAX_ABS_MICROS:
        raise InvalidInvoice(field, f"{value} is out of range")
    return value


def minor_step_micros(currency: str) -> int:
    """Micro-units in one minor unit of `currency` (10_000 for USD's cent)."""
    step: int = MICROS_PER_UNIT // 10 ** currency_exponent(currency)
    return step


def _amount(value: object, field: str, currency: str) -> int:
    micros = _int(value, field)
    step = minor_step_micros(currency)
    if micros % step:
        raise InvalidInvoice(
            field,
            f"{micros} micro-units is not a whole number of {currency} minor units (multiples of {step}); "
            "round it with money.round_to_minor when the line is made",
        )
    return micros


def _date(value: object, field: str) -> date:
    # datetime is a date subclass; a timestamp on an invoice date is a bug upstream.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInvoice(field, f"must be a datetime.date, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Branding:
    """Who issues the invoice: the ISP itself or one of its resellers."""

    name: str
    address_lines: tuple[str, ...]
    colour: str  # "#0a7cff"
    support_contact: str  # "support@example.net · +1 555 0100"
    logo_url: str | None = None  # never fetched by the renderers
    tax_id: str | None = None

    def __post_init__(self) -> None:
        _text(self.name, "seller.name")
        _lines_of_text(self.address_lines, "seller.address_lines")
        if not isinstance(self.colour, str) or not _COLOUR.match(self.colour):
            raise InvalidInvoice("seller.colour", f"must be a hex colour like '#0a7cff', got {self.colour!r}")
        _text(self.support_contact, "seller.support_contact")
        if self.logo_url is not None:
            _text(self.logo_url, "seller.logo_url")
        if self.tax_id is not None:
            _text(self.tax_id, "seller.tax_id")

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The brand colour as (red, green, blue), 0-255 each."""
        return int(self.colour[1:3], 16), int(self.colour[3:5], 16), int(self.colour[5:7], 16)


@dataclass(frozen=True, slots=True)
class Customer:
    """Who the invoice is addressed to: the master account owner."""

    name: str
    account_code: str
    address_lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _text(self.name, "customer.name")
        _text(self.account_code, "customer.account_code")
        _lines_of_text(self.address_lines, "customer.address_lines")


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One charge: `quantity` `unit` at `unit_price_micros`, with its tax.

    `quantity` is an int or a decimal string ("1", "0.5", "12.345"); `unit` is what it
    counts ("month", "GB", "hour"), empty for a plain count. `net_micros` is what the
    billing cycle charged (after proration or discounts), not necessarily quantity times
    unit price; `gross_micros` must equal `net_micros + tax_micros`.
    """

    description: str
    quantity: int | str
    unit: str
    unit_price_micros: int
    net_micros: int
    tax_rate_bp: int  # basis points: 2000 is 20 %
    tax_micros: int
    gross_micros: int

    def __post_init__(self) -> None:
        # Types are checked as the line is made, so that tax_summary_of and totals_of only
        # ever add ints; the currency's minor step is checked by the document.
        self._check_types("line")

    def _check_types(self, where: str) -> None:
        _text(self.description, f"{where}.description")
        quantity = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int | str):
            raise InvalidInvoice(f"{where}.quantity", f"must be an int or a decimal string, got {quantity!r}")
        if isinstance(quantity, str) and not _QUANTITY.match(quantity):
            raise InvalidInvoice(f"{where}.quantity", f"{quantity!r} is not a decimal number such as 1 or 2.5")
        _text(self.unit, f"{where}.unit", required=False)
        for name in ("unit_price_micros", "net_micros", "tax_rate_bp", "tax_micros", "gross_micros"):
            _int(getattr(self, name), f"{where}.{name}")

    def validate(self, index: int, currency: str) -> None:
        """Raise InvalidInvoice naming `lines[index].<field>` for the first problem found."""
        where = f"lines[{index}]"
        self._check_types(where)
        net = _amount(self.net_micros, f"{where}.net_micros", currency)
        rate = _int(self.tax_rate_bp, f"{where}.tax_rate_bp")
        if not 0 <= rate <= MAX_TAX_RATE_BP:
            raise InvalidInvoice(f"{where}.tax_rate_bp", f"{rate} is not between 0 and {MAX_TAX_RATE_BP}")
        tax = _amount(self.tax_micros, f"{where}.tax_micros", currency)
        gross = _amount(self.gross_micros, f"{where}.gross_micros", currency)
        if net + tax != gross:
            raise InvalidInvoice(
                f"{where}.gross_micros", f"{gross} is not net {net} + tax {tax} = {net + tax} micro-units"
            )


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    """The lines taxed at one rate, added up: one row of the tax summary."""

    tax_rate_bp: int
    net_micros: int
    tax_micros: int


@dataclass(frozen=True, slots=True)
class Totals:
    """The sum of all lines."""

    net_micros: int
    tax_micros: int
    gross_micros: int


def tax_summary_of(lines: Iterable[InvoiceLine]) -> tuple[TaxSubtotal, ...]:
    """The tax summary of `lines`: one subtotal per rate, lowest rate first.

    Tax is computed per line (DESIGN.md §3), so a rate's tax is the sum of its lines' tax,
    never a tax recomputed on the summed net.
    """
    by_rate: dict[int, tuple[int, int]] = {}
    for line in lines:
        net, tax = by_rate.get(line.tax_rate_bp, (0, 0))
        by_rate[line.tax_rate_bp] = (net + line.net_micros, tax + line.tax_micros)
    return tuple(TaxSubtotal(rate, net, tax) for rate, (net, tax) in sorted(by_rate.items()))


def totals_of(lines: Iterable[InvoiceLine]) -> Totals:
    """The net, tax and gross sums of `lines`."""
    net = tax = gross = 0
    for line in lines:
        net += line.net_micros
        tax += line.tax_micros
        gross += line.gross_micros
    return Totals(net, tax, gross)


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """A finished invoice, checked to add up to the micro-unit.

    `balance_due_micros` = `opening_balance_micros` - `payments_received_micros` +
    `totals.gross_micros`; a negative balance due is a credit in the customer's favour.
    Use `tax_summary_of` and `totals_of` to build the summary and totals from the lines.
    """

    number: str  # "DEMO-2026-000123"
    issue_date: date
    period_start: date
    period_end: date  # first day not covered (half-open, as in rating)
    due_date: date
    currency: str
    seller: Branding
    customer: Customer
    lines: tuple[InvoiceLine, ...]
    tax_summary: tuple[TaxSubtotal, ...]
    totals: Totals
    opening_balance_micros: int
    payments_received_micros: int
    balance_due_micros: int

    def __post_init__(self) -> None:
        if not isinstance(self.number, str) or not _NUMBER.match(self.number):
            raise InvalidInvoice(
                "number", f"{self.number!r} is not an invoice number such as 'DEMO-2026-000123' (letters, digits, -._/)"
            )
        try:
            currency_exponent(self.currency)
        except MoneyError as error:
            raise InvalidInvoice("currency", str(error)) from None
        self._check_dates()
        if not isinstance(self.seller, Branding):
            raise InvalidInvoice("seller", f"must be a Branding, got {type(self.seller).__name__}")
        if not isinstance(self.customer, Customer):
            raise InvalidInvoice("customer", f"must be a Customer, got {type(self.customer).__name__}")
        self._check_lines()
        self._check_sums()

    def _check_dates(self) -> None:
        issue = _date(self.issue_date, "issue_date")
        start = _date(self.period_start, "period_start")
        end = _date(self.period_end, "period_end")
        due = _date(self.due_date, "due_date")
        if end <= start:
            raise InvalidInvoice(
                "period_end", f"{end} must be after period_start {start} (it is the first day not covered)"
            )
        if due < issue:
            raise InvalidInvoice("due_date", f"{due} is before the issue date {issue}")

    def _check_lines(self) -> None:
        if not isinstance(self.lines, tuple):
            raise InvalidInvoice("lines", f"must be a tuple of InvoiceLine, got {type(self.lines).__name__}")
        if len(self.lines) > MAX_LINES:
            raise InvalidInvoice("lines", f"has {len(self.lines)} lines; at most {MAX_LINES} are allowed")
        for index, line in enumerate(self.lines):
            if not isinstance(line, InvoiceLine):
                raise InvalidInvoice(f"lines[{index}]", f"must be an InvoiceLine, got {type(line).__name__}")
            line.validate(index, self.currency)

    def _check_sums(self) -> None:
        currency = self.currency
        if not isinstance(self.tax_summary, tuple) or not all(isinstance(s, TaxSubtotal) for s in self.tax_summary):
            raise InvalidInvoice("tax_summary", "must be a tuple of TaxSubtotal (use tax_summary_of(lines))")
        for index, subtotal in enumerate(self.tax_summary):
            _int(subtotal.tax_rate_bp, f"tax_summary[{index}].tax_rate_bp")
            _amount(subtotal.net_micros, f"tax_summary[{index}].net_micros", currency)
            _amount(subtotal.tax_micros, f"tax_summary[{index}].tax_micros", currency)
        expected_summary = tax_summary_of(self.lines)
        if self.tax_summary != expected_summary:
            raise InvalidInvoice(
                "tax_summary", f"does not add up from the lines: expected {expected_summary}, got {self.tax_summary}"
            )
        if not isinstance(self.totals, Totals):
            raise InvalidInvoice("totals", f"must be Totals, got {type(self.totals).__name__}")
        expected = totals_of(self.lines)
        for name in ("net_micros", "tax_micros", "gross_micros"):
            got = _amount(getattr(self.totals, name), f"totals.{name}", currency)
            want = getattr(expected, name)
            if got != want:
                raise InvalidInvoice(f"totals.{name}", f"{got} is not the sum of the lines, {want} micro-units")
        opening = _amount(self.opening_balance_micros, "opening_balance_micros", currency)
        paid = _amount(self.payments_received_micros, "payments_received_micros", currency)
        due = _amount(self.balance_due_micros, "balance_due_micros", currency)
        if due != opening - paid + expected.gross_micros:
            raise InvalidInvoice(
                "balance_due_micros",
                f"{due} is not opening {opening} - payments {paid} + invoice total {expected.gross_micros} "
                f"= {opening - paid + expected.gross_micros} micro-units",
            )

    @property
    def period_last_day(self) -> date:
        """The last day the invoice covers (`period_end` is the first day it does not)."""
        return date.fromordinal(self.period_end.toordinal() - 1)
