"""Amounts of money: integer micro-units, currency exponents, one rounding rule.

The ledger and rating work in micro-units (1/1,000,000 of a currency's major unit).
Anything shown to a customer, invoiced or paid is in the currency's minor unit (its
ISO 4217 exponent), rounded once, half-even, by `round_to_minor`. No float is accepted
anywhere: amounts come in as `int` micro-units or as decimal strings.

This module imports nothing but the standard library (DESIGN.md §2: pure domain).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MICROS_PER_UNIT = 1_000_000
MICRO_DIGITS = 6
MAX_ABS_MICROS = 2**63 - 1  # a BIGINT column holds every amount

# ISO 4217 minor-unit exponents for the currencies Bureau accepts. A tenant's currency
# must be one of these; the exponent decides how invoices and payments round.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AED": 2,
    "ARS": 2,
    "AUD": 2,
    "BDT": 2,
    "BGN": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "COP": 2,
    "CZK": 2,
    "DKK": 2,
    "EGP": 2,
    "EUR": 2,
    "GBP": 2,
    "GHS": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KES": 2,
    "KRW": 0,
    "KWD": 3,
    "LKR": 2,
    "MAD": 2,
    "MXN": 2,
    "MYR": 2,
    "NGN": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PEN": 2,
    "PHP": 2,
    "PKR": 2,
    "PLN": 2,
    "QAR": 2,
    "RON": 2,
    "RSD": 2,
    "SAR": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TND": 3,
    "TRY": 2,
    "TWD": 2,
    "TZS": 2,
    "UAH": 2,
    "UGX": 0,
    "USD": 2,
    "VND": 0,
    "XAF": 0,
    "XOF": 0,
    "ZAR": 2,
}

# ASCII digits only (re.ASCII): `\d` would also take Arabic-Indic or full-width digits;
# \Z, not $, so that a trailing newline is not an amount either.
_DECIMAL = re.compile(r"^(?P<sign>[-+]?)(?P<whole>\d+)(?:\.(?P<frac>\d+))?\Z", re.ASCII)


class MoneyError(ValueError):
    """An amount or currency that cannot be accepted, with the reason."""


def currency_exponent(currency: str) -> int:
    """The ISO 4217 exponent of `currency`, or MoneyError naming what is allowed."""
    exponent = CURRENCY_EXPONENTS.get(currency)
    if exponent is None:
        raise MoneyError(f"unknown currency {currency!r}: use an ISO 4217 code such as USD, EUR or GBP")
    return exponent


def _require_int(value: object, what: str) -> int:
    # bool is an int subclass; True dollars is a bug, not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError(f"{what} must be an integer number of micro-units, got {value!r}")
    if abs(value) > MAX_ABS_MICROS:
        raise MoneyError(f"{what} {value} is out of range")
    return value


@dataclass(frozen=True, slots=True)
class Amount:
    """An exact amount: `micros` micro-units of `currency`."""

    micros: int
    currency: str

    def __post_init__(self) -> None:
        _require_int(self.micros, "amount")
        currency_exponent(self.currency)

    @classmethod
    def parse(cls, text: str, currency: str | None = None) -> Amount:
        """Read "10.00 USD", "10.00" (with `currency`), "-0.5 EUR"."""
        return parse_amount(text, currency)

    def __add__(self, other: Amount) -> Amount:
        self._same_currency(other)
        return Amount(self.micros + other.micros, self.currency)

    def __sub__(self, other: Amount) -> Amount:
        self._same_currency(other)
        return Amount(self.micros - other.micros, self.currency)

    def __neg__(self) -> Amount:
        return Amount(-self.micros, self.currency)

    def _same_currency(self, other: Amount) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def rounded(self) -> Amount:
        """This amount rounded half-even to the currency's minor unit."""
        return Amount(round_to_minor(self.micros, self.currency), self.currency)

    def minor_units(self) -> int:
        """Whole minor units (cents), rounded half-even."""
        step: int = MICROS_PER_UNIT // 10 ** currency_exponent(self.currency)  # int ** int is Any to mypy
        return round_to_minor(self.micros, self.currency) // step

    def __str__(self) -> str:
        return format_amount(self.micros, self.currency)


def parse_decimal_micros(text: str) -> int:
    """Exact micro-units of a decimal string such as "10", "-0.25" or "1.000001"."""
    if not isinstance(text, str):
        raise MoneyError(f"an amount must be written as a decimal string, got {text!r}")
    match = _DECIMAL.match(text.strip())
    if match is None:
        raise MoneyError(f"{text!r} is not a decimal amount such as 10.00 or -0.25")
    frac = match["frac"] or ""
    if len(frac) > MICRO_DIGITS:
        raise MoneyError(f"{text!r} has more than {MICRO_DIGITS} decimal places")
    micros = int(match["whole"]) * MICROS_PER_UNIT + int(frac.ljust(MICRO_DIGITS, "0") or "0")
    if match["sign"] == "-":
        micros = -micros
    return _require_int(micros, "amount")


def parse_amount(text: str, currency: str | None = None) -> Amount:
    """Read "10.00 USD", or "10.00" when `currency` is given."""
    if not isinstance(text, str):
        raise MoneyError(f"an amount must be written as text like '10.00 USD', got {text!r}")
    parts = text.split()
    if len(parts) == 2:
        number, code = parts
        if currency is not None and code.upper() != currency:
            raise MoneyError(f"{text!r} is in {code.upper()}, expected {currency}")
        currency = code.upper()
    elif len(parts) == 1 and currency is not None:
        number = parts[0]
    else:
        raise MoneyError(f"{text!r} is not an amount such as '10.00 USD'")
    return Amount(parse_decimal_micros(number), currency)


def divide_half_even(numerator: int, denominator: int) -> int:
    """`numerator / denominator` rounded half-even to an integer; `denominator` > 0.

    The one rounding rule of Bureau, used by rating, tax and proration for their single
    division and by `round_to_minor`. Exact for any size of int, negative numerators
    included (-2.5 rounds to -2, like 2.5 to 2); off the exact quotient by at most one half.
    """
    if denominator <= 0:
        raise ZeroDivisionError(f"denominator must be positive, got {denominator}")
    quotient, remainder = divmod(numerator, denominator)  # floor division: remainder >= 0
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def round_to_minor(micros: int, currency: str) -> int:
    """`micros` rounded half-even to the currency's minor unit, still in micro-units.

    This is the one rounding rule of Bureau: used when an invoice line or a payment
    is made, and for display.
    """
    _require_int(micros, "amount")
    step = MICROS_PER_UNIT // 10 ** currency_exponent(currency)
    return _require_int(divide_half_even(micros, step) * step, "rounded amount")


def format_amount(micros: int, currency: str, *, precise: bool = False) -> str:
    """ "10.00 USD"; with `precise`, every micro-unit digit that is not zero is kept."""
    _require_int(micros, "amount")
    exponent = currency_exponent(currency)
    if not precise:  # the common case, kept short: a page of customers formats hundreds
        minor = divide_half_even(micros, MICROS_PER_UNIT // 10**exponent)  # round_to_minor, in minor units
        sign = "-" if minor < 0 else ""
        if exponent == 0:
            return f"{sign}{abs(minor)} {currency}"
        whole, frac = divmod(abs(minor), 10**exponent)
        return f"{sign}{whole}.{frac:0{exponent}d} {currency}"
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS_PER_UNIT)
    digits = f"{frac:06d}".rstrip("0").ljust(exponent, "0")
    number = f"{whole}.{digits}" if digits else str(whole)
    return f"{sign}{number} {currency}"
