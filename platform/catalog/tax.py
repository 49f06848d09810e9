"""Tax on one line: net, tax and gross in micro-units, exactly.

Pure: standard library and `bureau.platform.money` only. Rates are integer basis points
(1/100 of a percent: 2000 bp is 20 %). A rate is either *exclusive* (added on top of
the net) or *inclusive* (already contained in the line's amount, VAT/GST-style).

One rounding rule, half-even to the micro-unit, applied to cumulative amounts:

- Inclusive rates: the line amount is net plus inclusive tax. The net is
  `amount * 10000 / (10000 + sum of inclusive bp)` rounded once; the inclusive tax is the
  rest (`amount - net`), so net + tax == amount exactly.
- Exclusive rates: the exclusive tax is `net * sum of exclusive bp / 10000` rounded once,
  added on top: gross = amount + exclusive tax.
- Several rates of one kind share their rounded total telescopically: rate *i* gets
  `round(total * cumulative_bp_i / sum of bp) - round(total * cumulative_bp_(i-1) / sum of bp)`,
  so the shares sum to the total exactly and each is within one micro-unit of its
  exact value.

Negative amounts (credits) are taxed symmetrically: tax(-x) == -tax(x). Invoices round
to the currency's minor unit later, once (`money.round_to_minor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bureau.platform.money import MAX_ABS_MICROS, divide_half_even

BASIS_POINTS = 10_000  # 100 %
MAX_RATE_BP = BASIS_POINTS
MAX_RATES_PER_LINE = 16
MAX_NAME_LENGTH = 100


class TaxError(ValueError):
    """A tax rate or a line amount that cannot be taxed, with the reason."""


def _require_int(value: object, what: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TaxError(f"{what} must be a whole number (int), got {value!r} of type {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise TaxError(f"{what} must be between {minimum} and {maximum}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class RatePart:
    """One tax that applies to a line: its name, basis points, inclusive or exclusive."""

    name: str
    rate_bp: int
    inclusive: bool

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > MAX_NAME_LENGTH:
            raise TaxError(f"a tax name must be text of 1 to {MAX_NAME_LENGTH} characters, got {self.name!r}")
        _require_int(self.rate_bp, f"rate of tax {self.name!r} (basis points)", 0, MAX_RATE_BP)
        if not isinstance(self.inclusive, bool):
            raise TaxError(f"inclusive must be True or False, got {self.inclusive!r}")


@dataclass(frozen=True, slots=True)
class TaxShare:
    """What one rate contributes to a line."""

    rate: RatePart
    tax_micros: int


@dataclass(frozen=True, slots=True)
class TaxedLine:
    """net + tax == gross, exactly; `shares` sum to `tax_micros`, in the rates' order."""

    net_micros: int
    tax_micros: int
    gross_micros: int
    shares: tuple[TaxShare, ...]


def _shares(total: int, rates: Sequence[RatePart]) -> list[TaxShare]:
    weight = sum(rate.rate_bp for rate in rates)
    if weight == 0:
        return [TaxShare(rate, 0) for rate in rates]
    shares: list[TaxShare] = []
    cumulative = 0
    before = 0
    for rate in rates:
        cumulative += rate.rate_bp
        upto = divide_half_even(total * cumulative, weight)
        shares.append(TaxShare(rate, upto - before))
        before = upto
    return shares


def tax_line(amount_micros: int, rates: Sequence[RatePart]) -> TaxedLine:
    """Net, tax and gross of a line priced at `amount_micros` under `rates`.

    With inclusive rates the amount is the gross of those rates (tax is extracted from
    it); exclusive rates are added on the net. No rates: net == gross == amount.
    """
    _require_int(amount_micros, "line amount (micro-units)", -MAX_ABS_MICROS, MAX_ABS_MICROS)
    rates = tuple(rates)
    if len(rates) > MAX_RATES_PER_LINE:
        raise TaxError(f"a line takes at most {MAX_RATES_PER_LINE} tax rates, got {len(rates)}")
    for rate in rates:
        if not isinstance(rate, RatePart):
            raise TaxError(f"rates must be RatePart values, got {rate!r}")
    inclusive = [rate for rate in rates if rate.inclusive]
    exclusive = [rate for rate in rates if not rate.inclusive]
    inclusive_bp = sum(rate.rate_bp for rate in inclusive)
    exclusive_bp = sum(rate.rate_bp for rate in exclusive)
    net = divide_half_even(amount_micros * BASIS_POINTS, BASIS_POINTS + inclusive_bp)
    inclusive_tax = amount_micros - net
    exclusive_tax = divide_half_even(net * exclusive_bp, BASIS_POINTS)
    gross = amount_micros + exclusive_tax
    if abs(gross) > MAX_ABS_MICROS:
        raise TaxError(f"the line's gross {gross} micro-units is beyond the largest amount, {MAX_ABS_MICROS}")
    inclusive_shares = iter(_shares(inclusive_tax, inclusive))
    exclusive_shares = iter(_shares(exclusive_tax, exclusive))
    shares = tuple(next(inclusive_shares if rate.inclusive else exclusive_shares) for rate in rates)
    return TaxedLine(
        net_micros=net,
        tax_micros=inclusive_tax + exclusive_tax,
        gross_micros=gross,
        shares=shares,
    )
